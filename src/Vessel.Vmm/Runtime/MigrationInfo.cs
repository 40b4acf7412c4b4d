namespace Vessel.Vmm.Runtime;

/// <summary>Where an outgoing save or migration is, in QEMU's words (<c>MigrationStatus</c>).</summary>
public enum MigrationStatus
{
    None,
    Setup,
    Active,
    Device,
    Cancelling,
    Cancelled,
    Completed,
    Failed,
}

/// <summary>
/// What <c>query-migrate</c> reports: QEMU's <c>MigrationInfo</c> with its RAM figures. Times are
/// milliseconds, sizes bytes, rates pages (or megabits) per second.
/// </summary>
public sealed record MigrationInfo
{
    public MigrationStatus Status { get; init; }

    public long? TotalTimeMs { get; init; }

    public long? SetupTimeMs { get; init; }

    public long? DowntimeMs { get; init; }

    public long? ExpectedDowntimeMs { get; init; }

    public long RamTransferred { get; init; }

    public long RamRemaining { get; init; }

    public long RamTotal { get; init; }

    /// <summary>Pages found zero (QEMU's "duplicate").</summary>
    public long DuplicatePages { get; init; }

    /// <summary>Pages sent with their data.</summary>
    public long NormalPages { get; init; }

    public long NormalBytes { get; init; }

    public long DirtyPagesRate { get; init; }

    public double Mbps { get; init; }

    public long DirtySyncCount { get; init; }

    /// <summary>How much the guest is slowed down to let the migration converge (0 to 99).</summary>
    public int CpuThrottlePercentage { get; init; }

    public string? ErrorDescription { get; init; }

    /// <summary>The disks' figures in a block migration (QEMU's <c>disk</c>), else null.</summary>
    public DiskMigrationFigures? Disk { get; init; }
}

/// <summary>Bytes of the disks sent, still to send (what is dirty), and their total size.</summary>
public sealed record DiskMigrationFigures(long Transferred, long Remaining, long Total);

/// <summary><c>migrate-set-parameters</c>: the ones Vessel honours, with QEMU's defaults.</summary>
public sealed record MigrationParameters
{
    /// <summary>The longest the guest may stay stopped for the last round (QEMU's default 300 ms).</summary>
    public long DowntimeLimitMs { get; init; } = 300;

    /// <summary>Bytes per second the transfer may use (QEMU's default 128 MiB/s).</summary>
    public long MaxBandwidth { get; init; } = 128L * 1024 * 1024;
}

/// <summary>One hart as <c>query-cpus-fast</c> shows it.</summary>
public sealed record HartInfo(int Index, long HostThreadId, ulong Pc, string Privilege, string RunState);

/// <summary>One internal snapshot (disk and, when it has one, VM state) as <c>info snapshots</c> lists it.</summary>
public sealed record VmSnapshotInfo(string Id, string Tag, long VmStateSize, DateTimeOffset Date, TimeSpan VmClock, IReadOnlyList<string> Drives);
