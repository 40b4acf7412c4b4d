namespace Vessel.Machine.Virtio.Queues;

/// <summary>
/// The saved state of one split virtqueue: what the driver configured and how far the device
/// has got in each ring.
/// </summary>
public sealed record VirtqueueState(
    ushort Size,
    bool Ready,
    ulong DescriptorTable,
    ulong DriverArea,
    ulong DeviceArea,
    ushort NextAvailable,
    ushort NextUsed,
    ushort UsedAtLastSignal);
