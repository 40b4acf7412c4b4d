namespace Vessel.Storage.Qcow2;

/// <summary>
/// The write path: in place where the cluster is ours alone (COPIED), otherwise allocate fresh
/// clusters, copy the untouched parts of the old content (copy-on-write from the old cluster,
/// the backing image or zeroes), write the data, and only then point the L2 entry at it.
/// </summary>
public sealed partial class Qcow2Image
{
    public override void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        CheckRequest(offset, buffer.Length, write: true);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureWritable();
            try
            {
                WriteLocked(offset, buffer);
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    private void WriteLocked(long offset, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int done = WriteRun(offset, data);
            offset += done;
            data = data[done..];
        }

        FlushIfTooManyDeferredFrees();
    }

    /// <summary>Whether a write may go straight to the entry's host cluster.</summary>
    private bool IsWritableInPlace(ReadOnlySpan<byte> table, int index)
    {
        ulong entry = ReadL2(table, index);
        if ((entry & L2Entry.Copied) == 0 || L2Entry.Kind(entry, _g) != ClusterKind.Normal)
        {
            return false;
        }

        return !_g.ExtendedL2 || ReadL2Bitmap(table, index) == L2Entry.AllAllocated;
    }

    /// <summary>Writes the longest run within one L2 table that is all in place or all to allocate.</summary>
    private int WriteRun(long offset, ReadOnlySpan<byte> data)
    {
        long cluster = offset >> _g.ClusterBits;
        int inCluster = (int)(offset & _g.ClusterMask);
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        long tableEnd = (l1Index + 1) << (_g.L2Bits + _g.ClusterBits);
        int maxRun = (int)Math.Min(data.Length, tableEnd - offset);
        int slot = GetL2SlotForWrite(l1Index);
        long l2Offset = _l2Cache.OffsetOf(slot);
        ReadOnlySpan<byte> table = _l2Cache.Table(slot);

        int clustersInRun = 1;
        int run = Math.Min(maxRun, _g.ClusterSize - inCluster);
        if (IsWritableInPlace(table, l2Index))
        {
            long host = ValidateDataCluster(ReadL2(table, l2Index), cluster);
            while (run < maxRun && IsWritableInPlace(table, l2Index + clustersInRun)
                && L2Entry.HostOffset(ReadL2(table, l2Index + clustersInRun)) == host + ((long)clustersInRun << _g.ClusterBits))
            {
                ValidateDataCluster(ReadL2(table, l2Index + clustersInRun), cluster + clustersInRun);
                run = Math.Min(maxRun, run + _g.ClusterSize);
                clustersInRun++;
            }

            CheckDataTarget(host + inCluster, run);
            WriteHostData(host + inCluster, data[..run]);
            return run;
        }

        while (run < maxRun && !IsWritableInPlace(table, l2Index + clustersInRun))
        {
            run = Math.Min(maxRun, run + _g.ClusterSize);
            clustersInRun++;
        }

        WriteAllocating(cluster, inCluster, clustersInRun, data[..run], l2Offset);
        return run;
    }

    /// <summary>Allocates <paramref name="count"/> contiguous clusters for a run and writes it with copy-on-write.</summary>
    private void WriteAllocating(long firstCluster, int inCluster, int count, ReadOnlySpan<byte> data, long l2Offset)
    {
        long host = _refcounts.AllocateClusters(count);
        CheckDataTarget(host, (long)count << _g.ClusterBits);
        int l2Index = (int)(firstCluster & (_g.L2Entries - 1));
        int cs = _g.ClusterSize;
        int end = inCluster + data.Length;
        int lastPartialLength = end & (int)_g.ClusterMask;

        // Partial first and last clusters first (while their host clusters may still lie past the
        // end of the file and so read as zeroes), then the whole clusters in one write straight
        // from the caller's buffer.
        int fullStart = inCluster == 0 ? 0 : 1;
        int fullEnd = lastPartialLength == 0 ? count : count - 1;
        if (count == 1 && (inCluster != 0 || lastPartialLength != 0))
        {
            fullEnd = 0;
        }

        if (fullStart == 1 || (count == 1 && fullEnd == 0))
        {
            int length = Math.Min(cs - inCluster, data.Length);
            WritePartialCluster(firstCluster, l2Offset, l2Index, host, inCluster, data[..length]);
        }

        if (lastPartialLength != 0 && count > 1)
        {
            WritePartialCluster(firstCluster + count - 1, l2Offset, l2Index + count - 1, host + ((long)(count - 1) * cs), 0, data[^lastPartialLength..]);
        }

        if (fullEnd > fullStart)
        {
            int dataStart = (fullStart * cs) - inCluster;
            int length = (fullEnd - fullStart) * cs;
            WriteHostData(host + ((long)fullStart * cs), data.Slice(dataStart, length));
        }

        // Data is written: now the L2 entries may point at it. Old clusters are freed later.
        int slot = _l2Cache.Get(l2Offset);
        Span<byte> table = _l2Cache.Table(slot);
        for (int i = 0; i < count; i++)
        {
            ulong old = ReadL2(table, l2Index + i);
            ReleaseEntry(old);
            WriteL2(table, l2Index + i, (ulong)(host + ((long)i * cs)) | L2Entry.Copied);
            if (_g.ExtendedL2)
            {
                WriteL2Bitmap(table, l2Index + i, L2Entry.AllAllocated);
            }
        }

        _l2Cache.MarkDirty(slot);
    }

    /// <summary>
    /// Writes part of a newly allocated cluster: the rest comes from the cluster's current content,
    /// unless that is zeroes and the new cluster lies past the end of the file (it reads as zeroes).
    /// </summary>
    private void WritePartialCluster(long guestCluster, long l2Offset, int l2Index, long hostCluster, int inCluster, ReadOnlySpan<byte> part)
    {
        if (hostCluster >= FileEnd && CurrentContentIsZero(guestCluster, l2Offset, l2Index))
        {
            WriteHostData(hostCluster + inCluster, part);
            return;
        }

        // Copy-on-write: the whole cluster as the guest sees it now, with the new part on top.
        ReadLocked(guestCluster << _g.ClusterBits, _cowBuffer);
        part.CopyTo(_cowBuffer.AsSpan(inCluster));
        WriteHostData(hostCluster, _cowBuffer);
    }

    /// <summary>Writes guest data (or a table Vessel manages) to the host file and tracks its end.</summary>
    private void WriteHostData(long hostOffset, ReadOnlySpan<byte> data)
    {
        _file.Write(hostOffset, data);
    }

    /// <summary>Whether a guest cluster reads as zeroes, known from its entry without reading data.</summary>
    private bool CurrentContentIsZero(long guestCluster, long l2Offset, int l2Index)
    {
        int slot = _l2Cache.Get(l2Offset);
        ReadOnlySpan<byte> table = _l2Cache.Table(slot);
        ulong entry = ReadL2(table, l2Index);
        bool noBacking = _backing is null || (guestCluster << _g.ClusterBits) >= _backing.Length;
        if (_g.ExtendedL2)
        {
            ulong bitmap = ReadL2Bitmap(table, l2Index);
            if ((entry & L2Entry.CompressedFlag) != 0 || (uint)bitmap != 0)
            {
                return false;
            }

            return noBacking || (bitmap >> 32) == 0xffff_ffffUL;
        }

        return L2Entry.Kind(entry, _g) switch
        {
            ClusterKind.ZeroPlain or ClusterKind.ZeroAllocated => true,
            ClusterKind.Unallocated => noBacking,
            _ => false,
        };
    }

    /// <summary>Schedules the host storage an entry held to be freed (after the new metadata is on disk).</summary>
    private void ReleaseEntry(ulong entry)
    {
        switch (L2Entry.Kind(entry, _g))
        {
            case ClusterKind.Normal:
            case ClusterKind.ZeroAllocated:
                DeferFree(L2Entry.HostOffset(entry), _g.ClusterSize);
                break;
            case ClusterKind.Compressed:
                DeferFree(L2Entry.CompressedOffset(entry, _g), L2Entry.CompressedLength(entry, _g));
                _decompressedValid = false;
                break;
        }

    }

    /// <summary>
    /// The cache slot of the L2 table for <paramref name="l1Index"/>, ready to be modified: a new
    /// table is allocated when there is none, and a table shared with a snapshot is copied first.
    /// </summary>
    private int GetL2SlotForWrite(long l1Index)
    {
        ulong l1Entry = _l1[l1Index];
        long l2Offset = (long)(l1Entry & L2Entry.OffsetMask);
        if (l2Offset != 0 && (l1Entry & L2Entry.Copied) != 0)
        {
            return GetL2Slot(l1Index, l2Offset);
        }

        if (l2Offset != 0)
        {
            int oldSlot = GetL2Slot(l1Index, l2Offset);
            _l2Cache.Table(oldSlot).CopyTo(_tableBuffer);
        }

        long newOffset = _refcounts.AllocateClusters(1);
        CheckDataTarget(newOffset, _g.ClusterSize);
        int slot = _l2Cache.Create(newOffset);
        if (l2Offset != 0)
        {
            _tableBuffer.CopyTo(_l2Cache.Table(slot));
            DeferFree(l2Offset, _g.ClusterSize);
        }

        _l1[l1Index] = (ulong)newOffset | L2Entry.Copied;
        MarkL1Dirty(l1Index);
        return slot;
    }
}
