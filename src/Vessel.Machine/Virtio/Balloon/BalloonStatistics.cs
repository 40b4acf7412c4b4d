namespace Vessel.Machine.Virtio.Balloon;

/// <summary>
/// Memory statistics reported by the guest through the balloon's stats queue (virtio 1.2,
/// section 5.5.6.3). Each value is null when the guest did not report it; memory amounts are in
/// bytes, faults and allocations are counts.
/// </summary>
public sealed record BalloonStatistics
{
    public ulong? SwapIn { get; init; }

    public ulong? SwapOut { get; init; }

    public ulong? MajorFaults { get; init; }

    public ulong? MinorFaults { get; init; }

    public ulong? FreeMemory { get; init; }

    public ulong? TotalMemory { get; init; }

    public ulong? AvailableMemory { get; init; }

    public ulong? DiskCaches { get; init; }

    public ulong? HugePageAllocations { get; init; }

    public ulong? HugePageFailures { get; init; }

    /// <summary>Counts reports since the device was created: tells a fresh report from the previous one.</summary>
    public long Sequence { get; init; }

    /// <summary>Statistic tags (VIRTIO_BALLOON_S_*).</summary>
    public static class Tags
    {
        public const ushort SwapIn = 0;
        public const ushort SwapOut = 1;
        public const ushort MajorFaults = 2;
        public const ushort MinorFaults = 3;
        public const ushort FreeMemory = 4;
        public const ushort TotalMemory = 5;
        public const ushort AvailableMemory = 6;
        public const ushort DiskCaches = 7;
        public const ushort HugePageAllocations = 8;
        public const ushort HugePageFailures = 9;
    }
}
