using System.Buffers.Binary;

namespace Vessel.Storage.Qcow2;

/// <summary>The read path: L1 → L2 (cached) → host data, backing image, zeroes or a compressed cluster.</summary>
public sealed partial class Qcow2Image
{
    public override void Read(long offset, Span<byte> buffer)
    {
        CheckRequest(offset, buffer.Length, write: false);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                ReadLocked(offset, buffer);
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    /// <summary>Reads guest data; the range may extend into the last cluster past the virtual size.</summary>
    private void ReadLocked(long offset, Span<byte> buffer) => ReadTree(_l1, offset, buffer, throughBacking: true);

    /// <summary>
    /// Reads through the tree of <paramref name="l1"/> (the active one, or a snapshot's when its VM
    /// state is read); where the tree maps nothing, the backing image shows through only when
    /// <paramref name="throughBacking"/>, zeroes otherwise.
    /// </summary>
    private void ReadTree(ulong[] l1, long offset, Span<byte> buffer, bool throughBacking)
    {
        while (buffer.Length > 0)
        {
            int done = ReadRun(l1, offset, buffer, throughBacking);
            offset += done;
            buffer = buffer[done..];
        }
    }

    /// <summary>Reads the longest run that is uniform within one L2 table; returns the bytes done.</summary>
    private int ReadRun(ulong[] l1, long offset, Span<byte> buffer, bool throughBacking)
    {
        long cluster = offset >> _g.ClusterBits;
        int inCluster = (int)(offset & _g.ClusterMask);
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        long tableEnd = (l1Index + 1) << (_g.L2Bits + _g.ClusterBits);
        int maxRun = (int)Math.Min(buffer.Length, tableEnd - offset);
        long l2Offset = l1Index < l1.Length ? (long)(l1[l1Index] & L2Entry.OffsetMask) : 0;
        if (l2Offset == 0)
        {
            ReadUnallocated(offset, buffer[..maxRun], throughBacking);
            return maxRun;
        }

        int slot = GetL2Slot(l1Index, l2Offset);
        if (_g.ExtendedL2)
        {
            return ReadExtendedCluster(slot, l2Index, offset, buffer[..Math.Min(maxRun, _g.ClusterSize - inCluster)], throughBacking);
        }

        ReadOnlySpan<byte> table = _l2Cache.Table(slot);
        ulong entry = ReadL2(table, l2Index);
        ClusterKind kind = L2Entry.Kind(entry, _g);
        int firstLength = Math.Min(maxRun, _g.ClusterSize - inCluster);
        int run = firstLength;
        switch (kind)
        {
            case ClusterKind.Unallocated:
                while (run < maxRun && L2Entry.Kind(ReadL2(table, l2Index + (run + inCluster) / _g.ClusterSize), _g) == ClusterKind.Unallocated)
                {
                    run = Math.Min(maxRun, run + _g.ClusterSize);
                }

                ReadUnallocated(offset, buffer[..run], throughBacking);
                return run;

            case ClusterKind.ZeroPlain:
            case ClusterKind.ZeroAllocated:
                while (run < maxRun && L2Entry.Kind(ReadL2(table, l2Index + (run + inCluster) / _g.ClusterSize), _g) is ClusterKind.ZeroPlain or ClusterKind.ZeroAllocated)
                {
                    run = Math.Min(maxRun, run + _g.ClusterSize);
                }

                buffer[..run].Clear();
                return run;

            case ClusterKind.Normal:
                long host = ValidateDataCluster(entry, cluster);
                while (run < maxRun)
                {
                    int nextIndex = l2Index + ((run + inCluster) / _g.ClusterSize);
                    ulong next = ReadL2(table, nextIndex);
                    if (L2Entry.Kind(next, _g) != ClusterKind.Normal || L2Entry.HostOffset(next) != host + ((long)(nextIndex - l2Index) << _g.ClusterBits))
                    {
                        break;
                    }

                    ValidateDataCluster(next, cluster + nextIndex - l2Index);
                    run = Math.Min(maxRun, run + _g.ClusterSize);
                }

                ReadHost(host + inCluster, buffer[..run]);
                return run;

            default:
                ReadCompressedCluster(entry, cluster);
                _decompressed.AsSpan(inCluster, firstLength).CopyTo(buffer);
                return firstLength;
        }
    }

    /// <summary>Extended L2 entries: 32 subclusters per cluster, each allocated, zero or unallocated.</summary>
    private int ReadExtendedCluster(int slot, int l2Index, long offset, Span<byte> buffer, bool throughBacking)
    {
        ReadOnlySpan<byte> table = _l2Cache.Table(slot);
        long cluster = offset >> _g.ClusterBits;
        int inCluster = (int)(offset & _g.ClusterMask);
        ulong entry = ReadL2(table, l2Index);
        ulong bitmap = ReadL2Bitmap(table, l2Index);
        if ((entry & L2Entry.CompressedFlag) != 0)
        {
            ReadCompressedCluster(entry, cluster);
            _decompressed.AsSpan(inCluster, buffer.Length).CopyTo(buffer);
            return buffer.Length;
        }

        long host = L2Entry.HostOffset(entry);
        if ((uint)bitmap != 0)
        {
            ValidateDataCluster(entry, cluster);
        }

        int done = 0;
        int subSize = _g.SubclusterSize;
        while (done < buffer.Length)
        {
            int position = inCluster + done;
            int sub = position / subSize;
            SubclusterState state = SubclusterStateOf(bitmap, sub, cluster);
            int end = (sub + 1) * subSize;
            while (end < _g.ClusterSize && end < inCluster + buffer.Length && SubclusterStateOf(bitmap, end / subSize, cluster) == state)
            {
                end += subSize;
            }

            int length = Math.Min(end, inCluster + buffer.Length) - position;
            Span<byte> part = buffer.Slice(done, length);
            switch (state)
            {
                case SubclusterState.Allocated:
                    ReadHost(host + position, part);
                    break;
                case SubclusterState.Zero:
                    part.Clear();
                    break;
                default:
                    ReadUnallocated(offset + done, part, throughBacking);
                    break;
            }

            done += length;
        }

        return done;
    }

    private enum SubclusterState
    {
        Unallocated,
        Allocated,
        Zero,
    }

    private SubclusterState SubclusterStateOf(ulong bitmap, int sub, long cluster)
    {
        bool allocated = (bitmap & (1UL << sub)) != 0;
        bool zero = (bitmap & (1UL << (sub + 32))) != 0;
        if (allocated && zero)
        {
            throw Corruption($"guest cluster {cluster} has subcluster {sub} marked both allocated and zero");
        }

        return allocated ? SubclusterState.Allocated : zero ? SubclusterState.Zero : SubclusterState.Unallocated;
    }

    /// <summary>Reads what lies below this layer: the backing image up to its end, zeroes past it.</summary>
    private void ReadUnallocated(long offset, Span<byte> buffer, bool throughBacking)
    {
        if (!throughBacking || _backing is null || offset >= _backing.Length)
        {
            buffer.Clear();
            return;
        }

        int fromBacking = (int)Math.Min(buffer.Length, _backing.Length - offset);
        _backing.Read(offset, buffer[..fromBacking]);
        buffer[fromBacking..].Clear();
    }

    private void ReadHost(long hostOffset, Span<byte> buffer) => _file.ReadZeroPadded(hostOffset, buffer);

    /// <summary>Checks a standard entry's host cluster: aligned, past the header, inside the file.</summary>
    private long ValidateDataCluster(ulong entry, long guestCluster)
    {
        long host = L2Entry.HostOffset(entry);
        if ((host & _g.ClusterMask) != 0)
        {
            throw Corruption($"the L2 entry of guest cluster {guestCluster} points to unaligned offset 0x{host:x}");
        }

        if (host == 0 || host < _g.ClusterSize)
        {
            throw Corruption($"the L2 entry of guest cluster {guestCluster} points into the header");
        }

        if (host >= HostBound)
        {
            throw Corruption($"the L2 entry of guest cluster {guestCluster} points to 0x{host:x}, past the end of the file");
        }

        return host;
    }

    /// <summary>The cache slot of the L2 table at <paramref name="l2Offset"/>, after checking the offset.</summary>
    private int GetL2Slot(long l1Index, long l2Offset)
    {
        if ((l2Offset & _g.ClusterMask) != 0)
        {
            throw Corruption($"L1 entry {l1Index} points to an unaligned L2 table at 0x{l2Offset:x}");
        }

        if (l2Offset < _g.ClusterSize)
        {
            throw Corruption($"L1 entry {l1Index} points to an L2 table inside the header");
        }

        if (l2Offset >= HostBound)
        {
            throw Corruption($"L1 entry {l1Index} points to an L2 table at 0x{l2Offset:x}, past the end of the file");
        }

        return _l2Cache.Get(l2Offset);
    }

    private ulong ReadL2(ReadOnlySpan<byte> table, int index) =>
        BinaryPrimitives.ReadUInt64BigEndian(table[(index * _g.L2EntrySize)..]);

    private ulong ReadL2Bitmap(ReadOnlySpan<byte> table, int index) =>
        BinaryPrimitives.ReadUInt64BigEndian(table[((index * _g.L2EntrySize) + 8)..]);

    private void WriteL2(Span<byte> table, int index, ulong entry) =>
        BinaryPrimitives.WriteUInt64BigEndian(table[(index * _g.L2EntrySize)..], entry);

    private void WriteL2Bitmap(Span<byte> table, int index, ulong bitmap) =>
        BinaryPrimitives.WriteUInt64BigEndian(table[((index * _g.L2EntrySize) + 8)..], bitmap);
}
