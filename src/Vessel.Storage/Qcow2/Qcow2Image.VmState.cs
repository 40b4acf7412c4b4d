using Vessel.Storage.Qcow2.Snapshots;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// VM states of internal snapshots (QEMU's savevm/loadvm). Where the state lives is fixed by
/// the format: in the snapshot's guest address space, from the first L1 entry past those that
/// map the virtual disk (QEMU's <c>qcow2_vm_state_offset</c>), mapped by L2 tables and data
/// clusters like disk content.
///
/// How Vessel gets it there differs from QEMU in one way, for crash safety. QEMU writes the
/// state through the active L1 table (growing it), takes the snapshot, then discards the state
/// from the active tree again: a crash half-way leaves the active tree holding a partial state.
/// Vessel writes the state into freshly allocated clusters and L2 tables that only an in-memory
/// table knows (the staged state); the snapshot switch then writes the new snapshot's L1 table
/// with the disk's entries followed by the staged ones, and one header write makes it all live
/// (see <see cref="SwitchSnapshotState"/>). Until that write nothing on disk points at the state,
/// so a crash leaves the image as it was, the staged clusters at worst leaked; and the active
/// tree never holds a state at all. The result on disk is what QEMU leaves behind: the state
/// mapped by the snapshot's L1 table only.
///
/// Reading a state walks the snapshot's own L1 table, so it does not depend on the snapshot
/// having been applied (QEMU applies first, then reads the copy in the active tree).
/// </summary>
public sealed partial class Qcow2Image
{
    private VmStateWriter? _vmStateWriter;

    /// <summary>L2 tables of the staged state, indexed from the state's first L1 entry.</summary>
    private ulong[] _stagedVmStateL1 = [];

    /// <summary>The L1 index where a VM state starts: the first past the disk's (QEMU's l1_vm_state_index).</summary>
    private long VmStateFirstL1Index(long diskSize) => _g.L1EntriesFor(diskSize);

    /// <summary>Bytes mapped by one L1 entry.</summary>
    private long L1EntrySpan => 1L << (_g.L2Bits + _g.ClusterBits);

    /// <summary>
    /// Starts writing a VM state for the next snapshot (see <see cref="VmStateWriter"/>). One
    /// state at a time; until a snapshot takes it or the writer is disposed, snapshots cannot be
    /// applied or deleted and the disk cannot be resized.
    /// </summary>
    public VmStateWriter BeginVmState()
    {
        VmStateWriter? writer = null;
        Guarded(() =>
        {
            EnsureWritable();
            if (_vmStateWriter is not null)
            {
                throw new InvalidOperationException($"a VM state is already being written to '{Path}'");
            }

            writer = new VmStateWriter(this);
            _vmStateWriter = writer;
            _stagedVmStateL1 = [];
        });
        return writer!;
    }

    /// <summary>
    /// Opens the VM state of a snapshot (by ID or name) for reading, for <c>loadvm</c>. A
    /// disk-only snapshot (VM-state size 0) has none.
    /// </summary>
    public VmStateReader OpenVmState(string idOrName)
    {
        VmStateReader? reader = null;
        Guarded(() =>
        {
            Qcow2Snapshot snapshot = FindSnapshot(idOrName);
            if (snapshot.VmStateSize == 0)
            {
                throw new StorageException($"snapshot '{snapshot.Name}' of '{Path}' is disk-only: it holds no VM state");
            }

            long diskSize = snapshot.DiskSize is { } size && size > 0 ? (long)size : Length;
            long first = VmStateFirstL1Index(diskSize);
            if (snapshot.VmStateSize > (ulong)MaxVmStateBytes(first))
            {
                // Only this entry's size field is wrong; the image itself stays usable.
                throw new StorageException($"snapshot '{snapshot.Name}' of '{Path}' claims a VM state of {snapshot.VmStateSize} bytes, more than qcow2 can map");
            }

            ulong[] l1 = ReadL1(snapshot.L1TableOffset, snapshot.L1Size);
            reader = new VmStateReader(this, snapshot, l1, first * L1EntrySpan, (long)snapshot.VmStateSize);
        });
        return reader!;
    }

    /// <summary>Most bytes of VM state an L1 table can map from <paramref name="firstL1Index"/> on.</summary>
    private long MaxVmStateBytes(long firstL1Index) => Math.Max(0, (Qcow2Header.MaxL1Bytes / 8) - firstL1Index) * L1EntrySpan;

    /// <summary>Fails when bytes up to <paramref name="position"/> + <paramref name="length"/> would lie beyond what a state can reach.</summary>
    internal void CheckVmStateFits(long position, long length)
    {
        long max = MaxVmStateBytes(VmStateFirstL1Index(Length));
        if (position > max - length)
        {
            throw new StorageException($"a VM state reaching past {max} bytes does not fit into '{Path}' (its L1 table would exceed what qcow2 allows)");
        }
    }

    internal void ReadVmState(Qcow2Snapshot snapshot, ulong[] l1, long guestOffset, Span<byte> buffer)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_snapshots.Contains(snapshot))
            {
                throw new StorageException($"snapshot '{snapshot.Name}' of '{Path}' was deleted while its VM state was being read");
            }

            try
            {
                // Clusters the state never wrote read as zeroes, never as the backing file's content.
                ReadTree(l1, guestOffset, buffer, throughBacking: false);
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    internal void WriteVmState(VmStateWriter writer, long position, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureWritable();
            if (_vmStateWriter != writer)
            {
                throw new InvalidOperationException("this VM state writer is finished");
            }

            CheckVmStateFits(position, data.Length);
            try
            {
                while (data.Length > 0)
                {
                    int done = WriteStagedRun(position, data);
                    position += done;
                    data = data[done..];
                }
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    /// <summary>
    /// Writes the longest run within one staged L2 table that is all already staged (written in
    /// place) or all new (fresh contiguous clusters); returns the bytes done.
    /// </summary>
    private int WriteStagedRun(long position, ReadOnlySpan<byte> data)
    {
        long cluster = position >> _g.ClusterBits;
        int inCluster = (int)(position & _g.ClusterMask);
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        int maxRun = (int)Math.Min(data.Length, ((l1Index + 1) * L1EntrySpan) - position);
        long l2Offset = StagedL2Table(l1Index);
        int slot = _l2Cache.Get(l2Offset);
        ReadOnlySpan<byte> table = _l2Cache.Table(slot);
        int run = Math.Min(maxRun, _g.ClusterSize - inCluster);
        int clustersInRun = 1;
        ulong entry = ReadL2(table, l2Index);
        if (entry != 0)
        {
            long host = L2Entry.HostOffset(entry);
            while (run < maxRun && ReadL2(table, l2Index + clustersInRun) == (ulong)(host + ((long)clustersInRun << _g.ClusterBits)))
            {
                run = Math.Min(maxRun, run + _g.ClusterSize);
                clustersInRun++;
            }

            CheckDataTarget(host + inCluster, run);
            WriteHostData(host + inCluster, data[..run]);
            return run;
        }

        while (run < maxRun && ReadL2(table, l2Index + clustersInRun) == 0)
        {
            run = Math.Min(maxRun, run + _g.ClusterSize);
            clustersInRun++;
        }

        long first = _refcounts.AllocateClusters(clustersInRun);
        CheckDataTarget(first, (long)clustersInRun << _g.ClusterBits);
        WriteFreshClusters(first, clustersInRun, inCluster, data[..run]);

        slot = _l2Cache.Get(l2Offset);
        Span<byte> writable = _l2Cache.Table(slot);
        for (int i = 0; i < clustersInRun; i++)
        {
            // No COPIED flag: these clusters will belong to a snapshot, never to the active tree.
            WriteL2(writable, l2Index + i, (ulong)(first + ((long)i << _g.ClusterBits)));
            if (_g.ExtendedL2)
            {
                WriteL2Bitmap(writable, l2Index + i, L2Entry.AllAllocated);
            }
        }

        _l2Cache.MarkDirty(slot);
        return run;
    }

    /// <summary>
    /// Writes a run into newly allocated clusters: a cluster the run covers only in part gets
    /// zeroes around the data (an allocated cluster may hold anything from an earlier life).
    /// </summary>
    private void WriteFreshClusters(long host, int count, int inCluster, ReadOnlySpan<byte> data)
    {
        int cs = _g.ClusterSize;
        int end = inCluster + data.Length;
        int written = 0;
        for (int i = 0; i < count;)
        {
            int start = i == 0 ? inCluster : 0;
            int length = Math.Min(cs - start, data.Length - written);
            if (start == 0 && length == cs)
            {
                // Whole clusters straight from the caller's buffer, as many as follow.
                int whole = Math.Min(count - i, (data.Length - written) / cs);
                WriteHostData(host + ((long)i * cs), data.Slice(written, whole * cs));
                written += whole * cs;
                i += whole;
                continue;
            }

            _cowBuffer.AsSpan().Clear();
            data.Slice(written, length).CopyTo(_cowBuffer.AsSpan(start));
            WriteHostData(host + ((long)i * cs), _cowBuffer);
            written += length;
            i++;
        }

        System.Diagnostics.Debug.Assert(written == end - inCluster, "a fresh run writes all its data");
    }

    /// <summary>The staged L2 table for state L1 entry <paramref name="l1Index"/>, allocated (zeroed) on first use.</summary>
    private long StagedL2Table(long l1Index)
    {
        if (l1Index >= _stagedVmStateL1.Length)
        {
            long grown = Math.Max(l1Index + 1, Math.Min(Math.Max(4, _stagedVmStateL1.Length * 2L), Qcow2Header.MaxL1Bytes / 8));
            Array.Resize(ref _stagedVmStateL1, (int)grown);
        }

        long offset = (long)_stagedVmStateL1[l1Index];
        if (offset == 0)
        {
            offset = _refcounts.AllocateClusters(1);
            CheckDataTarget(offset, _g.ClusterSize);
            _l2Cache.Create(offset);
            _stagedVmStateL1[l1Index] = (ulong)offset;
        }

        return offset;
    }

    /// <summary>
    /// Frees what a writer staged (its writer is being disposed without a snapshot). Nothing on
    /// disk points at these clusters, so they are free at once.
    /// </summary>
    internal void DiscardVmState(VmStateWriter writer)
    {
        lock (_lock)
        {
            if (_vmStateWriter != writer)
            {
                return;
            }

            writer.Finish();
            _vmStateWriter = null;
            ulong[] staged = _stagedVmStateL1;
            _stagedVmStateL1 = [];
            if (_disposed || IsReadOnly || _corrupt)
            {
                return;
            }

            foreach (ulong l2 in staged)
            {
                long l2Offset = (long)l2;
                if (l2Offset == 0)
                {
                    continue;
                }

                _l2Cache.Table(_l2Cache.Get(l2Offset)).CopyTo(_tableBuffer);
                for (int j = 0; j < _g.L2Entries; j++)
                {
                    long host = L2Entry.HostOffset(ReadL2(_tableBuffer, j));
                    if (host != 0)
                    {
                        _refcounts.Free(host, _g.ClusterSize);
                    }
                }

                _refcounts.Free(l2Offset, _g.ClusterSize);
            }

            PunchFreedClusters();
        }
    }

    /// <summary>
    /// Hands the staged state of <paramref name="writer"/> to a snapshot being created: returns its
    /// L2 tables (indexed from the state's first L1 entry, trailing empty entries dropped). The
    /// writer is finished from here on; should the snapshot then fail, the staged clusters are
    /// leaked rather than freed, since a failed switch may or may not have reached the disk.
    /// </summary>
    private ulong[] TakeStagedVmState(VmStateWriter writer)
    {
        if (writer.Image != this || _vmStateWriter != writer)
        {
            throw new InvalidOperationException(writer.IsFinished
                ? "this VM state writer is finished: a snapshot took its state already, or it was disposed"
                : "the VM state was written for another image");
        }

        int used = _stagedVmStateL1.Length;
        while (used > 0 && _stagedVmStateL1[used - 1] == 0)
        {
            used--;
        }

        ulong[] staged = _stagedVmStateL1[..used];
        _stagedVmStateL1 = [];
        _vmStateWriter = null;
        writer.Finish();
        return staged;
    }

    /// <summary>Operations that rebuild refcounts from the trees would free a staged state: they wait for it.</summary>
    private void EnsureNoVmStateBeingWritten(string operation)
    {
        if (_vmStateWriter is not null)
        {
            throw new InvalidOperationException($"cannot {operation} '{Path}' while a VM state is being written to it; create the snapshot or dispose the writer first");
        }
    }

    /// <summary>
    /// The active L1 table without anything past the disk: a VM state copied in by QEMU's loadvm
    /// (QEMU reads the state through the active tree), or the emptied L2 table its savevm leaves.
    /// The active tree never needs them, and every snapshot switch drops them.
    /// </summary>
    private ulong[] ActiveDiskL1(long diskSize)
    {
        long diskEntries = VmStateFirstL1Index(diskSize);
        var l1 = (ulong[])_l1.Clone();
        if (diskEntries < l1.Length)
        {
            Array.Clear(l1, (int)diskEntries, l1.Length - (int)diskEntries);
        }

        return l1;
    }
}
