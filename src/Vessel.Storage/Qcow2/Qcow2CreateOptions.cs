namespace Vessel.Storage.Qcow2;

/// <summary>How much of a new image is allocated up front.</summary>
public enum Preallocation
{
    Off,
    Metadata,
    Falloc,
    Full,
}

/// <summary>The creation options qemu-img knows for qcow2 (-o cluster_size=..., compat=..., ...).</summary>
public sealed record Qcow2CreateOptions
{
    public int ClusterSize { get; init; } = 65536;

    /// <summary>2 (compat=0.10) or 3 (compat=1.1).</summary>
    public int Version { get; init; } = 3;

    public int RefcountBits { get; init; } = 16;

    public bool LazyRefcounts { get; init; }

    public bool Zstd { get; init; }

    public bool ExtendedL2 { get; init; }

    public string? BackingFile { get; init; }

    public ImageFormat? BackingFormat { get; init; }

    public Preallocation Preallocation { get; init; }
}
