using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Mmio;

/// <summary>
/// Everything a virtio-mmio device needs to continue after a restore: the transport registers,
/// each queue, and the device-specific state.
/// </summary>
public sealed record VirtioMmioState(
    VirtioDeviceType DeviceType,
    uint Status,
    bool Activated,
    bool NeedsReset,
    uint DeviceFeaturesSelect,
    uint DriverFeaturesSelect,
    ulong DriverFeatures,
    uint QueueSelect,
    uint InterruptStatus,
    uint ConfigGeneration,
    VirtqueueState[] Queues,
    VirtioDeviceState Device);
