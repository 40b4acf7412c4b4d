using System.Globalization;
using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Snapshots;

/// <summary>
/// A VM's internal snapshots across all its disks, by QEMU's rules (savevm, loadvm, delvm,
/// info snapshots and the QMP snapshot-save/-load/-delete jobs):
/// <list type="bullet">
/// <item>A snapshot covers every writable disk, under one name; read-only disks cannot change
/// and are left out. A writable disk whose format has no internal snapshots (raw) makes
/// snapshots of the VM impossible.</item>
/// <item>A snapshot "with memory" keeps the VM state in exactly one image: the disk named by
/// <c>vmstate</c>, else the first writable disk that can hold it. The other disks get a
/// disk-only snapshot of the same name, date and clock.</item>
/// <item>Loading needs the snapshot on every disk and a VM state on the state disk; a disk-only
/// snapshot can only be reverted with the VM stopped (<see cref="RevertDisks"/>).</item>
/// </list>
/// The VM must be paused during these calls. Disks are snapshotted one after the other: a
/// crash between two leaves some disks with the snapshot and some without (each image itself
/// consistent), as under QEMU; a failure deletes what was made so far.
/// </summary>
public sealed class VmSnapshots
{
    private readonly IReadOnlyList<VmDisk> _disks;

    public VmSnapshots(IReadOnlyList<VmDisk> disks)
    {
        ArgumentNullException.ThrowIfNull(disks);
        _disks = disks;
    }

    /// <summary>The disks a snapshot covers: the writable ones, in the VM's order.</summary>
    public IReadOnlyList<VmDisk> SnapshotDisks => _disks.Where(d => !d.Image.IsReadOnly).ToList();

    /// <summary>Fails with a sentence naming the disk when a writable disk cannot take internal snapshots.</summary>
    public void EnsureCanSnapshot()
    {
        foreach (VmDisk disk in SnapshotDisks)
        {
            if (disk.Image is not Qcow2Image)
            {
                throw new StorageException($"disk '{disk.Id}' is writable but its {disk.Image.Format.ToString().ToLowerInvariant()} image '{disk.Image.Path}' cannot hold internal snapshots");
            }
        }
    }

    /// <summary>The disk that holds (or would hold) the VM state: <paramref name="vmStateDiskId"/>, else the first writable qcow2 disk.</summary>
    public VmDisk FindVmStateDisk(string? vmStateDiskId = null)
    {
        if (vmStateDiskId is not null)
        {
            VmDisk named = _disks.FirstOrDefault(d => d.Id == vmStateDiskId)
                ?? throw new StorageException($"the VM has no disk '{vmStateDiskId}' to hold its state");
            if (named.Image.IsReadOnly || named.Image is not Qcow2Image)
            {
                throw new StorageException($"disk '{vmStateDiskId}' cannot hold the VM state: it must be a writable qcow2 image");
            }

            return named;
        }

        return SnapshotDisks.FirstOrDefault(d => d.Image is Qcow2Image)
            ?? throw new StorageException("no disk of the VM can hold a snapshot (a writable qcow2 image is needed)");
    }

    /// <summary>
    /// Takes a snapshot of every writable disk (savevm). With <paramref name="writeVmState"/> it
    /// is "with memory": the callback writes the machine's state into the stream it gets (in
    /// chunks, as long as it needs), which goes into the state disk's snapshot. Without, the
    /// snapshot is disk-only. An existing snapshot of the same name is an error unless
    /// <paramref name="overwrite"/> (HMP savevm overwrites, QMP snapshot-save does not). A null
    /// <paramref name="name"/> gets QEMU's generated one (vm-YYYYMMDDhhmmss). Returns the
    /// snapshot as the state disk (or, disk-only, the first disk) lists it.
    /// </summary>
    public SnapshotInfo Save(string? name, Action<Stream>? writeVmState, long vmClockNanoseconds, long? icount = null, string? vmStateDiskId = null, bool overwrite = false)
    {
        EnsureCanSnapshot();
        name ??= "vm-" + DateTime.Now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        List<Qcow2Image> images = SnapshotDisks.Select(d => (Qcow2Image)d.Image).ToList();
        Qcow2Image stateImage = (Qcow2Image)FindVmStateDisk(vmStateDiskId).Image;
        List<VmDisk> having = DisksWith(name);
        if (having.Count > 0 && !overwrite)
        {
            throw new StorageException($"a snapshot named '{name}' already exists on disk '{having[0].Id}'");
        }

        foreach (VmDisk disk in having)
        {
            ((Qcow2Image)disk.Image).DeleteSnapshot(name);
        }

        var options = new SnapshotOptions { VmClockNanoseconds = vmClockNanoseconds, Icount = icount };
        var made = new List<Qcow2Image>();
        SnapshotInfo? result = null;
        try
        {
            if (writeVmState is not null)
            {
                // The state goes first, as under QEMU: the disks are snapshotted when it is complete.
                using VmStateWriter state = stateImage.BeginVmState();
                writeVmState(state);
                result = stateImage.CreateSnapshot(name, options with { VmState = state });
                made.Add(stateImage);
            }

            foreach (Qcow2Image image in images.Where(i => !made.Contains(i)))
            {
                SnapshotInfo info = image.CreateSnapshot(name, options);
                made.Add(image);
                result ??= info;
            }
        }
        catch
        {
            foreach (Qcow2Image image in made)
            {
                image.DeleteSnapshot(name);
            }

            throw;
        }

        return result!;
    }

    /// <summary>
    /// Brings the VM back to a snapshot (loadvm): every writable disk reverts to it, then
    /// <paramref name="readVmState"/> reads the machine's state from the state disk's snapshot.
    /// Checks everything before changing anything.
    /// </summary>
    public void Load(string name, Action<Stream> readVmState, string? vmStateDiskId = null)
    {
        ArgumentNullException.ThrowIfNull(readVmState);
        EnsureCanSnapshot();
        EnsureOnEveryDisk(name);
        var stateImage = (Qcow2Image)FindVmStateDisk(vmStateDiskId).Image;
        SnapshotInfo snapshot = stateImage.Snapshots.FirstOrDefault(s => s.Name == name)
            ?? throw new StorageException($"snapshot '{name}' does not exist on the disk that holds the VM state");
        if (snapshot.VmStateSize == 0)
        {
            throw new StorageException($"snapshot '{name}' is disk-only; revert it with the VM stopped");
        }

        RevertDisks(name);
        using VmStateReader state = stateImage.OpenVmState(name);
        readVmState(state);
    }

    /// <summary>Reverts every writable disk to a snapshot, disk-only or not, leaving any VM state unread (for a stopped VM).</summary>
    public void RevertDisks(string name)
    {
        EnsureCanSnapshot();
        EnsureOnEveryDisk(name);
        foreach (VmDisk disk in SnapshotDisks)
        {
            ((Qcow2Image)disk.Image).ApplySnapshot(name);
        }
    }

    /// <summary>Deletes a snapshot from every disk that has it (delvm); an error when none has.</summary>
    public void Delete(string name)
    {
        EnsureCanSnapshot();
        List<VmDisk> having = DisksWith(name);
        if (having.Count == 0)
        {
            throw new StorageException($"no disk of the VM has a snapshot '{name}'");
        }

        foreach (VmDisk disk in having)
        {
            ((Qcow2Image)disk.Image).DeleteSnapshot(name);
        }
    }

    /// <summary>
    /// The VM's snapshots (info snapshots): those of the state disk that every writable disk has,
    /// as the state disk lists them (with the VM-state size).
    /// </summary>
    public IReadOnlyList<SnapshotInfo> List(string? vmStateDiskId = null)
    {
        EnsureCanSnapshot();
        var stateImage = (Qcow2Image)FindVmStateDisk(vmStateDiskId).Image;
        return stateImage.Snapshots.Where(s => SnapshotDisks.All(d => HasSnapshot(d, s.Name))).ToList();
    }

    private void EnsureOnEveryDisk(string name)
    {
        VmDisk? missing = SnapshotDisks.FirstOrDefault(d => !HasSnapshot(d, name));
        if (missing is not null)
        {
            throw new StorageException($"snapshot '{name}' does not exist on disk '{missing.Id}'");
        }
    }

    private List<VmDisk> DisksWith(string name) => SnapshotDisks.Where(d => HasSnapshot(d, name)).ToList();

    private static bool HasSnapshot(VmDisk disk, string name) =>
        disk.Image is Qcow2Image q && q.Snapshots.Any(s => s.Name == name);
}
