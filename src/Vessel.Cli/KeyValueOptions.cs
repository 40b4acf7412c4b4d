namespace Vessel.Cli;

/// <summary>
/// Parses QEMU-style option strings: <c>key=value,key=value</c>, where a doubled comma
/// (<c>,,</c>) stands for a literal comma inside a value and a leading bare word may name the
/// kind (<c>user,hostfwd=...</c>, <c>virtio-rng</c>).
/// </summary>
public static class KeyValueOptions
{
    /// <summary>Splits <paramref name="text"/> into (key, value) pairs; a bare word has a null value.</summary>
    public static List<(string Key, string? Value)> Parse(string text)
    {
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == ',')
            {
                if (i + 1 < text.Length && text[i + 1] == ',')
                {
                    current.Append(',');
                    i++;
                    continue;
                }

                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(text[i]);
        }

        parts.Add(current.ToString());
        var result = new List<(string, string?)>();
        foreach (string part in parts)
        {
            int equals = part.IndexOf('=');
            result.Add(equals < 0 ? (part, null) : (part[..equals], part[(equals + 1)..]));
        }

        return result;
    }

    /// <summary>Parses QEMU's boolean spellings (on/off, yes/no, true/false).</summary>
    public static bool? ParseSwitch(string? value) => value?.ToLowerInvariant() switch
    {
        "on" or "yes" or "true" or "1" => true,
        "off" or "no" or "false" or "0" => false,
        _ => null,
    };
}
