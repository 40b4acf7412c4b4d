using System.Buffers.Binary;

namespace Vessel.Storage.Qcow2;

/// <summary>The consistency check behind <see cref="Qcow2Check"/>, and its repairs.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>Checks the image like qemu-img check; with a repair, fixes and checks again.</summary>
    public CheckResult Check(CheckRepair repair)
    {
        if (repair != CheckRepair.None && IsReadOnly)
        {
            throw new StorageException($"cannot repair '{Path}': it is open read-only");
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (repair != CheckRepair.None)
            {
                // A staged VM state is referenced by nothing on disk: a repair would free it.
                EnsureNoVmStateBeingWritten("repair");
            }

            FlushMetadata();
            CheckResult first = CheckPass(repair);
            if (repair == CheckRepair.None)
            {
                return first;
            }

            FlushMetadata();
            _file.DataSync();
            CheckResult final = CheckPass(CheckRepair.None);
            final.LeaksFixed = first.LeaksFixed;
            final.CorruptionsFixed = first.CorruptionsFixed;
            final.Messages.InsertRange(0, first.Messages);
            if (final.Corruptions == 0 && final.CheckErrors == 0 && _header.IsCorrupt)
            {
                SetIncompatibleBit(Qcow2Features.Corrupt, false);
                _corrupt = false;
            }

            return final;
        }
    }

    private sealed class CheckState(long fileClusters, CheckResult result)
    {
        public uint[] References { get; } = new uint[fileClusters];
        public List<long> RefcountMetadata { get; } = [];
        public CheckResult Result { get; } = result;
        public bool RefcountStructureBroken { get; set; }
        public long NextContiguous { get; set; } = -1;
    }

    private CheckResult CheckPass(CheckRepair repair)
    {
        var result = new CheckResult { Filename = Path, Format = "qcow2", TotalClusters = _g.ClustersFor(Length) };
        long fileEnd = RoundUpToCluster(FileEnd);
        long fileClusters = fileEnd >> _g.ClusterBits;
        var state = new CheckState(fileClusters, result);

        Reference(state, 0, _g.ClusterSize);
        WalkTree(state, _l1, (long)_header.L1TableOffset, active: true, repair == CheckRepair.All);
        foreach (Snapshots.Qcow2Snapshot snapshot in _snapshots)
        {
            WalkTree(state, ReadL1(snapshot.L1TableOffset, snapshot.L1Size), snapshot.L1TableOffset, active: false, repair: false);
        }

        if (_header.SnapshotCount > 0)
        {
            Reference(state, (long)_header.SnapshotsOffset, _snapshotTableBytes);
        }

        Reference(state, _refcounts.TableOffset, (long)_refcounts.TableClusters * _g.ClusterSize);
        AddRange(state.RefcountMetadata, _refcounts.TableOffset, (long)_refcounts.TableClusters * _g.ClusterSize);
        for (int i = 0; i < _refcounts.TableEntries; i++)
        {
            ulong block = _refcounts.TableEntry(i);
            if (block == 0)
            {
                continue;
            }

            string? problem = _refcounts.DescribeInvalidBlock(block, fileEnd);
            if (problem is not null)
            {
                Error(state, $"ERROR refcount block {i} {problem}");
                state.RefcountStructureBroken = true;
                continue;
            }

            Reference(state, (long)block, _g.ClusterSize);
            state.RefcountMetadata.Add((long)block >> _g.ClusterBits);
        }

        WalkBitmaps(state, fileEnd);
        CompareRefcounts(state, repair);
        CheckCopiedFlags(state, repair == CheckRepair.All);

        long highest = -1;
        for (long c = state.References.Length - 1; c >= 0; c--)
        {
            if (state.References[c] != 0)
            {
                highest = c;
                break;
            }
        }

        result.ImageEndOffset = (highest + 1) << _g.ClusterBits;
        return result;
    }

    private void AddRange(List<long> clusters, long offset, long length)
    {
        for (long c = offset >> _g.ClusterBits; c <= (offset + length - 1) >> _g.ClusterBits; c++)
        {
            clusters.Add(c);
        }
    }

    private static void Error(CheckState state, string message)
    {
        state.Result.Messages.Add(message);
        state.Result.Corruptions++;
    }

    /// <summary>Counts one reference on every cluster a byte range touches.</summary>
    private void Reference(CheckState state, long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        long first = offset >> _g.ClusterBits;
        long last = (offset + length - 1) >> _g.ClusterBits;
        for (long c = first; c <= last; c++)
        {
            if (c >= state.References.Length)
            {
                Error(state, $"ERROR cluster {c} is referenced but lies beyond the end of the image");
                continue;
            }

            if (state.References[c] < uint.MaxValue)
            {
                state.References[c]++;
            }
        }
    }

    private bool InsideFile(long offset, long length, long fileEnd) => offset >= _g.ClusterSize && offset < fileEnd && length <= fileEnd - offset;

    private void WalkTree(CheckState state, ulong[] l1, long l1Offset, bool active, bool repair)
    {
        long fileEnd = RoundUpToCluster(FileEnd);
        if (l1.Length > 0)
        {
            Reference(state, l1Offset, l1.Length * 8L);
        }

        for (int i = 0; i < l1.Length; i++)
        {
            ulong l1Entry = l1[i];
            long l2Offset = (long)(l1Entry & L2Entry.OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            if ((l1Entry & L2Entry.L1ReservedMask) != 0)
            {
                Error(state, $"ERROR found L1 entry with reserved bits set: {l1Entry:x}");
            }

            if ((l2Offset & _g.ClusterMask) != 0 || !InsideFile(l2Offset, _g.ClusterSize, fileEnd))
            {
                string why = (l2Offset & _g.ClusterMask) != 0 ? "Table is not cluster aligned" : "Table lies outside the image";
                if (repair && active)
                {
                    state.Result.Messages.Add($"Repairing l2_offset={l2Offset:x}: {why}; L1 entry corrupted");
                    state.Result.CorruptionsFixed++;
                    _l1[i] = 0;
                    MarkL1Dirty(i);
                }
                else
                {
                    Error(state, $"ERROR l2_offset={l2Offset:x}: {why}; L1 entry corrupted");
                }

                continue;
            }

            Reference(state, l2Offset, _g.ClusterSize);
            WalkL2(state, l2Offset, (long)i << _g.L2Bits, active, repair && active, fileEnd);
        }
    }

    private void WalkL2(CheckState state, long l2Offset, long firstGuestCluster, bool active, bool repair, long fileEnd)
    {
        for (int j = 0; j < _g.L2Entries; j++)
        {
            int slot = _l2Cache.Get(l2Offset);
            Span<byte> table = _l2Cache.Table(slot);
            ulong entry = ReadL2(table, j);
            ulong bitmap = _g.ExtendedL2 ? ReadL2Bitmap(table, j) : 0;
            ClusterKind kind = L2Entry.Kind(entry, _g);
            switch (kind)
            {
                case ClusterKind.Compressed:
                {
                    long offset = L2Entry.CompressedOffset(entry, _g);
                    int length = L2Entry.CompressedLength(entry, _g);
                    if (bitmap != 0)
                    {
                        Error(state, $"ERROR compressed cluster {firstGuestCluster + j} has a non-zero subcluster allocation bitmap");
                    }

                    if (offset < _g.ClusterSize || offset >= fileEnd)
                    {
                        FixOrReport(state, repair, l2Offset, j, $"compressed cluster data at 0x{offset:x} lies outside the image");
                        continue;
                    }

                    Reference(state, offset, Math.Min(length, fileEnd - offset));
                    if (active)
                    {
                        state.Result.AllocatedClusters++;
                        state.Result.CompressedClusters++;
                    }

                    break;
                }

                case ClusterKind.Normal:
                case ClusterKind.ZeroAllocated:
                {
                    long host = L2Entry.HostOffset(entry);
                    if ((host & _g.ClusterMask) != 0)
                    {
                        FixOrReport(state, repair, l2Offset, j, $"offset={host:x}: Cluster is not properly aligned; L2 entry corrupted");
                        continue;
                    }

                    if (!InsideFile(host, _g.ClusterSize, fileEnd))
                    {
                        FixOrReport(state, repair, l2Offset, j, $"offset={host:x}: Data cluster lies outside the image; L2 entry corrupted");
                        continue;
                    }

                    if ((entry & L2Entry.StandardReservedMask & ~L2Entry.ZeroFlag) != 0)
                    {
                        Error(state, $"ERROR found L2 entry with reserved bits set: {entry:x}");
                    }

                    if (_g.ExtendedL2 && (bitmap & (bitmap >> 32) & 0xffff_ffffUL) != 0)
                    {
                        Error(state, $"ERROR guest cluster {firstGuestCluster + j} has subclusters both allocated and zero");
                    }

                    Reference(state, host, _g.ClusterSize);
                    if (active)
                    {
                        state.Result.AllocatedClusters++;
                        if (state.NextContiguous >= 0 && host != state.NextContiguous)
                        {
                            state.Result.FragmentedClusters++;
                        }

                        state.NextContiguous = host + _g.ClusterSize;
                    }

                    break;
                }

                default:
                    if (_g.ExtendedL2 && (uint)bitmap != 0)
                    {
                        Error(state, $"ERROR guest cluster {firstGuestCluster + j} has allocated subclusters but no host cluster");
                    }

                    break;
            }
        }
    }

    private void FixOrReport(CheckState state, bool repair, long l2Offset, int index, string problem)
    {
        if (!repair)
        {
            Error(state, "ERROR " + problem);
            return;
        }

        state.Result.Messages.Add("Repairing " + problem);
        state.Result.CorruptionsFixed++;
        int slot = _l2Cache.Get(l2Offset);
        Span<byte> table = _l2Cache.Table(slot);
        if (_g.ExtendedL2)
        {
            WriteL2(table, index, 0);
            WriteL2Bitmap(table, index, L2Entry.AllZero);
        }
        else
        {
            WriteL2(table, index, _header.Version >= 3 ? L2Entry.ZeroFlag : 0);
        }

        _l2Cache.MarkDirty(slot);
    }

    /// <summary>Counts the bitmap directory, tables and data when the bitmaps extension is valid.</summary>
    private void WalkBitmaps(CheckState state, long fileEnd)
    {
        HeaderExtension? extension = _header.BitmapsExtension;
        if (extension is null || (_header.AutoclearFeatures & Qcow2Features.Bitmaps) == 0 || extension.Data.Length < 24)
        {
            return;
        }

        uint count = BinaryPrimitives.ReadUInt32BigEndian(extension.Data);
        long directorySize = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(extension.Data.AsSpan(8)), long.MaxValue);
        long directoryOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(extension.Data.AsSpan(16)), long.MaxValue);
        if ((directoryOffset & _g.ClusterMask) != 0 || directorySize > 64L * 1024 * 1024 || !InsideFile(directoryOffset, directorySize, fileEnd))
        {
            Error(state, "ERROR the bitmap directory lies outside the image");
            return;
        }

        Reference(state, directoryOffset, directorySize);
        var directory = new byte[directorySize];
        _file.ReadZeroPadded(directoryOffset, directory);
        int position = 0;
        for (int i = 0; i < count && position + 24 <= directory.Length; i++)
        {
            long tableOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(directory.AsSpan(position)), long.MaxValue);
            uint tableSize = BinaryPrimitives.ReadUInt32BigEndian(directory.AsSpan(position + 8));
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(directory.AsSpan(position + 18));
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(directory.AsSpan(position + 20));
            position += (int)Math.Min(((24L + extraSize + nameSize + 7) & ~7L), int.MaxValue - position);
            long tableBytes = tableSize * 8L;
            if ((tableOffset & _g.ClusterMask) != 0 || !InsideFile(tableOffset, tableBytes, fileEnd))
            {
                Error(state, $"ERROR bitmap table {i} lies outside the image");
                continue;
            }

            Reference(state, tableOffset, tableBytes);
            var table = new byte[tableBytes];
            _file.ReadZeroPadded(tableOffset, table);
            for (int j = 0; j < tableSize; j++)
            {
                long data = (long)(BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(j * 8)) & L2Entry.OffsetMask);
                if (data == 0)
                {
                    continue;
                }

                if ((data & _g.ClusterMask) != 0 || !InsideFile(data, _g.ClusterSize, fileEnd))
                {
                    Error(state, $"ERROR bitmap data cluster 0x{data:x} lies outside the image");
                    continue;
                }

                Reference(state, data, _g.ClusterSize);
            }
        }
    }

    private void CompareRefcounts(CheckState state, CheckRepair repair)
    {
        uint[] references = state.References;
        int refcountErrors = 0;
        var leaked = new List<long>();
        long regionSize = _g.RefcountBlockEntries;
        for (long c = 0; c < references.Length; c++)
        {
            ulong stored;
            try
            {
                stored = _refcounts.Get(c);
            }
            catch (ImageCorruptException)
            {
                // The whole region's refcount block is unusable; report it once.
                state.Result.Messages.Add($"ERROR cannot read the refcounts of clusters {c} to {c + regionSize - 1}");
                state.Result.CheckErrors++;
                state.RefcountStructureBroken = true;
                c = ((c / regionSize) + 1) * regionSize - 1;
                continue;
            }

            ulong computed = references[c];
            if (computed > _g.MaxRefcount)
            {
                Error(state, $"ERROR cluster {c} has {computed} references, more than {_g.RefcountBits}-bit refcounts can count");
                continue;
            }

            if (stored < computed)
            {
                refcountErrors++;
                state.Result.Messages.Add($"{(repair == CheckRepair.All ? "Repairing" : "ERROR")} cluster {c} refcount={stored} reference={computed}");
            }
            else if (stored > computed)
            {
                leaked.Add(c);
                state.Result.Messages.Add($"{(repair != CheckRepair.None ? "Repairing" : "Leaked")} cluster {c} refcount={stored} reference={computed}");
            }
        }

        if (repair == CheckRepair.All && (refcountErrors > 0 || state.RefcountStructureBroken))
        {
            state.Result.Messages.Add("Rebuilding refcount structure");
            RebuildRefcounts(state);
            state.Result.CorruptionsFixed += refcountErrors + (state.RefcountStructureBroken ? 1 : 0);
            state.Result.LeaksFixed += leaked.Count;
            state.Result.CheckErrors = 0;
            return;
        }

        state.Result.Corruptions += refcountErrors;
        if (repair != CheckRepair.None && !state.RefcountStructureBroken)
        {
            foreach (long c in leaked)
            {
                _refcounts.Set(c, references[c]);
            }

            state.Result.LeaksFixed += leaked.Count;
        }
        else
        {
            state.Result.Leaks += leaked.Count;
        }
    }

    /// <summary>
    /// Writes a whole new refcount structure from the computed references, after the end of the
    /// file (nothing live is touched), then switches the header to it. The old structure becomes
    /// free space.
    /// </summary>
    private void RebuildRefcounts(CheckState state)
    {
        uint[] counts = (uint[])state.References.Clone();
        foreach (long c in state.RefcountMetadata)
        {
            if (c < counts.Length && counts[c] > 0)
            {
                counts[c]--;
            }
        }

        (long tableOffset, long tableClusters) = WriteRefcountStructure(counts);
        _file.DataSync();

        Span<byte> fields = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(fields, (ulong)tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(fields[8..], (uint)tableClusters);
        _file.Write(Qcow2Header.RefcountTableOffsetOffset, fields);
        _file.DataSync();
        _header.RefcountTableOffset = (ulong)tableOffset;
        _header.RefcountTableClusters = (uint)tableClusters;
        bool lazy = _refcounts.Lazy;
        _refcounts = CreateRefcounts();
        _refcounts.Lazy = lazy;
    }

    /// <summary>
    /// Writes refcount blocks and a table holding <paramref name="counts"/> (one per cluster, the
    /// new structure's own clusters not included) from cluster <c>counts.Length</c> on, where
    /// nothing live is; returns where the table is. Nothing points at it yet.
    /// </summary>
    private (long TableOffset, long TableClusters) WriteRefcountStructure(uint[] counts)
    {
        long perBlock = _g.RefcountBlockEntries;
        var regions = new SortedSet<long>();
        for (long c = 0; c < counts.Length; c++)
        {
            if (counts[c] != 0)
            {
                regions.Add(c / perBlock);
                c = ((c / perBlock) + 1) * perBlock - 1;
            }
        }

        long start = counts.Length;
        long blocks = 0;
        long tableClusters = 1;
        SortedSet<long> all;
        while (true)
        {
            all = new SortedSet<long>(regions);
            for (long r = start / perBlock; r <= (start + blocks + tableClusters - 1) / perBlock; r++)
            {
                all.Add(r);
            }

            long entries = all.Max + 1;
            long newTableClusters = _g.ClustersFor(entries * 8);
            if (all.Count == blocks && newTableClusters == tableClusters)
            {
                break;
            }

            blocks = all.Count;
            tableClusters = newTableClusters;
        }

        if (tableClusters * _g.ClusterSize > Qcow2Header.MaxRefcountTableBytes)
        {
            throw new StorageException($"cannot rebuild the refcounts of '{Path}': the table would be too large");
        }

        long metadataEnd = start + blocks + tableClusters;
        var table = new byte[tableClusters << _g.ClusterBits];
        var block = new byte[_g.ClusterSize];
        long blockCluster = start;
        foreach (long region in all)
        {
            Array.Clear(block);
            for (long i = 0; i < perBlock; i++)
            {
                long c = (region * perBlock) + i;
                ulong value = c < counts.Length ? counts[c] : 0;
                if (c >= start && c < metadataEnd)
                {
                    value++;
                }

                if (value != 0)
                {
                    _refcounts.WriteEntry(block, i, Math.Min(value, _g.MaxRefcount));
                }
            }

            long offset = blockCluster << _g.ClusterBits;
            _file.Write(offset, block);
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan((int)(region * 8)), (ulong)offset);
            blockCluster++;
        }

        long tableOffset = blockCluster << _g.ClusterBits;
        _file.Write(tableOffset, table);
        return (tableOffset, tableClusters);
    }

    /// <summary>COPIED must be set exactly where the active tree's cluster has one reference.</summary>
    private void CheckCopiedFlags(CheckState state, bool repair)
    {
        for (int i = 0; i < _l1.Length; i++)
        {
            long l2Offset = (long)(_l1[i] & L2Entry.OffsetMask);
            if (l2Offset == 0 || (l2Offset & _g.ClusterMask) != 0 || !InsideFile(l2Offset, _g.ClusterSize, RoundUpToCluster(FileEnd)))
            {
                continue;
            }

            ulong refcount = SafeRefcount(l2Offset);
            bool copied = (_l1[i] & L2Entry.Copied) != 0;
            if ((refcount == 1) != copied && refcount != ulong.MaxValue)
            {
                if (repair)
                {
                    state.Result.Messages.Add($"Repairing OFLAG_COPIED L2 cluster: l1_index={i} l1_entry={_l1[i]:x} refcount={refcount}");
                    state.Result.CorruptionsFixed++;
                    _l1[i] = refcount == 1 ? _l1[i] | L2Entry.Copied : _l1[i] & ~L2Entry.Copied;
                    MarkL1Dirty(i);
                }
                else
                {
                    Error(state, $"ERROR OFLAG_COPIED L2 cluster: l1_index={i} l1_entry={_l1[i]:x} refcount={refcount}");
                }
            }

            for (int j = 0; j < _g.L2Entries; j++)
            {
                int slot = _l2Cache.Get(l2Offset);
                Span<byte> table = _l2Cache.Table(slot);
                ulong entry = ReadL2(table, j);
                if (L2Entry.Kind(entry, _g) is not (ClusterKind.Normal or ClusterKind.ZeroAllocated))
                {
                    continue;
                }

                long host = L2Entry.HostOffset(entry);
                if ((host & _g.ClusterMask) != 0 || !InsideFile(host, _g.ClusterSize, RoundUpToCluster(FileEnd)))
                {
                    continue;
                }

                refcount = SafeRefcount(host);
                copied = (entry & L2Entry.Copied) != 0;
                if ((refcount == 1) == copied || refcount == ulong.MaxValue)
                {
                    continue;
                }

                if (repair)
                {
                    state.Result.Messages.Add($"Repairing OFLAG_COPIED data cluster: l2_entry={entry:x} refcount={refcount}");
                    state.Result.CorruptionsFixed++;
                    WriteL2(table, j, refcount == 1 ? entry | L2Entry.Copied : entry & ~L2Entry.Copied);
                    _l2Cache.MarkDirty(slot);
                }
                else
                {
                    Error(state, $"ERROR OFLAG_COPIED data cluster: l2_entry={entry:x} refcount={refcount}");
                }
            }
        }
    }

    private ulong SafeRefcount(long offset)
    {
        try
        {
            return _refcounts.Get(offset >> _g.ClusterBits);
        }
        catch (ImageCorruptException)
        {
            return ulong.MaxValue;
        }
    }
}
