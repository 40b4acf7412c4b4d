using System.Globalization;

namespace Vessel.Cli;

/// <summary>Parses sizes as QEMU and qemu-img write them: a number with an optional K/M/G/T/P/E suffix (powers of 1024).</summary>
public static class SizeParser
{
    /// <summary>Returns the size in bytes, or null when <paramref name="text"/> is not a size.</summary>
    /// <param name="text">e.g. <c>256M</c>, <c>1.5G</c>, <c>4096</c>.</param>
    /// <param name="defaultUnit">Multiplier for a plain number (1 for bytes, 1 MiB for --memory).</param>
    public static ulong? TryParse(string text, ulong defaultUnit = 1)
    {
        string s = text.Trim();
        if (s.Length == 0)
        {
            return null;
        }

        ulong unit = defaultUnit;
        string number = s;
        string suffix = new(s.SkipWhile(c => char.IsDigit(c) || c == '.').ToArray());
        if (suffix.Length > 0)
        {
            number = s[..^suffix.Length];
            string normalized = suffix.ToUpperInvariant();
            if (normalized.EndsWith("IB", StringComparison.Ordinal))
            {
                normalized = normalized[..^2];
            }
            else if (normalized.EndsWith('B') && normalized.Length == 2)
            {
                normalized = normalized[..^1];
            }

            unit = normalized switch
            {
                "B" => 1,
                "K" => 1UL << 10,
                "M" => 1UL << 20,
                "G" => 1UL << 30,
                "T" => 1UL << 40,
                "P" => 1UL << 50,
                "E" => 1UL << 60,
                _ => 0,
            };
            if (unit == 0)
            {
                return null;
            }
        }

        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value) || value < 0)
        {
            return null;
        }

        decimal bytes = value * unit;
        if (bytes > ulong.MaxValue || bytes != decimal.Truncate(bytes))
        {
            return null;
        }

        return (ulong)bytes;
    }
}
