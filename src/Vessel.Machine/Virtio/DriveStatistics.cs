namespace Vessel.Machine.Virtio;

/// <summary>A guest disk as QMP names it (its drive id), with what the guest did on it.</summary>
public sealed record DriveStatistics(string Device, BlockIoStatistics Statistics);
