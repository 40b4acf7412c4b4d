namespace Vessel.Machine.Virtio.Queues;

/// <summary>
/// The driver corrupted a virtqueue. Thrown inside device processing and caught at the device
/// boundary, which marks the device DEVICE_NEEDS_RESET; it never escapes to a vCPU or I/O thread.
/// </summary>
public sealed class VirtqueueException(int queueIndex, VirtqueueError error, string detail)
    : Exception($"virtqueue {queueIndex}: {error}: {detail}")
{
    public int QueueIndex { get; } = queueIndex;

    public VirtqueueError Error { get; } = error;
}
