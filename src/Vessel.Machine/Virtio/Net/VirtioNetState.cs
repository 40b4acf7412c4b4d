namespace Vessel.Machine.Virtio.Net;

/// <summary>virtio-net's state beyond its queues: the link status the guest sees.</summary>
public sealed record VirtioNetState(bool LinkUp) : VirtioDeviceState;
