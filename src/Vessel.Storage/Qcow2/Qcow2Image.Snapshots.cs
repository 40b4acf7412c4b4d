using System.Buffers.Binary;
using Vessel.Storage.Qcow2.Snapshots;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// Internal snapshots: a snapshot is a copy of the L1 table plus one more reference on every L2
/// table and data cluster it reaches; writes then copy-on-write. Each step is written and
/// flushed before the next one makes it reachable (snapshot table last on create, first on delete).
/// </summary>
public sealed partial class Qcow2Image
{
    private long _snapshotTableBytes;

    /// <summary>Creates an internal snapshot of the current disk content.</summary>
    public SnapshotInfo CreateSnapshot(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new StorageException("a snapshot needs a name");
        }

        SnapshotInfo? info = null;
        Guarded(() =>
        {
            EnsureWritable();
            if (_snapshots.Any(s => s.Name == name))
            {
                throw new StorageException($"a snapshot named '{name}' already exists in '{Path}'");
            }

            if (_snapshots.Count >= Qcow2Header.MaxSnapshots)
            {
                throw new StorageException($"'{Path}' already has the maximum number of snapshots");
            }

            FlushMetadata();
            Dictionary<long, long> references = CollectTreeReferences(_l1);
            CheckRefcountHeadroom(references, 1);

            // The L1 copy, then the extra references, then the active tree's COPIED flags cleared,
            // and only then the snapshot table that makes the copy reachable.
            long l1Offset = WriteL1Copy(_l1);
            foreach ((long cluster, long count) in references)
            {
                _refcounts.Change(cluster, count);
            }

            _refcounts.WriteBack();
            _file.DataSync();
            SetCopiedFlags(allShared: true);
            FlushMetadata();
            _file.DataSync();

            DateTimeOffset now = DateTimeOffset.UtcNow;
            var snapshot = new Qcow2Snapshot
            {
                Id = NextSnapshotId(),
                Name = name,
                L1TableOffset = l1Offset,
                L1Size = (uint)_l1.Length,
                DateSeconds = (uint)now.ToUnixTimeSeconds(),
                DateNanoseconds = (uint)((now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % TimeSpan.TicksPerSecond * 100),
                DiskSize = (ulong)Length,
                Icount = ulong.MaxValue,
            };
            WriteSnapshotTable([.. _snapshots, snapshot]);
            info = snapshot.ToInfo();
        });
        return info!;
    }

    /// <summary>Deletes a snapshot (by ID or name) and frees what only it referenced.</summary>
    public void DeleteSnapshot(string idOrName)
    {
        Guarded(() =>
        {
            EnsureWritable();
            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            FlushMetadata();
            ulong[] snapshotL1 = ReadL1(snapshot.L1TableOffset, snapshot.L1Size);
            Dictionary<long, long> references = CollectTreeReferences(snapshotL1);

            WriteSnapshotTable(_snapshots.Where(s => s != snapshot).ToList());
            foreach ((long cluster, long count) in references)
            {
                _refcounts.Change(cluster, -count);
            }

            _refcounts.Free(snapshot.L1TableOffset, snapshot.L1Size * 8L);
            _refcounts.WriteBack();
            _file.DataSync();
            SetCopiedFlags(allShared: false);
            FlushMetadata();
            _file.DataSync();
            PunchFreedClusters();
        });
    }

    /// <summary>Reverts the disk to a snapshot (by ID or name); the snapshot stays.</summary>
    public void ApplySnapshot(string idOrName)
    {
        Guarded(() =>
        {
            EnsureWritable();
            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            FlushMetadata();
            ulong[] snapshotL1 = ReadL1(snapshot.L1TableOffset, snapshot.L1Size);
            Dictionary<long, long> incoming = CollectTreeReferences(snapshotL1);
            Dictionary<long, long> outgoing = CollectTreeReferences(_l1);
            CheckRefcountHeadroom(incoming, 1);
            long diskSize = snapshot.DiskSize is { } size && size > 0 ? (long)size : Length;
            long neededL1 = Math.Max(snapshot.L1Size, _g.L1EntriesFor(diskSize));
            if (neededL1 > _l1.Length)
            {
                GrowL1((uint)neededL1);
            }

            // References for the incoming tree first, then the switch, then the outgoing tree freed.
            foreach ((long cluster, long count) in incoming)
            {
                _refcounts.Change(cluster, count);
            }

            _refcounts.WriteBack();
            _file.DataSync();

            var newL1 = new ulong[_l1.Length];
            Array.Copy(snapshotL1, newL1, snapshotL1.Length);
            _l1 = newL1;
            WriteL1Range(0, _l1.Length - 1);
            _file.DataSync();

            foreach ((long cluster, long count) in outgoing)
            {
                _refcounts.Change(cluster, -count);
            }

            _refcounts.WriteBack();
            _file.DataSync();
            SetCopiedFlags(allShared: false);
            if (diskSize != Length)
            {
                SetVirtualSize(diskSize);
            }

            FlushMetadata();
            _file.DataSync();
            PunchFreedClusters();
        });
    }

    private Qcow2Snapshot FindSnapshot(string idOrName) =>
        _snapshots.FirstOrDefault(s => s.Id == idOrName)
        ?? _snapshots.FirstOrDefault(s => s.Name == idOrName)
        ?? throw new StorageException($"'{Path}' has no snapshot '{idOrName}'");

    private string NextSnapshotId()
    {
        long max = 0;
        foreach (Qcow2Snapshot s in _snapshots)
        {
            if (long.TryParse(s.Id, out long id) && id > max)
            {
                max = id;
            }
        }

        return (max + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every cluster an L1 tree references, with how often (L2 tables and data clusters).</summary>
    private Dictionary<long, long> CollectTreeReferences(ulong[] l1)
    {
        var references = new Dictionary<long, long>();
        for (int i = 0; i < l1.Length; i++)
        {
            long l2Offset = (long)(l1[i] & L2Entry.OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            int slot = GetL2Slot(i, l2Offset);
            Add(references, l2Offset >> _g.ClusterBits, 1);
            ReadOnlySpan<byte> table = _l2Cache.Table(slot);
            for (int j = 0; j < _g.L2Entries; j++)
            {
                ulong entry = ReadL2(table, j);
                long guestCluster = ((long)i << _g.L2Bits) + j;
                switch (L2Entry.Kind(entry, _g))
                {
                    case ClusterKind.Normal:
                    case ClusterKind.ZeroAllocated:
                        Add(references, ValidateDataCluster(entry, guestCluster) >> _g.ClusterBits, 1);
                        break;
                    case ClusterKind.Compressed:
                        long offset = L2Entry.CompressedOffset(entry, _g);
                        long last = (offset + L2Entry.CompressedLength(entry, _g) - 1) >> _g.ClusterBits;
                        for (long c = offset >> _g.ClusterBits; c <= last; c++)
                        {
                            Add(references, c, 1);
                        }

                        break;
                }
            }
        }

        return references;

        static void Add(Dictionary<long, long> map, long cluster, long count) =>
            map[cluster] = map.GetValueOrDefault(cluster) + count;
    }

    private void CheckRefcountHeadroom(Dictionary<long, long> references, long times)
    {
        foreach ((long cluster, long count) in references)
        {
            ulong current = _refcounts.Get(cluster);
            if ((ulong)(count * times) > _g.MaxRefcount - current)
            {
                throw new StorageException($"'{Path}' uses {_g.RefcountBits}-bit refcounts, too narrow for another reference to its clusters (recreate it with refcount_bits=16)");
            }
        }
    }

    /// <summary>
    /// Sets the COPIED flag on the active tree's entries whose cluster has exactly one reference,
    /// and clears it elsewhere (or everywhere when <paramref name="allShared"/>: a snapshot was just taken).
    /// </summary>
    private void SetCopiedFlags(bool allShared)
    {
        for (int i = 0; i < _l1.Length; i++)
        {
            long l2Offset = (long)(_l1[i] & L2Entry.OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            bool tableCopied = !allShared && _refcounts.Get(l2Offset >> _g.ClusterBits) == 1;
            ulong l1Entry = tableCopied ? _l1[i] | L2Entry.Copied : _l1[i] & ~L2Entry.Copied;
            if (l1Entry != _l1[i])
            {
                _l1[i] = l1Entry;
                MarkL1Dirty(i);
            }

            int slot = GetL2Slot(i, l2Offset);
            Span<byte> table = _l2Cache.Table(slot);
            bool changed = false;
            for (int j = 0; j < _g.L2Entries; j++)
            {
                ulong entry = ReadL2(table, j);
                if (L2Entry.Kind(entry, _g) is not (ClusterKind.Normal or ClusterKind.ZeroAllocated))
                {
                    continue;
                }

                bool copied = !allShared && _refcounts.Get(L2Entry.HostOffset(entry) >> _g.ClusterBits) == 1;
                ulong updated = copied ? entry | L2Entry.Copied : entry & ~L2Entry.Copied;
                if (updated != entry)
                {
                    slot = _l2Cache.Get(l2Offset);
                    table = _l2Cache.Table(slot);
                    WriteL2(table, j, updated);
                    changed = true;
                }
            }

            if (changed)
            {
                _l2Cache.MarkDirty(_l2Cache.Get(l2Offset));
            }
        }
    }

    /// <summary>Writes a copy of an L1 table into newly allocated clusters; returns its offset.</summary>
    private long WriteL1Copy(ulong[] l1)
    {
        if (l1.Length == 0)
        {
            return 0;
        }

        long bytes = l1.Length * 8L;
        long offset = _refcounts.AllocateClusters(_g.ClustersFor(bytes));
        var raw = new byte[_g.ClustersFor(bytes) << _g.ClusterBits];
        for (int i = 0; i < l1.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), l1[i]);
        }

        WriteHostData(offset, raw);
        return offset;
    }

    /// <summary>Writes a new snapshot table, switches the header to it, frees the old one.</summary>
    private void WriteSnapshotTable(List<Qcow2Snapshot> snapshots)
    {
        byte[] table = SnapshotTable.Serialize(snapshots);
        long offset = 0;
        if (table.Length > 0)
        {
            offset = _refcounts.AllocateClusters(_g.ClustersFor(table.Length));
            var padded = new byte[_g.ClustersFor(table.Length) << _g.ClusterBits];
            table.CopyTo(padded, 0);
            WriteHostData(offset, padded);
        }

        EnsureFileCoversAllocations();
        _refcounts.WriteBack();
        _file.DataSync();

        Span<byte> fields = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(fields, (uint)snapshots.Count);
        BinaryPrimitives.WriteUInt64BigEndian(fields[4..], (ulong)offset);
        _file.Write(Qcow2Header.SnapshotCountOffset, fields);
        _file.DataSync();

        long oldOffset = (long)_header.SnapshotsOffset;
        long oldBytes = _header.SnapshotCount == 0 ? 0 : _snapshotTableBytes;
        _header.SnapshotCount = (uint)snapshots.Count;
        _header.SnapshotsOffset = (ulong)offset;
        _snapshots = snapshots;
        _snapshotTableBytes = table.Length;
        if (oldBytes > 0)
        {
            _refcounts.Free(oldOffset, oldBytes);
        }
    }
}
