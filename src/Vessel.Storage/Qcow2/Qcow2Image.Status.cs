namespace Vessel.Storage.Qcow2;

/// <summary>Allocation status of this layer (what <c>map</c>, <c>convert</c> and <c>commit</c> walk).</summary>
public sealed partial class Qcow2Image
{
    public override BlockExtent GetExtent(long offset, long maxLength)
    {
        CheckRequest(offset, 0, write: false);
        BlockExtent result = default;
        Guarded(() => result = GetExtentLocked(offset, Math.Min(maxLength, Length - offset)));
        return result;
    }

    private BlockExtent GetExtentLocked(long offset, long maxLength)
    {
        long cluster = offset >> _g.ClusterBits;
        int inCluster = (int)(offset & _g.ClusterMask);
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        long tableEnd = (l1Index + 1) << (_g.L2Bits + _g.ClusterBits);
        long maxRun = Math.Min(maxLength, tableEnd - offset);
        long l2Offset = l1Index < _l1.Length ? (long)(_l1[l1Index] & L2Entry.OffsetMask) : 0;
        if (l2Offset == 0)
        {
            return new BlockExtent(offset, maxRun, ExtentKind.Unallocated, -1, false);
        }

        int slot = GetL2Slot(l1Index, l2Offset);
        ReadOnlySpan<byte> table = _l2Cache.Table(slot);
        if (_g.ExtendedL2)
        {
            return ExtendedExtent(table, l2Index, offset, Math.Min(maxRun, _g.ClusterSize - inCluster));
        }

        (ExtentKind kind, long host, bool compressed) = Classify(ReadL2(table, l2Index), cluster);
        long run = Math.Min(maxRun, _g.ClusterSize - inCluster);
        int next = 1;
        while (run < maxRun && !compressed)
        {
            (ExtentKind nextKind, long nextHost, bool nextCompressed) = Classify(ReadL2(table, l2Index + next), cluster + next);
            bool contiguous = host < 0 ? nextHost < 0 : nextHost == host + ((long)next << _g.ClusterBits);
            if (nextKind != kind || nextCompressed || !contiguous)
            {
                break;
            }

            run = Math.Min(maxRun, run + _g.ClusterSize);
            next++;
        }

        return new BlockExtent(offset, run, kind, host < 0 ? -1 : host + inCluster, compressed);
    }

    private (ExtentKind Kind, long Host, bool Compressed) Classify(ulong entry, long guestCluster) => L2Entry.Kind(entry, _g) switch
    {
        ClusterKind.Normal => (ExtentKind.Data, ValidateDataCluster(entry, guestCluster), false),
        ClusterKind.Compressed => (ExtentKind.Data, -1, true),
        ClusterKind.ZeroAllocated => (ExtentKind.Zero, L2Entry.HostOffset(entry), false),
        ClusterKind.ZeroPlain => (ExtentKind.Zero, -1, false),
        _ => (ExtentKind.Unallocated, -1, false),
    };

    private BlockExtent ExtendedExtent(ReadOnlySpan<byte> table, int l2Index, long offset, long maxRun)
    {
        long cluster = offset >> _g.ClusterBits;
        int inCluster = (int)(offset & _g.ClusterMask);
        ulong entry = ReadL2(table, l2Index);
        if ((entry & L2Entry.CompressedFlag) != 0)
        {
            return new BlockExtent(offset, maxRun, ExtentKind.Data, -1, true);
        }

        ulong bitmap = ReadL2Bitmap(table, l2Index);
        int sub = inCluster / _g.SubclusterSize;
        SubclusterState state = SubclusterStateOf(bitmap, sub, cluster);
        int end = (sub + 1) * _g.SubclusterSize;
        while (end < _g.ClusterSize && end - inCluster < maxRun && SubclusterStateOf(bitmap, end / _g.SubclusterSize, cluster) == state)
        {
            end += _g.SubclusterSize;
        }

        long length = Math.Min(end - inCluster, maxRun);
        return state switch
        {
            SubclusterState.Allocated => new BlockExtent(offset, length, ExtentKind.Data, ValidateDataCluster(entry, cluster) + inCluster, false),
            SubclusterState.Zero => new BlockExtent(offset, length, ExtentKind.Zero, -1, false),
            _ => new BlockExtent(offset, length, ExtentKind.Unallocated, -1, false),
        };
    }
}
