using System.CommandLine;
using System.CommandLine.Parsing;

namespace Vessel.Cli;

/// <summary>
/// Turns what System.CommandLine found wrong with a command line into one sentence that says
/// what was given and what exists ("'frobnicate' is not a vessel command; the commands are
/// run, img and switch"), instead of its generic messages ("Required command was not
/// provided.", "... as expected type 'System.Int32'").
/// </summary>
internal static class UsageErrors
{
    /// <summary>The sentence for the first mistake in <paramref name="result"/>, or null when there is none.</summary>
    public static string? Describe(ParseResult result)
    {
        CommandResult command = result.CommandResult;
        string path = CommandPath(command);
        if (result.UnmatchedTokens.Count > 0)
        {
            return Unmatched(command.Command, path, result.UnmatchedTokens[0]);
        }

        // System.CommandLine takes an unknown "-x" as the value of a command's argument; a
        // value that looks like an option and did not come after "--" is taken for one.
        if (OptionLikeArgument(result, command) is { } optionLike)
        {
            return Unmatched(command.Command, path, optionLike);
        }

        foreach (ParseError error in result.Errors)
        {
            switch (error.SymbolResult)
            {
                case OptionResult option:
                    return OptionMistake(option, path, error.Message);
                case ArgumentResult { Parent: OptionResult option }:
                    return OptionMistake(option, path, error.Message);
                case ArgumentResult { Tokens.Count: 0 }:
                    return MissingArguments(command, path);
                case CommandResult { Command.Subcommands.Count: > 0 } parent when parent.Command.Action is null:
                    return parent.Parent is null
                        ? $"a command is needed; {Commands(parent.Command)}"
                        : $"{path} needs a command; {Commands(parent.Command)}";
            }
        }

        return result.Errors.Count > 0 ? result.Errors[0].Message : null;
    }

    /// <summary>"vessel img create": the command's words as typed.</summary>
    public static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? symbol = command; symbol is CommandResult c; symbol = c.Parent)
        {
            names.Insert(0, c.Parent is null ? "vessel" : c.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static string Unmatched(Command command, string path, string token)
    {
        bool looksLikeOption = token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]);
        if (command.Subcommands.Count > 0 && command.Action is null)
        {
            return looksLikeOption
                ? $"'{token}' is not a {path} option; {Commands(command)}"
                : $"'{token}' is not a {path} command; {Commands(command)}";
        }

        if (looksLikeOption)
        {
            return $"'{token}' is not a {path} option; the options are {List(Options(command), "and")}";
        }

        string[] arguments = command.Arguments.Where(a => !a.Hidden).Select(ArgumentName).ToArray();
        return arguments.Length == 0
            ? $"{path} takes no arguments, only options, so '{token}' is one too many"
            : $"{path} takes {string.Join(' ', arguments)}, so '{token}' is one argument too many";
    }

    private static string? OptionLikeArgument(ParseResult result, CommandResult command)
    {
        // Tokens after "--" are arguments whatever they look like.
        int doubleDash = result.Tokens.ToList().FindIndex(t => t.Type == TokenType.DoubleDash);
        foreach (SymbolResult child in command.Children)
        {
            if (child is not ArgumentResult argument)
            {
                continue;
            }

            foreach (Token token in argument.Tokens)
            {
                string value = token.Value;
                bool looksLikeOption = value.Length > 1 && value[0] == '-' && !char.IsAsciiDigit(value[1]);
                if (looksLikeOption && (doubleDash < 0 || result.Tokens.ToList().IndexOf(token) < doubleDash))
                {
                    return value;
                }
            }
        }

        return null;
    }

    private static string OptionMistake(OptionResult result, string path, string message)
    {
        Option option = result.Option;
        string placeholder = option.HelpName ?? "VALUE";
        if (result.Tokens.Count == 0)
        {
            return result.Implicit
                ? $"{path} needs {option.Name} {placeholder}"
                : $"{option.Name} needs a value ({placeholder})";
        }

        // Options of type string only fail their own validators, whose messages are sentences
        // already; the others fail System.CommandLine's conversion, whose message names a .NET type.
        if (option.ValueType == typeof(string) || option.ValueType == typeof(string[]))
        {
            return message;
        }

        string kind = option.ValueType == typeof(int) || option.ValueType == typeof(long) ? "a whole number" : $"a {placeholder}";
        return $"{option.Name} takes {kind}, not '{result.Tokens[^1].Value}'";
    }

    private static string MissingArguments(CommandResult command, string path)
    {
        string[] missing = command.Command.Arguments
            .Where(a => a.Arity.MinimumNumberOfValues > 0 && command.GetResult(a) is not { Tokens.Count: > 0 })
            .Select(ArgumentName)
            .ToArray();
        return $"{path} needs {List(missing, "and")}";
    }

    private static string Commands(Command command) =>
        $"the commands are {List(command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToArray(), "and")}";

    private static string[] Options(Command command) =>
        command.Options.Where(o => !o.Hidden).Select(o => o.Name).ToArray();

    private static string ArgumentName(Argument argument)
    {
        string name = argument.HelpName ?? argument.Name.ToUpperInvariant();
        return argument.Arity.MinimumNumberOfValues == 0 ? $"[{name}]" : name;
    }

    /// <summary>"a, b and c".</summary>
    public static string List(IReadOnlyList<string> items, string conjunction) => items.Count switch
    {
        0 => string.Empty,
        1 => items[0],
        _ => $"{string.Join(", ", items.Take(items.Count - 1))} {conjunction} {items[^1]}",
    };
}
