using System.CommandLine;
using Vessel.Storage;
using Vessel.Vmm;

namespace Vessel.Cli;

/// <summary>
/// Parses and runs a command, turning parse errors and <see cref="UserErrorException"/>s into one
/// clear sentence on stderr, never a stack trace. The exit code tells the two kinds of mistake
/// apart everywhere: <see cref="UsageExitCode"/> for a wrong command line,
/// <see cref="FailureExitCode"/> for a command that could not be carried out.
/// </summary>
public static class CommandLineHost
{
    public const int UsageExitCode = 2;
    public const int FailureExitCode = 1;

    public static int Invoke(RootCommand root, string[] args)
    {
        ParseResult result = root.Parse(args);
        if (UsageErrors.Describe(result) is { } mistake)
        {
            Console.Error.WriteLine($"vessel: {Sentence(mistake)}");
            return UsageExitCode;
        }

        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (TryDescribe(e, result.CommandResult.Command, out string sentence, out int exitCode))
        {
            Console.Error.WriteLine($"vessel: {sentence}");
            return exitCode;
        }
    }

    /// <summary>
    /// The sentence and exit code for an exception that is the user's mistake or a command that
    /// could not be carried out; false for anything else (a bug of ours, which keeps its trace).
    /// </summary>
    public static bool TryDescribe(Exception e, Command command, out string sentence, out int exitCode)
    {
        (string? message, exitCode) = e switch
        {
            UserErrorException user => (user.Message, user.ExitCode),
            ImageOptionsException => (e.Message, UsageExitCode),
            ImageInUseException inUse => (e.Message + ForceShareHint(inUse, command), FailureExitCode),
            Vessel.Network.NetworkException or VmmException or IOException or UnauthorizedAccessException => (e.Message, FailureExitCode),
            _ => ((string?)null, 0),
        };
        sentence = message is null ? string.Empty : Sentence(message);
        return message is not null;
    }

    /// <summary>The first mistake of a parsed command line as one sentence, or null when it has none.</summary>
    public static string? DescribeUsage(ParseResult result) => UsageErrors.Describe(result) is { } mistake ? Sentence(mistake) : null;

    /// <summary>
    /// How to read an image that a writer holds anyway, in the words of the command that was
    /// refused: only a reader can share an image, and only with an option that command has.
    /// </summary>
    private static string ForceShareHint(ImageInUseException e, Command command)
    {
        if (!e.ReaderCouldShare)
        {
            return string.Empty;
        }

        if (command.Name == "run")
        {
            return " (add force-share=on to a readonly=on --drive to read it anyway)";
        }

        return command.Options.Any(o => o.Name == "--force-share")
            ? " (-U reads it anyway, while it may change underneath)"
            : string.Empty;
    }

    private static string Sentence(string message)
    {
        message = OneLine(message);
        if (message.Length == 0)
        {
            return "an unknown error occurred.";
        }

        return message.EndsWith('.') || message.EndsWith('?') || message.EndsWith(".)", StringComparison.Ordinal) ? message : message + ".";
    }

    /// <summary>
    /// Folds a multi-line message into one line: System.CommandLine lists allowed values one per
    /// line after a colon ("Must be one of:\n\t'single'\n\t'multi'."), which becomes
    /// "Must be one of: 'single', 'multi'.".
    /// </summary>
    private static string OneLine(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            return string.Empty;
        }

        var text = new System.Text.StringBuilder(lines[0]);
        bool inList = lines[0].EndsWith(':');
        for (int i = 1; i < lines.Length; i++)
        {
            // The first line after a colon follows it with a space; later ones are list items.
            bool listItem = inList && !lines[i - 1].EndsWith(':');
            text.Append(listItem ? ", " : " ").Append(lines[i]);
            inList |= lines[i].EndsWith(':');
        }

        return text.ToString();
    }
}
