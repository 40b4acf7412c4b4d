using System.Globalization;

namespace Vessel.Cli.Commands.Img;

/// <summary>Sizes printed the way qemu-img prints them ("196 KiB", "1.5 GiB": three significant digits).</summary>
internal static class HumanSize
{
    private static readonly string[] s_units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    public static string Format(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (unit < s_units.Length - 1 && value >= 1000)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString("G3", CultureInfo.InvariantCulture) + " " + s_units[unit];
    }
}
