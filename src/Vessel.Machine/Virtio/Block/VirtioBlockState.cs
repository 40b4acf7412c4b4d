namespace Vessel.Machine.Virtio.Block;

/// <summary>
/// virtio-blk keeps no state beyond its queue: requests are completed one at a time, so a
/// paused device has none in flight.
/// </summary>
public sealed record VirtioBlockState : VirtioDeviceState;
