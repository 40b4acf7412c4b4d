namespace Vessel.Storage;

/// <summary>An internal snapshot as listed by <c>vessel img snapshot -l</c> and <c>info</c>.</summary>
public sealed record SnapshotInfo(
    string Id,
    string Name,
    DateTimeOffset Date,
    long VmClockNanoseconds,
    long VmStateSize,
    long DiskSize,
    long? Icount,
    uint DateSeconds,
    uint DateNanoseconds);
