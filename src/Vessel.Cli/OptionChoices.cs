using System.CommandLine;
using System.CommandLine.Parsing;

namespace Vessel.Cli;

/// <summary>Options that take one of a few words, checked while parsing so a wrong word is a usage mistake.</summary>
internal static class OptionChoices
{
    /// <summary>
    /// Accepts only <paramref name="values"/>; anything else fails parsing with
    /// "--output takes human or json, not 'xml'" (System.CommandLine's own message lists the
    /// values one per line).
    /// </summary>
    public static Option<T> OneOf<T>(this Option<T> option, params string[] values)
    {
        // The help then shows the words it takes (<qcow2|raw>) rather than an empty <>.
        option.HelpName ??= string.Join('|', values);
        option.Validators.Add(result =>
        {
            foreach (Token token in result.Tokens)
            {
                if (!values.Contains(token.Value))
                {
                    result.AddError($"{option.Name} takes {UsageErrors.List(values, "or")}, not '{token.Value}'");
                    return;
                }
            }
        });
        option.CompletionSources.Add(values);
        return option;
    }
}
