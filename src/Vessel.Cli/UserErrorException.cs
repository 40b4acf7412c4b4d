namespace Vessel.Cli;

/// <summary>
/// A mistake of the user's, reported as its message only. Every throw says which kind it is,
/// because the kind is the exit code: <see cref="Usage"/> for a command line that is wrong
/// whatever the machine (a bad value, a missing argument, a size the host cannot give), exit
/// code 2; <see cref="Failure"/> for a command line that is right but could not be carried out
/// (a missing file, a busy image, a failed build), exit code 1.
/// </summary>
public sealed class UserErrorException : Exception
{
    private UserErrorException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }

    /// <summary>The command line itself is wrong: exit code <see cref="CommandLineHost.UsageExitCode"/>.</summary>
    public static UserErrorException Usage(string message) => new(message, CommandLineHost.UsageExitCode);

    /// <summary>The command could not be carried out: exit code <see cref="CommandLineHost.FailureExitCode"/>.</summary>
    public static UserErrorException Failure(string message) => new(message, CommandLineHost.FailureExitCode);
}
