namespace Vessel.Storage.Qcow2;

/// <summary>
/// The sizes that follow from the header: cluster and L2 table geometry, refcount width and the
/// layout of compressed cluster descriptors. Computed once per image.
/// </summary>
internal sealed class Qcow2Geometry
{
    public Qcow2Geometry(int clusterBits, bool extendedL2, int refcountOrder)
    {
        ClusterBits = clusterBits;
        ClusterSize = 1 << clusterBits;
        ExtendedL2 = extendedL2;
        L2EntrySize = extendedL2 ? 16 : 8;
        L2Entries = ClusterSize / L2EntrySize;
        L2Bits = clusterBits - (extendedL2 ? 4 : 3);
        SubclusterSize = extendedL2 ? ClusterSize / 32 : ClusterSize;
        RefcountOrder = refcountOrder;
        RefcountBits = 1 << refcountOrder;
        RefcountBlockEntries = (long)ClusterSize * 8 / RefcountBits;
        RefcountBlockBits = clusterBits + 3 - refcountOrder;
        MaxRefcount = RefcountBits == 64 ? ulong.MaxValue : (1UL << RefcountBits) - 1;
        CompressedOffsetBits = 62 - (clusterBits - 8);
        CompressedOffsetMask = (1UL << CompressedOffsetBits) - 1;
        CompressedSectorsMask = (1UL << (clusterBits - 8)) - 1;
    }

    public int ClusterBits { get; }
    public int ClusterSize { get; }
    public long ClusterMask => ClusterSize - 1;
    public bool ExtendedL2 { get; }
    public int L2EntrySize { get; }
    public int L2Entries { get; }
    public int L2Bits { get; }
    public int SubclusterSize { get; }
    public int RefcountOrder { get; }
    public int RefcountBits { get; }
    public long RefcountBlockEntries { get; }
    public int RefcountBlockBits { get; }
    public ulong MaxRefcount { get; }
    public int CompressedOffsetBits { get; }
    public ulong CompressedOffsetMask { get; }
    public ulong CompressedSectorsMask { get; }

    /// <summary>Host offsets in L1/L2 entries have bits 9..55: everything must lie below 64 PiB.</summary>
    public const long MaxHostOffset = 1L << 56;

    public long ClusterIndex(long offset) => offset >> ClusterBits;
    public long ClusterStart(long offset) => offset & ~ClusterMask;
    public long ClustersFor(long bytes) => (bytes + ClusterMask) >> ClusterBits;

    /// <summary>L1 entries needed to map <paramref name="virtualSize"/> bytes.</summary>
    public long L1EntriesFor(long virtualSize) => (ClustersFor(virtualSize) + L2Entries - 1) / L2Entries;
}
