using System.Buffers.Binary;

namespace Vessel.Storage.Qcow2;

/// <summary>Changing the virtual size: growing the L1 table, freeing what lies past a new end.</summary>
public sealed partial class Qcow2Image
{
    public override void Resize(long newLength, bool allowShrink)
    {
        if (newLength < 0 || newLength % 512 != 0)
        {
            throw new StorageException("the new size of a qcow2 image must be a multiple of 512 bytes");
        }

        if (newLength > Qcow2Header.MaxL1Bytes / 8 * _g.L2Entries * (long)_g.ClusterSize)
        {
            throw new StorageException($"{newLength} bytes is more than a qcow2 image with {_g.ClusterSize}-byte clusters can address");
        }

        Guarded(() =>
        {
            EnsureWritable();

            // A staged VM state starts past the disk's L1 entries, which a new size moves.
            EnsureNoVmStateBeingWritten("resize");
            long oldLength = Length;
            if (newLength == oldLength)
            {
                return;
            }

            if (newLength > oldLength)
            {
                Grow(oldLength, newLength);
            }
            else
            {
                if (!allowShrink)
                {
                    throw new StorageException($"shrinking '{Path}' would drop data; use --shrink to allow it");
                }

                Shrink(newLength);
            }

            FlushMetadata();
            _file.DataSync();
        });
    }

    private void Grow(long oldLength, long newLength)
    {
        if (_snapshots.Count > 0 && _header.Version < 3)
        {
            throw new StorageException($"cannot resize '{Path}': it is a version 2 (compat=0.10) image with snapshots");
        }

        long neededL1 = _g.L1EntriesFor(newLength);
        if (neededL1 > _l1.Length)
        {
            GrowL1((uint)neededL1);
        }

        DropBeyondDisk(_g.L1EntriesFor(oldLength), neededL1);

        // What lay past the old end must read as zeroes: the tail of the old last cluster, and
        // whatever the backing file has there. This is done, and made durable, before the header
        // grows the disk: until then the guest cannot see these clusters, so a crash half-way
        // leaves the old disk (and a few leaked clusters), never a grown disk through which the
        // backing file's old content shows.
        long tailEnd = Math.Min(RoundUpToCluster(oldLength), newLength);
        if (tailEnd > oldLength)
        {
            ExtentKind tailKind = GetExtentLocked(oldLength, tailEnd - oldLength).Kind;
            bool backingShows = tailKind == ExtentKind.Unallocated && _backing is not null && _backing.Length > oldLength;
            if (tailKind == ExtentKind.Data || backingShows)
            {
                WriteZeroData(oldLength, tailEnd - oldLength);
            }
        }

        if (_backing is not null && _backing.Length > tailEnd)
        {
            long end = Math.Min(newLength, _backing.Length);
            long alignedEnd = end == newLength ? RoundUpToCluster(end) : end & ~_g.ClusterMask;
            for (long position = tailEnd; position < alignedEnd;)
            {
                position += ZeroOrDiscardClusters(position, alignedEnd, discard: false, mayUnmap: true);
            }

            if (end > alignedEnd && alignedEnd >= tailEnd)
            {
                WriteZeroData(alignedEnd, end - alignedEnd);
            }
        }

        FlushMetadata();
        _file.DataSync();
        SetVirtualSize(newLength);
    }

    private void Shrink(long newLength)
    {
        if (_snapshots.Count > 0)
        {
            throw new StorageException($"cannot shrink '{Path}' while it has internal snapshots");
        }

        long oldEnd = RoundUpToCluster(Length);
        long firstDropped = RoundUpToCluster(newLength);
        for (long position = firstDropped; position < oldEnd;)
        {
            position += DropClusters(position, oldEnd);
        }

        // L2 tables wholly past the new end go too.
        long keepL1 = _g.L1EntriesFor(newLength);
        for (long i = keepL1; i < _l1.Length; i++)
        {
            long l2Offset = (long)(_l1[i] & L2Entry.OffsetMask);
            if (l2Offset != 0)
            {
                _l1[i] = 0;
                MarkL1Dirty(i);
                DeferFree(l2Offset, _g.ClusterSize);
            }
        }

        SetVirtualSize(newLength);
        FlushMetadata();
        _file.DataSync();

        long lastUsed = _refcounts.LastUsedCluster();
        long end = (lastUsed + 1) << _g.ClusterBits;
        if (lastUsed >= 0 && end < FileEnd)
        {
            _file.SetLength(end);
        }
    }

    /// <summary>
    /// Unmaps what the active tree holds in L1 entries <paramref name="first"/> up to
    /// <paramref name="end"/>, past the old disk: a VM state QEMU's loadvm copied there (QEMU
    /// reads the state from the active tree and leaves it), which a grown disk would otherwise
    /// show to the guest. qemu-img resize shows it; Vessel does not.
    /// </summary>
    private void DropBeyondDisk(long first, long end)
    {
        for (long i = first; i < Math.Min(end, _l1.Length); i++)
        {
            if ((_l1[i] & L2Entry.OffsetMask) == 0)
            {
                continue;
            }

            long start = i * L1EntrySpan;
            DropClusters(start, start + L1EntrySpan);
            DeferFree((long)(_l1[i] & L2Entry.OffsetMask), _g.ClusterSize);
            _l1[i] = 0;
            MarkL1Dirty(i);
        }
    }

    /// <summary>Unmaps every cluster from <paramref name="offset"/> within one L2 table; returns bytes handled.</summary>
    private long DropClusters(long offset, long end)
    {
        long cluster = offset >> _g.ClusterBits;
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        long tableEnd = (l1Index + 1) << (_g.L2Bits + _g.ClusterBits);
        long runEnd = Math.Min(end, tableEnd);
        int count = (int)((runEnd - offset) >> _g.ClusterBits);
        if (l1Index >= _l1.Length || (_l1[l1Index] & L2Entry.OffsetMask) == 0)
        {
            return runEnd - offset;
        }

        int slot = GetL2SlotForWrite(l1Index);
        Span<byte> table = _l2Cache.Table(slot);
        for (int i = 0; i < count; i++)
        {
            ulong old = ReadL2(table, l2Index + i);
            if (old == 0 && (!_g.ExtendedL2 || ReadL2Bitmap(table, l2Index + i) == 0))
            {
                continue;
            }

            ReleaseEntry(old);
            WriteL2(table, l2Index + i, 0);
            if (_g.ExtendedL2)
            {
                WriteL2Bitmap(table, l2Index + i, 0);
            }
        }

        _l2Cache.MarkDirty(slot);
        return runEnd - offset;
    }

    /// <summary>Writes the new virtual size into the header (one field, flushed).</summary>
    private void SetVirtualSize(long size)
    {
        WriteHeaderUInt64(Qcow2Header.SizeOffset, (ulong)size);
        _file.DataSync();
        _header.Size = (ulong)size;
    }

    /// <summary>Moves the active L1 table to a larger one; the header switches to it in one write.</summary>
    private void GrowL1(uint newSize)
    {
        if (newSize > Qcow2Header.MaxL1Bytes / 8)
        {
            throw new StorageException($"'{Path}' would need an L1 table larger than qcow2 allows");
        }

        FlushMetadata();
        long bytes = newSize * 8L;
        long clusters = _g.ClustersFor(bytes);
        long offset = _refcounts.AllocateClusters(clusters);
        var raw = new byte[clusters << _g.ClusterBits];
        for (int i = 0; i < _l1.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), _l1[i]);
        }

        CheckDataTarget(offset, raw.Length);
        WriteHostData(offset, raw);
        EnsureFileCoversAllocations();
        _refcounts.WriteBack();
        _file.DataSync();

        Span<byte> fields = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(fields, newSize);
        BinaryPrimitives.WriteUInt64BigEndian(fields[4..], (ulong)offset);
        _file.Write(Qcow2Header.L1SizeOffset, fields);
        _file.DataSync();

        long oldOffset = (long)_header.L1TableOffset;
        long oldBytes = _l1.Length * 8L;
        var l1 = new ulong[newSize];
        Array.Copy(_l1, l1, _l1.Length);
        _l1 = l1;
        _header.L1Size = newSize;
        _header.L1TableOffset = (ulong)offset;
        if (oldBytes > 0)
        {
            _refcounts.Free(oldOffset, oldBytes);
        }
    }
}
