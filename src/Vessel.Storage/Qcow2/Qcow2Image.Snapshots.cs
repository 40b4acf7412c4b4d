using System.Buffers.Binary;
using Vessel.Storage.Qcow2.Snapshots;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// Internal snapshots: a snapshot is an L1 table plus one more reference on every L2 table and
/// data cluster it reaches; writes then copy-on-write.
///
/// Why every snapshot operation is one switch (see <see cref="SwitchSnapshotState"/>): taking,
/// reverting to or deleting a snapshot changes refcounts (in refcount blocks) and the COPIED
/// flags of the active tree (in L1/L2 tables) together, and qemu-img check calls any mismatch
/// between the two (COPIED set on a cluster with two references, or clear on one with a single
/// reference) corruption. No order of in-place writes avoids such a state, so the new state is
/// written whole into free space (fresh copies of the active L2 tables with their flags, the new
/// L1, the new snapshot table and a rebuilt refcount structure), made durable, and then switched
/// to by a single write of the header fields that point at all of them (bytes 24..72: size,
/// L1 size and offset, refcount table offset and size, snapshot count and offset, all in the
/// first sector). A crash before that write leaves the old image untouched, after it the new one.
/// A snapshot taken with a VM state gets the state's L2 tables, staged beforehand, in the same
/// switch (see <c>Qcow2Image.VmState.cs</c>). Once the switch is durable, the clusters only the
/// old state used are punched out of the file.
/// </summary>
public sealed partial class Qcow2Image
{
    private long _snapshotTableBytes;

    /// <summary>Creates a disk-only internal snapshot of the current disk content.</summary>
    public SnapshotInfo CreateSnapshot(string name) => CreateSnapshot(name, new SnapshotOptions());

    /// <summary>
    /// Creates an internal snapshot of the current disk content, with the VM state written
    /// through <paramref name="options"/>' <see cref="SnapshotOptions.VmState"/> if any (QEMU's
    /// savevm), and the guest clocks it gives.
    /// </summary>
    public SnapshotInfo CreateSnapshot(string name, SnapshotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(name))
        {
            throw new StorageException("a snapshot needs a name");
        }

        SnapshotInfo? info = null;
        Guarded(() =>
        {
            EnsureWritable();
            if (options.VmState is null)
            {
                EnsureNoVmStateBeingWritten("take a disk-only snapshot of");
            }

            if (_snapshots.Any(s => s.Name == name))
            {
                throw new StorageException($"a snapshot named '{name}' already exists in '{Path}'");
            }

            if (_snapshots.Count >= Qcow2Header.MaxSnapshots)
            {
                throw new StorageException($"'{Path}' already has the maximum number of snapshots");
            }

            DateTimeOffset now = DateTimeOffset.UtcNow;
            var snapshot = new Qcow2Snapshot
            {
                Id = NextSnapshotId(),
                Name = name,
                DateSeconds = (uint)now.ToUnixTimeSeconds(),
                DateNanoseconds = (uint)((now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % TimeSpan.TicksPerSecond * 100),
                DiskSize = (ulong)Length,
                VmClockNanoseconds = (ulong)Math.Max(0, options.VmClockNanoseconds),
                Icount = options.Icount is { } icount ? (ulong)icount : ulong.MaxValue,
            };

            // The snapshot's L1 table: the disk's entries (it keeps the current L2 tables; the
            // active tree moves to copies of them), then the staged VM state's L2 tables.
            long diskEntries = VmStateFirstL1Index(Length);
            ulong[] stagedState = [];
            if (options.VmState is { } writer)
            {
                stagedState = TakeStagedVmState(writer);
                snapshot.VmStateSize = (ulong)writer.Length;
            }

            var snapshotL1 = new ulong[diskEntries + stagedState.Length];
            Array.Copy(_l1, snapshotL1, Math.Min(diskEntries, _l1.Length));
            stagedState.CopyTo(snapshotL1, diskEntries);
            snapshot.L1Size = (uint)snapshotL1.Length;

            FlushMetadata();
            SwitchSnapshotState(ActiveDiskL1(Length), [.. _snapshots, snapshot], snapshot, snapshotL1, Length);
            info = snapshot.ToInfo();
        });
        return info!;
    }

    /// <summary>Deletes a snapshot (by ID or name) and frees what only it referenced, its VM state included.</summary>
    public void DeleteSnapshot(string idOrName)
    {
        Guarded(() =>
        {
            EnsureWritable();
            EnsureNoVmStateBeingWritten("delete a snapshot of");
            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            FlushMetadata();
            SwitchSnapshotState(ActiveDiskL1(Length), _snapshots.Where(s => s != snapshot).ToList(), null, null, Length);
        });
    }

    /// <summary>
    /// Reverts the disk to a snapshot (by ID or name); the snapshot stays. Its VM state, if any,
    /// is not copied into the active tree (QEMU's loadvm copies it and reads it from there):
    /// <see cref="OpenVmState"/> reads it from the snapshot itself.
    /// </summary>
    public void ApplySnapshot(string idOrName)
    {
        Guarded(() =>
        {
            EnsureWritable();
            EnsureNoVmStateBeingWritten("apply a snapshot of");
            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            FlushMetadata();
            ulong[] snapshotL1 = ReadL1(snapshot.L1TableOffset, snapshot.L1Size);
            long diskSize = snapshot.DiskSize is { } size && size > 0 ? (long)size : Length;
            long diskEntries = VmStateFirstL1Index(diskSize);
            long neededL1 = Math.Max(diskEntries, _l1.Length);
            if (neededL1 > Qcow2Header.MaxL1Bytes / 8)
            {
                throw new StorageException($"'{Path}' would need an L1 table larger than qcow2 allows");
            }

            var active = new ulong[neededL1];
            Array.Copy(snapshotL1, active, Math.Min(snapshotL1.Length, diskEntries));
            SwitchSnapshotState(active, _snapshots, null, null, diskSize);
        });
    }

    /// <summary>
    /// Makes this read-only image show a snapshot (by ID or name) instead of the active disk, as
    /// qemu-img convert -l does: only the in-memory L1 table and size change, nothing is written.
    /// </summary>
    public void ViewSnapshot(string idOrName)
    {
        Guarded(() =>
        {
            if (!IsReadOnly)
            {
                throw new InvalidOperationException("only a read-only image can show a snapshot in place of its active disk");
            }

            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            ulong[] snapshotL1 = ReadL1(snapshot.L1TableOffset, snapshot.L1Size);

            // The disk keeps its current size, as under qemu-img convert -l (QEMU loads only the
            // snapshot's L1 table): past what the snapshot covered it reads zeroes. Reads index
            // the L1 table by virtual offset, so it must cover that size.
            var l1 = new ulong[Math.Max(snapshotL1.Length, _g.L1EntriesFor(Length))];
            Array.Copy(snapshotL1, l1, snapshotL1.Length);
            _l1 = l1;
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
    private Dictionary<long, long> CollectTreeReferences(ulong[] l1, bool includeTables = true)
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
            if (includeTables)
            {
                Add(references, l2Offset >> _g.ClusterBits, 1);
            }

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

    /// <summary>
    /// Makes <paramref name="activeSource"/> the active tree (through fresh copies of its L2
    /// tables), <paramref name="snapshots"/> the snapshot list (<paramref name="created"/>, if
    /// any, gets <paramref name="createdL1"/> written as its L1) and <paramref name="diskSize"/>
    /// the virtual size, all at once: everything new is written into clusters past the end of
    /// the file, where neither the old nor the new metadata points, then one header write
    /// switches to it (see the type's comment). The clusters only the old state used are free in
    /// the new refcounts.
    /// </summary>
    private void SwitchSnapshotState(ulong[] activeSource, List<Qcow2Snapshot> snapshots, Qcow2Snapshot? created, ulong[]? createdL1, long diskSize)
    {
        int bits = _g.ClusterBits;
        long cs = _g.ClusterSize;
        _file.DataSync();
        long next = RoundUpToCluster(HostBound) >> bits;

        // Where the new structures go: all past everything in use, so writing them changes
        // nothing the old state can see.
        var newL1 = new ulong[activeSource.Length];
        var copies = new List<(long Source, long Target)>();
        for (int i = 0; i < activeSource.Length; i++)
        {
            long source = (long)(activeSource[i] & L2Entry.OffsetMask);
            if (source != 0)
            {
                long target = next++ << bits;
                newL1[i] = (ulong)target | L2Entry.Copied;
                copies.Add((source, target));
            }
        }

        long l1Offset = newL1.Length == 0 ? 0 : next << bits;
        next += _g.ClustersFor(newL1.Length * 8L);
        if (created is not null)
        {
            created.L1TableOffset = createdL1!.Length == 0 ? 0 : next << bits;
            next += _g.ClustersFor(createdL1.Length * 8L);
        }

        byte[] table = SnapshotTable.Serialize(snapshots);
        long tableOffset = table.Length == 0 ? 0 : next << bits;
        next += _g.ClustersFor(table.Length);

        // The references of the new state, counted the way check counts them.
        var counts = new ulong[next];
        counts[0]++;
        foreach (Qcow2Snapshot snapshot in snapshots)
        {
            ulong[] l1 = snapshot == created ? createdL1! : ReadL1(snapshot.L1TableOffset, snapshot.L1Size);
            CountRange(counts, snapshot.L1TableOffset, l1.Length * 8L);
            foreach ((long cluster, long count) in CollectTreeReferences(l1, includeTables: true))
            {
                counts[cluster] += (ulong)count;
            }
        }

        foreach ((long cluster, long count) in CollectTreeReferences(activeSource, includeTables: false))
        {
            counts[cluster] += (ulong)count;
        }

        foreach ((_, long target) in copies)
        {
            counts[target >> bits]++;
        }

        CountRange(counts, l1Offset, newL1.Length * 8L);
        CountRange(counts, tableOffset, table.Length);
        var narrow = new uint[counts.Length];
        for (long c = 0; c < counts.Length; c++)
        {
            if (counts[c] > _g.MaxRefcount)
            {
                throw new StorageException($"'{Path}' uses {_g.RefcountBits}-bit refcounts, too narrow for another reference to its clusters (recreate it with refcount_bits=16)");
            }

            narrow[c] = (uint)counts[c];
        }

        // What only the old state used (a deleted snapshot's clusters, its VM state, the old L1,
        // snapshot and refcount tables): given back to the host once the switch is durable, as
        // QEMU discards a deleted snapshot's clusters. A VM state may be hundreds of MiB.
        var released = new List<long>();
        for (long c = 1; c < counts.Length; c++)
        {
            if (narrow[c] == 0 && _refcounts.Get(c) != 0)
            {
                released.Add(c);
            }
        }

        // The active tree's L2 copies, with COPIED set exactly where the new refcount is one.
        var buffer = new byte[cs];
        foreach ((long source, long target) in copies)
        {
            _file.ReadZeroPadded(source, buffer);
            for (int j = 0; j < _g.L2Entries; j++)
            {
                ulong entry = ReadL2(buffer, j);
                if (L2Entry.Kind(entry, _g) is ClusterKind.Normal or ClusterKind.ZeroAllocated)
                {
                    bool single = narrow[L2Entry.HostOffset(entry) >> bits] == 1;
                    WriteL2(buffer, j, single ? entry | L2Entry.Copied : entry & ~L2Entry.Copied);
                }
            }

            _file.Write(target, buffer);
        }

        WriteL1Table(l1Offset, newL1, keepCopied: true);
        if (created is not null)
        {
            // COPIED means nothing outside the active tree; a snapshot's L1 carries none.
            WriteL1Table(created.L1TableOffset, createdL1!, keepCopied: false);
        }

        if (table.Length > 0)
        {
            var padded = new byte[_g.ClustersFor(table.Length) << bits];
            table.CopyTo(padded, 0);
            _file.Write(tableOffset, padded);
        }

        (long refcountTableOffset, long refcountTableClusters) = WriteRefcountStructure(narrow);
        _file.DataSync();

        // The switch: one write within the first sector.
        Span<byte> fields = stackalloc byte[Qcow2Header.SnapshotCountOffset + 12 - Qcow2Header.SizeOffset];
        _file.ReadZeroPadded(Qcow2Header.SizeOffset, fields);
        BinaryPrimitives.WriteUInt64BigEndian(fields, (ulong)diskSize);
        BinaryPrimitives.WriteUInt32BigEndian(fields[(Qcow2Header.L1SizeOffset - Qcow2Header.SizeOffset)..], (uint)newL1.Length);
        BinaryPrimitives.WriteUInt64BigEndian(fields[(Qcow2Header.L1SizeOffset + 4 - Qcow2Header.SizeOffset)..], (ulong)l1Offset);
        BinaryPrimitives.WriteUInt64BigEndian(fields[(Qcow2Header.RefcountTableOffsetOffset - Qcow2Header.SizeOffset)..], (ulong)refcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(fields[(Qcow2Header.RefcountTableOffsetOffset + 8 - Qcow2Header.SizeOffset)..], (uint)refcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(fields[(Qcow2Header.SnapshotCountOffset - Qcow2Header.SizeOffset)..], (uint)snapshots.Count);
        BinaryPrimitives.WriteUInt64BigEndian(fields[(Qcow2Header.SnapshotCountOffset + 4 - Qcow2Header.SizeOffset)..], (ulong)tableOffset);
        _file.Write(Qcow2Header.SizeOffset, fields);
        _file.DataSync();

        _header.Size = (ulong)diskSize;
        _header.L1Size = (uint)newL1.Length;
        _header.L1TableOffset = (ulong)l1Offset;
        _header.RefcountTableOffset = (ulong)refcountTableOffset;
        _header.RefcountTableClusters = (uint)refcountTableClusters;
        _header.SnapshotCount = (uint)snapshots.Count;
        _header.SnapshotsOffset = (ulong)tableOffset;
        _l1 = newL1;
        _snapshots = snapshots;
        _snapshotTableBytes = table.Length;
        _l2Cache.Clear();
        _decompressedValid = false;
        _freedClusters.Clear();
        bool lazy = _refcounts.Lazy;
        _refcounts = CreateRefcounts();
        _refcounts.Lazy = lazy;
        _freedClusters.AddRange(released);
        PunchFreedClusters();
    }

    private void CountRange(ulong[] counts, long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        for (long c = offset >> _g.ClusterBits; c <= (offset + length - 1) >> _g.ClusterBits; c++)
        {
            counts[c]++;
        }
    }

    private void WriteL1Table(long offset, ulong[] l1, bool keepCopied)
    {
        if (l1.Length == 0)
        {
            return;
        }

        var raw = new byte[_g.ClustersFor(l1.Length * 8L) << _g.ClusterBits];
        for (int i = 0; i < l1.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), keepCopied ? l1[i] : l1[i] & ~L2Entry.Copied);
        }

        _file.Write(offset, raw);
    }
}
