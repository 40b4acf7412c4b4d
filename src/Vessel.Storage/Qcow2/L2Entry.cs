namespace Vessel.Storage.Qcow2;

/// <summary>What a (standard or extended) L2 entry says about a guest cluster.</summary>
internal enum ClusterKind
{
    /// <summary>Not allocated here: read from the backing file, or zeroes.</summary>
    Unallocated,

    /// <summary>Reads as zeroes (zero flag, no host cluster).</summary>
    ZeroPlain,

    /// <summary>Reads as zeroes but keeps a preallocated host cluster.</summary>
    ZeroAllocated,

    /// <summary>Data in a host cluster.</summary>
    Normal,

    /// <summary>Data compressed somewhere in the file, not cluster-aligned.</summary>
    Compressed,
}

/// <summary>Bit layout of L1 and L2 table entries (docs/interop/qcow2.rst, "Cluster mapping").</summary>
internal static class L2Entry
{
    public const ulong Copied = 1UL << 63;
    public const ulong CompressedFlag = 1UL << 62;
    public const ulong ZeroFlag = 1UL;
    public const ulong OffsetMask = 0x00ff_ffff_ffff_fe00UL;
    public const ulong L1ReservedMask = 0x7f00_0000_0000_01ffUL;
    public const ulong StandardReservedMask = 0x3f00_0000_0000_01feUL;

    /// <summary>Extended L2: all 32 subclusters allocated, none zero.</summary>
    public const ulong AllAllocated = 0x0000_0000_ffff_ffffUL;

    /// <summary>Extended L2: all 32 subclusters read as zeroes.</summary>
    public const ulong AllZero = 0xffff_ffff_0000_0000UL;

    public static ClusterKind Kind(ulong entry, Qcow2Geometry g)
    {
        if ((entry & CompressedFlag) != 0)
        {
            return ClusterKind.Compressed;
        }

        if (!g.ExtendedL2 && (entry & ZeroFlag) != 0)
        {
            return (entry & OffsetMask) != 0 ? ClusterKind.ZeroAllocated : ClusterKind.ZeroPlain;
        }

        return (entry & OffsetMask) != 0 ? ClusterKind.Normal : ClusterKind.Unallocated;
    }

    public static long HostOffset(ulong entry) => (long)(entry & OffsetMask);

    public static long CompressedOffset(ulong entry, Qcow2Geometry g) => (long)(entry & g.CompressedOffsetMask);

    /// <summary>Bytes the compressed data may occupy from its offset, as the descriptor states them.</summary>
    public static int CompressedLength(ulong entry, Qcow2Geometry g)
    {
        long offset = CompressedOffset(entry, g);
        long sectors = (long)((entry >> g.CompressedOffsetBits) & g.CompressedSectorsMask) + 1;
        return (int)((sectors * 512) - (offset & 511));
    }

    /// <summary>Builds a compressed cluster descriptor for <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public static ulong MakeCompressed(long offset, int length, Qcow2Geometry g)
    {
        ulong additionalSectors = (ulong)(((offset + length - 1) >> 9) - (offset >> 9));
        return CompressedFlag | (additionalSectors << g.CompressedOffsetBits) | (ulong)offset;
    }
}
