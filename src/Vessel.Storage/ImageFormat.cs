namespace Vessel.Storage;

/// <summary>The on-disk formats Vessel reads and writes.</summary>
public enum ImageFormat
{
    Raw,
    Qcow2,
}

/// <summary>Names of the formats as users and qemu-img spell them.</summary>
public static class ImageFormats
{
    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Raw => "raw",
        ImageFormat.Qcow2 => "qcow2",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Parses a user-given format name; throws a one-sentence error for anything else.</summary>
    public static ImageFormat Parse(string name) => name.ToLowerInvariant() switch
    {
        "raw" => ImageFormat.Raw,
        "qcow2" => ImageFormat.Qcow2,
        _ => throw new StorageException($"unknown image format '{name}' (Vessel supports raw and qcow2)"),
    };
}
