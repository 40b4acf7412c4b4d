using System.Text;

namespace Vessel.Server.Audit;

/// <summary>
/// CSV as RFC 4180 writes it (a field with a quote, comma or line break is quoted, quotes
/// doubled), made safe to open in a spreadsheet: a field that would start a formula (<c>=</c>,
/// <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return) gets a leading apostrophe, and so
/// does one that already starts with an apostrophe, so that a reader gets every value back
/// exactly by dropping one leading apostrophe where there is one.
/// </summary>
public static class AuditCsv
{
    public static readonly string[] Header =
        ["sequence", "time", "user", "source", "action", "object", "status", "detail", "operation", "previousHash", "hash"];

    public static string Row(IEnumerable<string?> fields) => string.Join(',', fields.Select(Field)) + "\r\n";

    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' or '\'')
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny("\",\r\n") < 0)
        {
            return value;
        }

        var quoted = new StringBuilder(value.Length + 2);
        quoted.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        return quoted.ToString();
    }
}
