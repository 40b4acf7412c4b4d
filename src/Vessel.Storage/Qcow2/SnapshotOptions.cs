namespace Vessel.Storage.Qcow2;

/// <summary>
/// What a snapshot records besides the disk, as QEMU's <c>savevm</c> fills it in: the machine's
/// state (when the snapshot is taken "with memory") and the guest clocks at that moment.
/// </summary>
public sealed record SnapshotOptions
{
    /// <summary>
    /// The VM state written for this snapshot through <see cref="Qcow2Image.BeginVmState"/>;
    /// null for a disk-only snapshot. Its <see cref="VmStateWriter.Length"/> becomes the
    /// snapshot's VM-state size, and the writer is finished once the snapshot exists.
    /// </summary>
    public VmStateWriter? VmState { get; init; }

    /// <summary>The guest's virtual clock when the snapshot was taken (QEMU's vm_clock_nsec).</summary>
    public long VmClockNanoseconds { get; init; }

    /// <summary>The record/replay instruction count, or null when icount is not in use.</summary>
    public long? Icount { get; init; }
}
