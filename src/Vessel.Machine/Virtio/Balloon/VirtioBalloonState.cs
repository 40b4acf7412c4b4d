namespace Vessel.Machine.Virtio.Balloon;

/// <summary>
/// The balloon's state: the host's target, the guest's reported size, the pages given back, the
/// statistics buffer the device holds for its next request (-1 for none) and the last statistics.
/// </summary>
public sealed record VirtioBalloonState(
    uint TargetPages,
    uint ActualPages,
    long InflatedPages,
    int HeldStatisticsHead,
    BalloonStatistics? LastStatistics) : VirtioDeviceState;
