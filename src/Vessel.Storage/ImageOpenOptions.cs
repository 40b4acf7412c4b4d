using Vessel.Storage.Host;

namespace Vessel.Storage;

/// <summary>How <see cref="ImageOpener"/> opens an image.</summary>
public sealed record ImageOpenOptions
{
    /// <summary>The format, or null to detect it from the header (a qcow2 signature is never taken as raw).</summary>
    public ImageFormat? Format { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>Open without taking locks (qemu-img's -U); only allowed read-only.</summary>
    public bool ForceShare { get; init; }

    /// <summary>Open the backing chain too (default). Off for tools that only look at one layer's metadata.</summary>
    public bool OpenBacking { get; init; } = true;

    /// <summary>
    /// Never wait for stable storage (qemu's cache=unsafe): flushes only order writes within the
    /// host page cache. A crash of the process still leaves a consistent image, a power loss may
    /// not. For conversion targets and other scratch copies.
    /// </summary>
    public bool UnsafeCache { get; init; }

    /// <summary>Open the immediate backing image writable (commit writes into it).</summary>
    public bool WritableBacking { get; init; }

    /// <summary>Bytes of L2 tables to cache per qcow2 image; 0 picks QEMU's default (enough to cover the disk, at most 32 MiB).</summary>
    public long L2CacheBytes { get; init; }

    /// <summary>Open an image whose corrupt bit is set, read-write (check -r uses this to repair it).</summary>
    internal bool AllowCorrupt { get; init; }

    /// <summary>
    /// Opened by check: a dirty image is not repaired on open (check does it, and reports it)
    /// and autoclear feature bits are kept (check changes no guest data).
    /// </summary>
    internal bool OpenForRepair { get; init; }

    internal ImageLockMode LockMode => ForceShare ? ImageLockMode.None : ReadOnly ? ImageLockMode.Shared : ImageLockMode.Exclusive;
}
