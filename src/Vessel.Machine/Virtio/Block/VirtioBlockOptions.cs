namespace Vessel.Machine.Virtio.Block;

/// <summary>How a virtio-blk device presents its disk to the guest.</summary>
public sealed record VirtioBlockOptions
{
    /// <summary>The device ID string (GET_ID, <c>/sys/block/vda/serial</c>): up to 20 printable ASCII characters.</summary>
    public string Serial { get; init; } = string.Empty;

    /// <summary>Present the disk read-only even if the block device accepts writes.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The logical block size advertised with VIRTIO_BLK_F_BLK_SIZE (512 or a larger power of two).</summary>
    public uint LogicalBlockSize { get; init; } = 512;

    /// <summary>The size of the request queue (a power of two); also bounds the segments per request.</summary>
    public ushort QueueSize { get; init; } = 256;

    /// <summary>Offer VIRTIO_BLK_F_DISCARD.</summary>
    public bool Discard { get; init; } = true;

    /// <summary>Offer VIRTIO_BLK_F_WRITE_ZEROES.</summary>
    public bool WriteZeroes { get; init; } = true;

    /// <summary>Largest discard range, in 512-byte sectors.</summary>
    public uint MaxDiscardSectors { get; init; } = 0x3f_ffff;

    /// <summary>Most ranges in one discard request.</summary>
    public uint MaxDiscardSegments { get; init; } = 16;

    /// <summary>Largest write-zeroes range, in 512-byte sectors.</summary>
    public uint MaxWriteZeroesSectors { get; init; } = 0x3f_ffff;

    /// <summary>Most ranges in one write-zeroes request.</summary>
    public uint MaxWriteZeroesSegments { get; init; } = 16;
}
