namespace Vessel.Storage.Qcow2;

/// <summary>The feature bits of the qcow2 header (docs/interop/qcow2.rst), by the field they live in.</summary>
internal static class Qcow2Features
{
    // incompatible_features
    public const ulong Dirty = 1UL << 0;
    public const ulong Corrupt = 1UL << 1;
    public const ulong ExternalDataFile = 1UL << 2;
    public const ulong CompressionType = 1UL << 3;
    public const ulong ExtendedL2 = 1UL << 4;
    public const ulong KnownIncompatible = Dirty | Corrupt | ExternalDataFile | CompressionType | ExtendedL2;

    // compatible_features
    public const ulong LazyRefcounts = 1UL << 0;

    // autoclear_features
    public const ulong Bitmaps = 1UL << 0;
    public const ulong RawExternalData = 1UL << 1;

    /// <summary>Names for the features Vessel knows, written into the feature name table of every image it writes.</summary>
    public static IReadOnlyList<FeatureName> KnownNames { get; } =
    [
        new(FeatureKind.Incompatible, 0, "dirty bit"),
        new(FeatureKind.Incompatible, 1, "corrupt bit"),
        new(FeatureKind.Incompatible, 2, "external data file"),
        new(FeatureKind.Incompatible, 3, "compression type"),
        new(FeatureKind.Incompatible, 4, "extended L2 entries"),
        new(FeatureKind.Compatible, 0, "lazy refcounts"),
        new(FeatureKind.Autoclear, 0, "bitmaps"),
        new(FeatureKind.Autoclear, 1, "raw external data"),
    ];
}

internal enum FeatureKind : byte
{
    Incompatible = 0,
    Compatible = 1,
    Autoclear = 2,
}

/// <summary>One entry of the feature name table header extension.</summary>
internal sealed record FeatureName(FeatureKind Kind, int Bit, string Name);

/// <summary>Compression types of the header's compression_type field.</summary>
internal enum Qcow2CompressionType : byte
{
    Deflate = 0,
    Zstd = 1,
}
