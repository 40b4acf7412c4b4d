using Vessel.Machine.Memory;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Mmio;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>Guest RAM, a transport around the device under test, and a mock driver in front of it.</summary>
public sealed class VirtioHarness : IDisposable
{
    public const ulong RamBase = 0x8000_0000;

    public VirtioHarness(IVirtioDevice device, ulong ramSize = 1 << 20)
    {
        Memory = new GuestMemory(RamBase, ramSize);
        Allocator = new GuestAllocator(Memory);
        Irq = new TestInterruptLine();
        Device = device;
        Transport = new VirtioMmioTransport(device, Memory, Irq);
        Driver = new MmioDriver(Transport, Memory, Allocator);
    }

    public GuestMemory Memory { get; }

    public GuestAllocator Allocator { get; }

    public TestInterruptLine Irq { get; }

    public IVirtioDevice Device { get; }

    public VirtioMmioTransport Transport { get; }

    public MmioDriver Driver { get; }

    /// <summary>Negotiates (everything offered, or <paramref name="features"/>), sets up every queue and sets DRIVER_OK.</summary>
    public VirtqueueDriver[] Start(ulong? features = null, int? queueCount = null, ushort? queueSize = null)
    {
        Assert.True(Driver.Negotiate(features ?? ulong.MaxValue), "FEATURES_OK was refused");
        var queues = new VirtqueueDriver[queueCount ?? Device.QueueCount];
        for (int i = 0; i < queues.Length; i++)
        {
            queues[i] = Driver.SetupQueue(i, queueSize);
        }

        Driver.DriverOk();
        Assert.Equal(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk, Driver.Status);
        return queues;
    }

    /// <summary>Waits until the device reports DEVICE_NEEDS_RESET.</summary>
    public void WaitNeedsReset()
        => Wait.Until(() => (Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0, "DEVICE_NEEDS_RESET");

    public void Dispose()
    {
        Transport.Dispose();
        Memory.Dispose();
    }
}
