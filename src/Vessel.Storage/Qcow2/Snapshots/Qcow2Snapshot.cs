namespace Vessel.Storage.Qcow2.Snapshots;

/// <summary>One entry of the qcow2 snapshot table (docs/interop/qcow2.rst, "Snapshots").</summary>
internal sealed class Qcow2Snapshot
{
    public long L1TableOffset { get; set; }
    public uint L1Size { get; set; }
    public required string Id { get; set; }
    public required string Name { get; set; }
    public uint DateSeconds { get; set; }
    public uint DateNanoseconds { get; set; }
    public ulong VmClockNanoseconds { get; set; }
    public ulong VmStateSize { get; set; }

    /// <summary>The virtual disk size when the snapshot was taken, if the entry records it.</summary>
    public ulong? DiskSize { get; set; }

    public ulong Icount { get; set; } = ulong.MaxValue;

    /// <summary>Extra data past the fields Vessel knows, preserved when the table is rewritten.</summary>
    public byte[] UnknownExtraData { get; set; } = [];

    public SnapshotInfo ToInfo() => new(
        Id,
        Name,
        DateTimeOffset.FromUnixTimeSeconds(DateSeconds).AddTicks(DateNanoseconds / 100),
        (long)VmClockNanoseconds,
        (long)Math.Min(VmStateSize, long.MaxValue),
        (long)Math.Min(DiskSize ?? 0, long.MaxValue),
        Icount == ulong.MaxValue ? null : (long)Icount,
        DateSeconds,
        DateNanoseconds);
}
