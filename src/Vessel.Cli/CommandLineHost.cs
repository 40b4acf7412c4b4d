using System.CommandLine;
using System.CommandLine.Parsing;
using Vessel.Vmm;

namespace Vessel.Cli;

/// <summary>
/// Parses and runs a command, turning parse errors and <see cref="UserErrorException"/>s into one
/// clear sentence on stderr with exit code 2 (usage) or 1 (runtime), never a stack trace.
/// </summary>
public static class CommandLineHost
{
    public const int UsageExitCode = 2;
    public const int FailureExitCode = 1;

    public static int Invoke(RootCommand root, string[] args)
    {
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            ParseError first = result.Errors[0];
            Console.Error.WriteLine($"vessel: {Sentence(first.Message)} (see 'vessel {CommandPath(result)}--help')");
            return UsageExitCode;
        }

        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UserErrorException e)
        {
            Console.Error.WriteLine($"vessel: {Sentence(e.Message)}");
            return e.ExitCode;
        }
        catch (Vessel.Network.NetworkException e)
        {
            Console.Error.WriteLine($"vessel: {Sentence(e.Message)}");
            return FailureExitCode;
        }
        catch (VmmException e)
        {
            Console.Error.WriteLine($"vessel: {Sentence(e.Message)}");
            return FailureExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"vessel: {Sentence(e.Message)}");
            return FailureExitCode;
        }
    }

    private static string CommandPath(ParseResult result)
    {
        var names = new List<string>();
        for (SymbolResult? symbol = result.CommandResult; symbol is CommandResult command && command.Parent is not null; symbol = command.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        return names.Count == 0 ? string.Empty : string.Join(' ', names) + " ";
    }

    private static string Sentence(string message)
    {
        message = OneLine(message);
        if (message.Length == 0)
        {
            return "an unknown error occurred.";
        }

        return message.EndsWith('.') || message.EndsWith('?') || message.EndsWith(')') ? message : message + ".";
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

/// <summary>A mistake of the user's (a bad flag value, a missing file): reported as its message only.</summary>
public sealed class UserErrorException(string message, int exitCode = CommandLineHost.FailureExitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
