using System.Buffers.Binary;
using Vessel.Storage.Host;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// The refcount table and refcount blocks: how many references each host cluster has, and the
/// cluster allocator built on them. Refcount blocks go through a write-back cache; new blocks
/// and a grown table are written and flushed before anything points at them, so a crash at any
/// moment leaves at worst leaked clusters.
/// </summary>
internal sealed class Refcounts
{
    private const int MaxAllocationAttempts = 256;

    private readonly HostFile _file;
    private readonly Qcow2Geometry _g;
    private readonly Qcow2Header _header;
    private readonly string _path;
    private readonly TableCache _blocks;
    private ulong[] _table;
    private HashSet<int>? _invalidBlocks;
    private long _freeHint;
    private long _compressedNext;

    public Refcounts(HostFile file, Qcow2Geometry g, Qcow2Header header, string path, long fileLength, int cacheTables)
    {
        _file = file;
        _g = g;
        _header = header;
        _path = path;
        _blocks = new TableCache(file, g.ClusterSize, cacheTables);
        _table = LoadTable(fileLength);
        AllocatedEnd = RoundUp(fileLength);
    }

    /// <summary>Called with the index of every cluster whose refcount drops to zero.</summary>
    public Action<long>? ClusterFreed { get; set; }

    /// <summary>Whether barriers between metadata writes are skipped (lazy refcounts: the image is marked dirty).</summary>
    public bool Lazy { get; set; }

    /// <summary>End of the last cluster ever allocated or present in the file: the file must be at least this long.</summary>
    public long AllocatedEnd { get; private set; }

    public long TableOffset => (long)_header.RefcountTableOffset;

    public int TableClusters => (int)_header.RefcountTableClusters;

    public int TableEntries => _table.Length;

    public ulong TableEntry(int index) => _table[index];

    public bool HasDirty => _blocks.HasDirty;

    public bool IsCachedBlock(long offset) => _blocks.Contains(offset);

    public IEnumerable<long> CachedBlocks => _blocks.CachedOffsets;

    private ulong[] LoadTable(long fileLength)
    {
        int bytes = (int)_header.RefcountTableClusters * _g.ClusterSize;
        var raw = new byte[bytes];
        _file.ReadZeroPadded((long)_header.RefcountTableOffset, raw);
        var table = new ulong[bytes / 8];
        long limit = RoundUp(fileLength);
        for (int i = 0; i < table.Length; i++)
        {
            ulong entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            table[i] = entry;
            if (entry != 0 && DescribeInvalidBlock(entry, limit) is not null)
            {
                (_invalidBlocks ??= []).Add(i);
            }
        }

        return table;
    }

    /// <summary>Why a refcount table entry cannot be used, or null when it is fine.</summary>
    public string? DescribeInvalidBlock(ulong entry, long fileLimit)
    {
        if ((entry & (ulong)_g.ClusterMask) != 0)
        {
            return $"has an unaligned offset 0x{entry:x}";
        }

        if (entry < (ulong)_g.ClusterSize)
        {
            return "overlaps the header";
        }

        if (entry >= (ulong)fileLimit || entry >= (ulong)Qcow2Geometry.MaxHostOffset)
        {
            return $"lies at 0x{entry:x}, beyond the end of the file";
        }

        return null;
    }

    private ulong BlockOffset(long block)
    {
        ulong offset = _table[block];
        if (offset != 0 && _invalidBlocks is not null && _invalidBlocks.Contains((int)block))
        {
            throw Qcow2Header.Corrupt(_path, $"refcount block {block} {DescribeInvalidBlock(offset, RoundUp(_file.EndOfFile))}");
        }

        return offset;
    }

    private long RoundUp(long bytes) => (bytes + _g.ClusterMask) & ~_g.ClusterMask;

    public ulong Get(long cluster)
    {
        long block = cluster >> _g.RefcountBlockBits;
        if (block >= _table.Length || _table[block] == 0)
        {
            return 0;
        }

        int slot = _blocks.Get((long)BlockOffset(block));
        return ReadEntry(_blocks.Table(slot), cluster & (_g.RefcountBlockEntries - 1));
    }

    /// <summary>Adds <paramref name="delta"/> to the refcount of one cluster, allocating its refcount block if needed.</summary>
    public void Change(long cluster, long delta)
    {
        long block = cluster >> _g.RefcountBlockBits;
        if (block >= _table.Length || _table[block] == 0)
        {
            if (delta < 0)
            {
                throw Qcow2Header.Corrupt(_path, $"cluster {cluster} is freed but has no refcount");
            }

            EnsureBlock(block);
        }

        int slot = _blocks.Get((long)BlockOffset(block));
        Span<byte> table = _blocks.Table(slot);
        long index = cluster & (_g.RefcountBlockEntries - 1);
        ulong value = ReadEntry(table, index);
        ulong updated;
        if (delta >= 0)
        {
            if ((ulong)delta > _g.MaxRefcount - value)
            {
                throw new StorageException($"the refcount of a cluster in '{_path}' would overflow its {_g.RefcountBits}-bit width");
            }

            updated = value + (ulong)delta;
        }
        else
        {
            if ((ulong)(-delta) > value)
            {
                throw Qcow2Header.Corrupt(_path, $"the refcount of cluster {cluster} would drop below zero");
            }

            updated = value - (ulong)(-delta);
        }

        WriteEntry(table, index, updated);
        _blocks.MarkDirty(slot);
        if (updated == 0)
        {
            if (cluster < _freeHint)
            {
                _freeHint = cluster;
            }

            if (_compressedNext != 0 && (_compressedNext >> _g.ClusterBits) == cluster)
            {
                _compressedNext = 0;
            }

            ClusterFreed?.Invoke(cluster);
        }
    }

    /// <summary>Sets a refcount outright (repairs only).</summary>
    public void Set(long cluster, ulong value)
    {
        ulong current = Get(cluster);
        if (value > current)
        {
            Change(cluster, (long)(value - current));
        }
        else if (value < current)
        {
            Change(cluster, -(long)(current - value));
        }
    }

    /// <summary>Decrements every cluster touched by a byte range (a freed data cluster, table or compressed extent).</summary>
    public void Free(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        long first = offset >> _g.ClusterBits;
        long last = (offset + length - 1) >> _g.ClusterBits;
        for (long c = first; c <= last; c++)
        {
            Change(c, -1);
        }
    }

    /// <summary>Adds one reference to every cluster touched by a byte range.</summary>
    public void Reference(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        long first = offset >> _g.ClusterBits;
        long last = (offset + length - 1) >> _g.ClusterBits;
        for (long c = first; c <= last; c++)
        {
            Change(c, 1);
        }
    }

    /// <summary>Allocates <paramref name="count"/> contiguous free clusters (refcount 1 each); returns the host offset.</summary>
    public long AllocateClusters(long count)
    {
        for (int attempt = 0; attempt < MaxAllocationAttempts; attempt++)
        {
            long start = FindFree(count);
            EnsureBlocks(start, count);

            // Placing refcount blocks may have used clusters of the run we found: look again.
            if (!AllFree(start, count))
            {
                continue;
            }

            for (long c = start; c < start + count; c++)
            {
                Change(c, 1);
            }

            if (start == _freeHint)
            {
                _freeHint = start + count;
            }

            AllocatedEnd = Math.Max(AllocatedEnd, (start + count) << _g.ClusterBits);
            return start << _g.ClusterBits;
        }

        throw new StorageException($"cannot find free space in '{_path}' for {count} clusters");
    }

    /// <summary>
    /// Allocates <paramref name="size"/> bytes for compressed data, packed after the previous
    /// compressed cluster as QEMU does; every host cluster touched gets one more reference.
    /// </summary>
    public long AllocateBytes(int size)
    {
        if (_compressedNext != 0)
        {
            long offset = _compressedNext;
            long first = offset >> _g.ClusterBits;
            long last = (offset + size - 1) >> _g.ClusterBits;
            if (Get(first) < _g.MaxRefcount && (last == first || (last == first + 1 && ClaimCluster(last))))
            {
                Change(first, 1);
                SetCompressedNext(offset + size);
                return offset;
            }
        }

        long start = AllocateClusters(_g.ClustersFor(size));
        SetCompressedNext(start + size);
        return start;
    }

    private void SetCompressedNext(long next) =>
        _compressedNext = (next & _g.ClusterMask) == 0 ? 0 : next;

    /// <summary>Takes one specific cluster if it is free (refcount 1 afterwards).</summary>
    private bool ClaimCluster(long cluster)
    {
        if (Get(cluster) != 0)
        {
            return false;
        }

        EnsureBlocks(cluster, 1);
        if (Get(cluster) != 0)
        {
            return false;
        }

        Change(cluster, 1);
        AllocatedEnd = Math.Max(AllocatedEnd, (cluster + 1) << _g.ClusterBits);
        return true;
    }

    private bool AllFree(long start, long count)
    {
        for (long c = start; c < start + count; c++)
        {
            if (Get(c) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first run of <paramref name="count"/> free clusters at or after the free hint.</summary>
    private long FindFree(long count)
    {
        long maxCluster = Qcow2Geometry.MaxHostOffset >> _g.ClusterBits;
        long c = _freeHint;
        long runStart = c;
        long run = 0;
        long firstFree = -1;
        long mask = _g.RefcountBlockEntries - 1;
        while (true)
        {
            if (c + count > maxCluster)
            {
                throw new StorageException($"'{_path}' has no room left for new clusters below the 64 PiB qcow2 limit");
            }

            long block = c >> _g.RefcountBlockBits;
            long regionEnd = (block + 1) << _g.RefcountBlockBits;
            if (block >= _table.Length || _table[block] == 0)
            {
                // No refcount block: every cluster of the region is free.
                if (firstFree < 0)
                {
                    firstFree = c;
                }

                if (run == 0)
                {
                    runStart = c;
                }

                run += regionEnd - c;
                if (run >= count)
                {
                    _freeHint = firstFree;
                    return runStart;
                }

                c = regionEnd;
                continue;
            }

            int slot = _blocks.Get((long)BlockOffset(block));
            byte[] table = _blocks.TableArray(slot);
            for (; c < regionEnd; c++)
            {
                if (ReadEntry(table, c & mask) == 0)
                {
                    if (firstFree < 0)
                    {
                        firstFree = c;
                    }

                    if (run == 0)
                    {
                        runStart = c;
                    }

                    if (++run == count)
                    {
                        _freeHint = firstFree;
                        return runStart;
                    }
                }
                else
                {
                    run = 0;
                }
            }
        }
    }

    private void EnsureBlocks(long start, long count)
    {
        long firstBlock = start >> _g.RefcountBlockBits;
        long lastBlock = (start + count - 1) >> _g.RefcountBlockBits;
        for (long b = firstBlock; b <= lastBlock; b++)
        {
            EnsureBlock(b);
        }
    }

    /// <summary>Makes sure refcount block <paramref name="block"/> exists, growing the table if needed.</summary>
    private void EnsureBlock(long block)
    {
        for (int attempt = 0; attempt < MaxAllocationAttempts; attempt++)
        {
            if (block >= _table.Length)
            {
                GrowTable(block + 1);
                continue;
            }

            if (_table[block] != 0)
            {
                return;
            }

            long c = FindFree(1);
            long region = c >> _g.RefcountBlockBits;
            if (region >= _table.Length)
            {
                GrowTable(region + 1);
                continue;
            }

            if (_table[region] == 0)
            {
                // The block describes the region it lives in: it counts itself.
                WriteNewBlock(region, c, selfReferencing: true);
                continue;
            }

            // The block lives in a region that already has a block: count it there first.
            Change(c, 1);
            AllocatedEnd = Math.Max(AllocatedEnd, (c + 1) << _g.ClusterBits);
            _blocks.WriteBack();
            _file.DataSync();
            WriteNewBlock(block, c, selfReferencing: false);
        }

        throw new StorageException($"cannot allocate a refcount block in '{_path}'");
    }

    private void WriteNewBlock(long region, long cluster, bool selfReferencing)
    {
        var content = new byte[_g.ClusterSize];
        if (selfReferencing)
        {
            WriteEntry(content, cluster & (_g.RefcountBlockEntries - 1), 1);
        }

        long offset = cluster << _g.ClusterBits;
        _file.Write(offset, content);
        _file.DataSync();
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, (ulong)offset);
        _file.Write(TableOffset + (region * 8), entry);
        _file.DataSync();
        _table[region] = (ulong)offset;
        _blocks.Insert(offset, content);
        AllocatedEnd = Math.Max(AllocatedEnd, offset + _g.ClusterSize);
        if (cluster == _freeHint)
        {
            _freeHint = cluster + 1;
        }
    }

    /// <summary>
    /// Moves the refcount table to a larger one placed, with the refcount blocks describing it,
    /// in the first region no existing block covers. Everything new is written and flushed
    /// before the header switches to it; the old table is freed afterwards.
    /// </summary>
    private void GrowTable(long minEntries)
    {
        int cs = _g.ClusterSize;
        long perBlock = _g.RefcountBlockEntries;
        long firstRegion = _table.Length;
        long entries = Math.Max(minEntries, Math.Max(_table.Length * 2L, firstRegion + 1));
        long tableClusters;
        long blocks;
        while (true)
        {
            tableClusters = ((entries * 8) + cs - 1) / cs;
            blocks = 1;
            while (true)
            {
                long needed = (blocks + tableClusters + perBlock - 1) / perBlock;
                if (needed <= blocks)
                {
                    break;
                }

                blocks = needed;
            }

            if (entries >= firstRegion + blocks)
            {
                break;
            }

            entries = firstRegion + blocks;
        }

        if (tableClusters * cs > Qcow2Header.MaxRefcountTableBytes)
        {
            throw new StorageException($"'{_path}' has grown as large as its refcount table allows");
        }

        long baseCluster = firstRegion * perBlock;
        long end = baseCluster + blocks + tableClusters;
        if (end << _g.ClusterBits > Qcow2Geometry.MaxHostOffset)
        {
            throw new StorageException($"'{_path}' has no room left for a larger refcount table");
        }

        // Blocks first: each marks the new blocks and the new table as used.
        var blockContents = new byte[blocks][];
        for (int i = 0; i < blocks; i++)
        {
            blockContents[i] = new byte[cs];
        }

        for (long c = baseCluster; c < end; c++)
        {
            long region = (c / perBlock) - firstRegion;
            WriteEntry(blockContents[region], c % perBlock, 1);
        }

        entries = tableClusters * cs / 8;
        var newTable = new ulong[entries];
        Array.Copy(_table, newTable, _table.Length);
        for (int i = 0; i < blocks; i++)
        {
            newTable[firstRegion + i] = (ulong)((baseCluster + i) << _g.ClusterBits);
            _file.Write((baseCluster + i) << _g.ClusterBits, blockContents[i]);
        }

        var rawTable = new byte[tableClusters * cs];
        for (int i = 0; i < newTable.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(rawTable.AsSpan(i * 8), newTable[i]);
        }

        long tableOffset = (baseCluster + blocks) << _g.ClusterBits;
        _file.Write(tableOffset, rawTable);
        _file.DataSync();

        Span<byte> headerFields = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(headerFields, (ulong)tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(headerFields[8..], (uint)tableClusters);
        _file.Write(Qcow2Header.RefcountTableOffsetOffset, headerFields);
        _file.DataSync();

        long oldOffset = TableOffset;
        long oldClusters = TableClusters;
        _header.RefcountTableOffset = (ulong)tableOffset;
        _header.RefcountTableClusters = (uint)tableClusters;
        _table = newTable;
        for (int i = 0; i < blocks; i++)
        {
            _blocks.Insert((baseCluster + i) << _g.ClusterBits, blockContents[i]);
        }

        AllocatedEnd = Math.Max(AllocatedEnd, end << _g.ClusterBits);
        Free(oldOffset, oldClusters * cs);
    }

    /// <summary>Writes dirty refcount blocks; returns whether anything was written.</summary>
    public bool WriteBack() => _blocks.WriteBack();

    /// <summary>Highest cluster index with a non-zero refcount, or -1.</summary>
    public long LastUsedCluster()
    {
        for (long b = _table.Length - 1; b >= 0; b--)
        {
            if (_table[b] == 0)
            {
                continue;
            }

            int slot = _blocks.Get((long)BlockOffset(b));
            byte[] table = _blocks.TableArray(slot);
            for (long i = _g.RefcountBlockEntries - 1; i >= 0; i--)
            {
                if (ReadEntry(table, i) != 0)
                {
                    return (b << _g.RefcountBlockBits) + i;
                }
            }
        }

        return -1;
    }

    public ulong ReadEntry(ReadOnlySpan<byte> block, long index) => ReadEntry(_g, block, index);

    public void WriteEntry(Span<byte> block, long index, ulong value) => WriteEntry(_g, block, index, value);

    /// <summary>Reads entry <paramref name="index"/> of a refcount block of any width (sub-byte widths: bit 0 is the least significant).</summary>
    public static ulong ReadEntry(Qcow2Geometry g, ReadOnlySpan<byte> block, long index)
    {
        switch (g.RefcountOrder)
        {
            case 0:
            case 1:
            case 2:
                int bits = g.RefcountBits;
                long bit = index * bits;
                return (ulong)((block[(int)(bit >> 3)] >> (int)(bit & 7)) & ((1 << bits) - 1));
            case 3:
                return block[(int)index];
            case 4:
                return BinaryPrimitives.ReadUInt16BigEndian(block[(int)(index * 2)..]);
            case 5:
                return BinaryPrimitives.ReadUInt32BigEndian(block[(int)(index * 4)..]);
            default:
                return BinaryPrimitives.ReadUInt64BigEndian(block[(int)(index * 8)..]);
        }
    }

    public static void WriteEntry(Qcow2Geometry g, Span<byte> block, long index, ulong value)
    {
        switch (g.RefcountOrder)
        {
            case 0:
            case 1:
            case 2:
                int bits = g.RefcountBits;
                long bit = index * bits;
                int mask = ((1 << bits) - 1) << (int)(bit & 7);
                ref byte b = ref block[(int)(bit >> 3)];
                b = (byte)((b & ~mask) | (((int)value << (int)(bit & 7)) & mask));
                break;
            case 3:
                block[(int)index] = (byte)value;
                break;
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(block[(int)(index * 2)..], (ushort)value);
                break;
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(block[(int)(index * 4)..], (uint)value);
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(block[(int)(index * 8)..], value);
                break;
        }
    }
}
