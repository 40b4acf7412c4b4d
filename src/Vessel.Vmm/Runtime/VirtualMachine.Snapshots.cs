namespace Vessel.Vmm.Runtime;

/// <summary>
/// Internal snapshots, as QEMU's <c>savevm</c>/<c>loadvm</c>/<c>delvm</c> and
/// <c>snapshot-save</c>/<c>snapshot-load</c>/<c>snapshot-delete</c>: every writable qcow2 disk
/// is snapshotted under one tag, and the VM state goes into one of them (the VM-state area of
/// the first writable qcow2 disk, or the one named). Synchronous; QMP wraps them in jobs.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>The internal snapshots of the VM's disks (<c>info snapshots</c>).</summary>
    public IReadOnlyList<VmSnapshotInfo> ListSnapshots() =>
        throw new VmmException("internal snapshots are not available yet");

    /// <summary>Takes a snapshot of every writable disk and of the VM state under <paramref name="tag"/>, replacing one of that name.</summary>
    /// <param name="vmstateDrive">The drive id that receives the VM state, or null for the first writable qcow2 disk.</param>
    /// <param name="drives">The drive ids to snapshot, or null for every writable disk.</param>
    /// <exception cref="VmmException">No disk can hold the snapshot, or writing it failed (one sentence); the VM runs on.</exception>
    public void SaveSnapshot(string tag, string? vmstateDrive = null, IReadOnlyList<string>? drives = null) =>
        throw new VmmException("internal snapshots are not available yet");

    /// <summary>Brings the disks and the VM back to the snapshot <paramref name="tag"/>; the VM then runs (or stays paused) as it was before.</summary>
    /// <exception cref="VmmException">The snapshot does not exist or cannot be loaded (one sentence).</exception>
    public void LoadSnapshot(string tag, string? vmstateDrive = null, IReadOnlyList<string>? drives = null) =>
        throw new VmmException("internal snapshots are not available yet");

    /// <summary>Deletes the snapshot <paramref name="tag"/> from every disk that has it.</summary>
    /// <exception cref="VmmException">No disk has it (one sentence).</exception>
    public void DeleteSnapshot(string tag, IReadOnlyList<string>? drives = null) =>
        throw new VmmException("internal snapshots are not available yet");
}
