namespace Vessel.Machine.Virtio;

/// <summary>
/// How a device tells its driver that something happened, whatever the transport: an MMIO
/// transport sets bits in InterruptStatus and raises one wire, a PCI transport would pick an
/// MSI-X vector per queue. Safe to call from any thread; calls never block for long.
/// </summary>
public interface IVirtioInterrupt
{
    /// <summary>The device has put buffers in the used ring of <paramref name="queueIndex"/>.</summary>
    void SignalUsedBuffers(int queueIndex);

    /// <summary>The device configuration space changed (ConfigGeneration moves on).</summary>
    void SignalConfigChange();

    /// <summary>
    /// The driver broke the protocol (a malformed ring, an impossible request); the device stops
    /// until the driver resets it. Sets DEVICE_NEEDS_RESET and raises a configuration change.
    /// </summary>
    void SignalNeedsReset();
}
