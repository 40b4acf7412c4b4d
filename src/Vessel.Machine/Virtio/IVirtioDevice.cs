using Vessel.Machine.Persistence;

namespace Vessel.Machine.Virtio;

/// <summary>
/// A virtio device as its transport sees it. Devices know nothing of how they are reached
/// (MMIO registers, PCI capabilities): the transport negotiates features, lets the driver set
/// up queues, forwards configuration space accesses and queue notifications, and hands the
/// device the result on <see cref="Activate"/>. All members may be called from vCPU threads;
/// implementations do their own locking. <see cref="IPersistent{TState}"/> gives the device-specific
/// part of the state (queues and transport registers are saved by the transport); it is restored
/// before <see cref="Activate"/>.
/// </summary>
public interface IVirtioDevice : IPersistent<VirtioDeviceState>, IDisposable
{
    VirtioDeviceType DeviceType { get; }

    /// <summary>Every feature bit the device offers, ring features included.</summary>
    ulong DeviceFeatures { get; }

    /// <summary>How many virtqueues the device may use (the driver may set up fewer).</summary>
    int QueueCount { get; }

    /// <summary>The largest size (a power of two) the driver may give queue <paramref name="queueIndex"/>.</summary>
    ushort GetMaxQueueSize(int queueIndex);

    /// <summary>Size in bytes of the device-specific configuration space.</summary>
    int ConfigSize { get; }

    /// <summary>Reads configuration bytes; bytes beyond <see cref="ConfigSize"/> read as zero.</summary>
    void ReadConfig(int offset, Span<byte> data);

    /// <summary>Writes configuration bytes; read-only fields ignore writes.</summary>
    void WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>Gives the device the transport's interrupt sink. Called once, by the transport's constructor.</summary>
    void Connect(IVirtioInterrupt interrupt);

    /// <summary>The driver set DRIVER_OK: start serving the queues.</summary>
    void Activate(VirtioActivation activation);

    /// <summary>
    /// The driver wrote 0 to the status: stop using the queues (waiting for requests in flight)
    /// and return to the state after construction, keeping host-side settings.
    /// </summary>
    void Reset();

    /// <summary>The driver notified queue <paramref name="queueIndex"/> of new buffers. Must not block on I/O.</summary>
    void NotifyQueue(int queueIndex);

    /// <summary>Stops processing (waiting for requests in flight) so guest memory and device state hold still.</summary>
    void Pause();

    /// <summary>Resumes processing after <see cref="Pause"/>, catching up with anything posted meanwhile.</summary>
    void Resume();
}
