namespace Vessel.Storage.Qcow2;

/// <summary>Discard and write-zeroes: whole clusters become metadata-only (zero flag or unallocated).</summary>
public sealed partial class Qcow2Image
{
    private static byte[]? s_zeroCluster;

    private ReadOnlySpan<byte> ZeroCluster
    {
        get
        {
            byte[]? zeroes = s_zeroCluster;
            if (zeroes is null || zeroes.Length < _g.ClusterSize)
            {
                zeroes = new byte[1 << Qcow2Header.MaxClusterBits];
                s_zeroCluster = zeroes;
            }

            return zeroes.AsSpan(0, _g.ClusterSize);
        }
    }

    /// <summary>
    /// Frees whole clusters in the range, as QEMU does for a guest discard: with a backing file,
    /// or where the cluster was allocated, a v3 image marks it zero so old data does not show
    /// through; partial clusters are left alone.
    /// </summary>
    public override void Discard(long offset, long length)
    {
        CheckRequest(offset, length, write: true);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureWritable();
            try
            {
                long start = RoundUpToCluster(offset);
                long end = offset + length == Length ? RoundUpToCluster(Length) : (offset + length) & ~_g.ClusterMask;
                for (long position = start; position < end;)
                {
                    position += ZeroOrDiscardClusters(position, end, discard: true, mayUnmap: true);
                }

                FlushIfTooManyDeferredFrees();
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    public override void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckRequest(offset, length, write: true);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureWritable();
            try
            {
                WriteZeroesLocked(offset, length, mayUnmap);
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    private void WriteZeroesLocked(long offset, long length, bool mayUnmap)
    {
        long end = offset + length;
        long alignedStart = RoundUpToCluster(offset);
        long alignedEnd = end == Length ? RoundUpToCluster(end) : end & ~_g.ClusterMask;
        if (alignedStart >= alignedEnd)
        {
            WriteZeroData(offset, length);
            return;
        }

        WriteZeroData(offset, alignedStart - offset);
        for (long position = alignedStart; position < alignedEnd;)
        {
            position += ZeroOrDiscardClusters(position, alignedEnd, discard: false, mayUnmap);
        }

        if (end > alignedEnd)
        {
            WriteZeroData(alignedEnd, end - alignedEnd);
        }

        FlushIfTooManyDeferredFrees();
    }

    private long RoundUpToCluster(long offset) => (offset + _g.ClusterMask) & ~_g.ClusterMask;

    private void WriteZeroData(long offset, long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, _g.ClusterSize - (offset & _g.ClusterMask));
            WriteLocked(offset, ZeroCluster[..n]);
            offset += n;
            length -= n;
        }
    }

    /// <summary>Zeroes or discards whole clusters from <paramref name="offset"/> within one L2 table; returns bytes handled.</summary>
    private long ZeroOrDiscardClusters(long offset, long end, bool discard, bool mayUnmap)
    {
        long cluster = offset >> _g.ClusterBits;
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        long tableEnd = (l1Index + 1) << (_g.L2Bits + _g.ClusterBits);
        int count = (int)((Math.Min(end, tableEnd) - offset) >> _g.ClusterBits);
        bool hasBacking = _backing is not null;
        bool zeroFlag = _header.Version >= 3;

        if (!zeroFlag && !discard && (hasBacking || !mayUnmap))
        {
            // Version 2 has no zero flag: with a backing file (or when storage must stay), write zeroes.
            WriteZeroData(offset, (long)count << _g.ClusterBits);
            return (long)count << _g.ClusterBits;
        }

        long l2OffsetNow = (long)(_l1[l1Index] & L2Entry.OffsetMask);
        if (l2OffsetNow == 0 && (!hasBacking || !zeroFlag))
        {
            // Nothing allocated here and nothing shows through from below: already zeroes.
            return (long)count << _g.ClusterBits;
        }

        int slot = GetL2SlotForWrite(l1Index);
        long l2Offset = _l2Cache.OffsetOf(slot);
        Span<byte> table = _l2Cache.Table(slot);
        for (int i = 0; i < count; i++)
        {
            int index = l2Index + i;
            ulong old = ReadL2(table, index);
            ClusterKind kind = L2Entry.Kind(old, _g);
            bool allocated = kind is ClusterKind.Normal or ClusterKind.ZeroAllocated or ClusterKind.Compressed;
            ulong newEntry;
            ulong newBitmap = 0;
            bool release;
            if (discard)
            {
                release = allocated;
                bool mustHide = hasBacking || allocated;
                newEntry = mustHide && zeroFlag && !_g.ExtendedL2 ? L2Entry.ZeroFlag : 0;
                newBitmap = mustHide && _g.ExtendedL2 ? L2Entry.AllZero : 0;
            }
            else if (_g.ExtendedL2)
            {
                release = kind == ClusterKind.Compressed || (mayUnmap && allocated);
                newEntry = release ? 0 : old;
                newBitmap = L2Entry.AllZero;
            }
            else if (zeroFlag)
            {
                release = kind == ClusterKind.Compressed || (mayUnmap && allocated);
                newEntry = (release ? 0 : old) | L2Entry.ZeroFlag;
            }
            else
            {
                // Version 2, no backing file, unmapping allowed: unallocated reads as zeroes.
                release = allocated;
                newEntry = 0;
            }

            if (newEntry == old && (!_g.ExtendedL2 || ReadL2Bitmap(table, index) == newBitmap))
            {
                continue;
            }

            if (release)
            {
                ReleaseEntry(old);
            }

            WriteL2(table, index, newEntry);
            if (_g.ExtendedL2)
            {
                WriteL2Bitmap(table, index, newBitmap);
            }
        }

        _l2Cache.MarkDirty(_l2Cache.Get(l2Offset));
        return (long)count << _g.ClusterBits;
    }
}
