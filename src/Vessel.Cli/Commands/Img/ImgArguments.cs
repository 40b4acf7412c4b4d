using System.Globalization;
using Vessel.Storage;
using Vessel.Storage.Qcow2;

namespace Vessel.Cli.Commands.Img;

/// <summary>Parsing of the values qemu-img users type: formats, sizes with suffixes, -o option lists.</summary>
internal static class ImgArguments
{
    /// <summary>The image formats -f, -O, -F and -o backing_fmt take.</summary>
    public static readonly string[] Formats = ["raw", "qcow2"];

    public static ImageFormat? Format(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        return name.ToLowerInvariant() switch
        {
            "raw" => ImageFormat.Raw,
            "qcow2" => ImageFormat.Qcow2,
            _ => throw UserErrorException.Usage($"unknown image format '{name}' (Vessel supports raw and qcow2)"),
        };
    }

    /// <summary>A size like qemu-img takes it: bytes, or a number (decimals allowed) with k/M/G/T/P/E (powers of 1024).</summary>
    public static long Size(string text, string what = "size")
    {
        string s = text.Trim();
        if (s.Length == 0)
        {
            throw UserErrorException.Usage($"the {what} is empty");
        }

        int end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
        {
            end++;
        }

        if (end == 0 || !decimal.TryParse(s[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
        {
            throw UserErrorException.Usage($"'{text}' is not a valid {what} (examples: 512, 64k, 10G)");
        }

        string suffix = s[end..];
        int shift = suffix.ToUpperInvariant() switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            "P" or "PB" or "PIB" => 50,
            "E" or "EB" or "EIB" => 60,
            _ => throw UserErrorException.Usage($"'{text}' is not a valid {what}: unknown suffix '{suffix}' (use k, M, G, T, P or E)"),
        };

        decimal bytes = number * (decimal)Math.Pow(2, shift);
        if (bytes > long.MaxValue || (shift == 0 && number != decimal.Truncate(number)))
        {
            throw UserErrorException.Usage($"'{text}' is not a valid {what}");
        }

        return (long)decimal.Truncate(bytes);
    }

    /// <summary>-o key=value,key=value (commas inside values doubled, as qemu-img does).</summary>
    public static Dictionary<string, string> OptionList(IEnumerable<string> texts)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string text in texts)
        {
            foreach ((string rawKey, string? value) in KeyValueOptions.Parse(text))
            {
                string key = rawKey.Trim();
                if (key.Length > 0)
                {
                    result[key] = value ?? "on";
                }
            }
        }

        return result;
    }

    public const string Qcow2OptionHelp =
        "Supported qcow2 options:\n" +
        "  backing_file=FILE        file name of a base image\n" +
        "  backing_fmt=FMT          format of the base image (raw, qcow2)\n" +
        "  cluster_size=SIZE        qcow2 cluster size, 512 to 2M (default 64k)\n" +
        "  compat=0.10|1.1          version 2 or 3 of the format (default 1.1)\n" +
        "  compression_type=zlib|zstd  algorithm for compressed clusters (default zlib)\n" +
        "  extended_l2=on|off       subcluster allocation (default off)\n" +
        "  lazy_refcounts=on|off    postpone refcount updates (default off)\n" +
        "  preallocation=off|metadata|falloc|full  (default off)\n" +
        "  refcount_bits=N          width of a refcount entry, 1 to 64 (default 16)\n";

    /// <summary>Turns -o options into qcow2 creation options (backing file and format may also come from -b/-F).</summary>
    public static Qcow2CreateOptions Qcow2Options(Dictionary<string, string> options, Qcow2CreateOptions start)
    {
        Qcow2CreateOptions result = start;
        foreach ((string key, string value) in options)
        {
            result = key switch
            {
                "cluster_size" => result with { ClusterSize = (int)Math.Min(int.MaxValue, Size(value, "cluster size")) },
                "compat" => result with { Version = value switch
                {
                    "0.10" or "v2" => 2,
                    "1.1" or "v3" => 3,
                    _ => throw UserErrorException.Usage($"compat={value} is invalid: use 0.10 or 1.1"),
                } },
                "compression_type" => result with { Zstd = value switch
                {
                    "zlib" => false,
                    "zstd" => true,
                    _ => throw UserErrorException.Usage($"compression_type={value} is invalid: use zlib or zstd"),
                } },
                "lazy_refcounts" => result with { LazyRefcounts = OnOff(key, value) },
                "extended_l2" => result with { ExtendedL2 = OnOff(key, value) },
                "refcount_bits" => result with { RefcountBits = int.TryParse(value, out int bits) ? bits : throw UserErrorException.Usage($"refcount_bits={value} is not a number") },
                "preallocation" => result with { Preallocation = value switch
                {
                    "off" => Preallocation.Off,
                    "metadata" => Preallocation.Metadata,
                    "falloc" => Preallocation.Falloc,
                    "full" => Preallocation.Full,
                    _ => throw UserErrorException.Usage($"preallocation={value} is invalid: use off, metadata, falloc or full"),
                } },
                "backing_file" => result with { BackingFile = value },
                "backing_fmt" => result with { BackingFormat = Format(value) },
                "size" => result,
                _ => throw UserErrorException.Usage($"qcow2 images have no option '{key}' (see -o help)"),
            };
        }

        return result;
    }

    public static void CheckRawOptions(Dictionary<string, string> options)
    {
        foreach ((string key, string value) in options)
        {
            if (key == "preallocation" && value == "off")
            {
                continue;
            }

            if (key == "size")
            {
                continue;
            }

            throw UserErrorException.Usage($"raw images have no option '{key}={value}' (only preallocation=off)");
        }
    }

    private static bool OnOff(string key, string value) => value switch
    {
        "on" or "true" or "yes" => true,
        "off" or "false" or "no" => false,
        _ => throw UserErrorException.Usage($"{key}={value} is invalid: use on or off"),
    };
}
