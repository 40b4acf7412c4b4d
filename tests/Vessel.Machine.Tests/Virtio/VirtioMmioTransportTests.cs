using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Mmio;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioMmioTransportTests
{
    [Fact]
    public void IdentifiesItselfAsVersionTwoWithTheDeviceType()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        Assert.Equal(0x74726976u, h.Driver.Read(VirtioMmioRegister.MagicValue)); // "virt"
        Assert.Equal(2u, h.Driver.Read(VirtioMmioRegister.Version));
        Assert.Equal(4u, h.Driver.Read(VirtioMmioRegister.DeviceId));
        Assert.Equal(0x554d4551u, h.Driver.Read(VirtioMmioRegister.VendorId)); // "QEMU"
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.Status));
    }

    [Fact]
    public void OffersVersion1AndTheRingFeatures()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        ulong features = h.Driver.ReadDeviceFeatures();
        Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors | VirtioFeatures.EventIndex, features);
        h.Driver.Write(VirtioMmioRegister.DeviceFeaturesSelect, 2);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.DeviceFeatures));
    }

    [Fact]
    public void RefusesFeaturesOkWithoutVersion1()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        Assert.False(h.Driver.Negotiate(VirtioFeatures.EventIndex));
        Assert.Equal(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver, h.Driver.Status);
    }

    [Fact]
    public void RefusesFeaturesOkWithFeaturesTheDeviceDidNotOffer()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        Assert.False(h.Driver.Negotiate(VirtioFeatures.Version1 | (1UL << 5), force: true));
        Assert.True(h.Driver.Negotiate(VirtioFeatures.Version1));
    }

    [Fact]
    public void DriverFeaturesAreFrozenOnceFeaturesOkIsSet()
    {
        using var device = new VirtioRngDevice();
        using var h = new VirtioHarness(device);
        Assert.True(h.Driver.Negotiate(VirtioFeatures.Version1));
        h.Driver.Write(VirtioMmioRegister.DriverFeaturesSelect, 0);
        h.Driver.Write(VirtioMmioRegister.DriverFeatures, (uint)VirtioFeatures.EventIndex);
        h.Driver.SetupQueue(0);
        h.Driver.DriverOk();
        Assert.Equal(VirtioFeatures.Version1, device.NegotiatedFeatures);
    }

    [Fact]
    public void QueueRegistersFollowTheSelector()
    {
        using var h = new VirtioHarness(new VirtioBalloonDevice(new VirtioBalloonOptions { QueueSize = 64 }));
        for (uint i = 0; i < 3; i++)
        {
            h.Driver.Write(VirtioMmioRegister.QueueSelect, i);
            Assert.Equal(64u, h.Driver.Read(VirtioMmioRegister.QueueNumMax));
            Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        }

        h.Driver.Write(VirtioMmioRegister.QueueSelect, 3);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueNumMax));
    }

    [Fact]
    public void QueueReadyReadsBackAndZeroDisablesTheQueue()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        Assert.True(h.Driver.Negotiate(ulong.MaxValue));
        h.Driver.SetupQueue(0);
        Assert.Equal(1u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        h.Driver.Write(VirtioMmioRegister.QueueReady, 0);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        Assert.Equal((VirtioDeviceStatus)0, h.Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(48)]
    [InlineData(128)] // larger than QueueNumMax (64)
    [InlineData(0x1_0040)] // would truncate to 64
    public void ABadQueueSizeNeedsAReset(uint size)
    {
        using var h = new VirtioHarness(new VirtioRngDevice(64));
        Assert.True(h.Driver.Negotiate(ulong.MaxValue));
        var queue = new VirtqueueDriver(h.Memory, h.Allocator, 0, 64);
        h.Driver.Write(VirtioMmioRegister.QueueSelect, 0);
        h.Driver.Write(VirtioMmioRegister.QueueNum, size);
        h.Driver.Write(VirtioMmioRegister.QueueDescLow, (uint)queue.DescriptorTable);
        h.Driver.Write(VirtioMmioRegister.QueueDriverLow, (uint)queue.AvailableRing);
        h.Driver.Write(VirtioMmioRegister.QueueDeviceLow, (uint)queue.UsedRing);
        h.Driver.Write(VirtioMmioRegister.QueueReady, 1);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        Assert.True((h.Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0);
        h.Driver.DriverOk();
        Assert.False(h.Device is VirtioDevice { IsActive: true });
    }

    [Theory]
    [InlineData(0x1000_0000UL, 0, 0)] // descriptor table outside RAM
    [InlineData(8UL, 0, 0)] // descriptor table misaligned (offset from a valid address)
    [InlineData(0, 1UL, 0)] // available ring misaligned
    [InlineData(0, 0, 2UL)] // used ring misaligned
    [InlineData(0, 0, 0x10_0000UL - 0x100)] // used ring runs past the end of RAM
    public void RingsOutsideRamOrMisalignedNeedAReset(ulong descriptorShift, ulong availShift, ulong usedShift)
    {
        using var h = new VirtioHarness(new VirtioRngDevice(64));
        Assert.True(h.Driver.Negotiate(ulong.MaxValue));
        var queue = new VirtqueueDriver(h.Memory, h.Allocator, 0, 64);
        ulong descriptors = descriptorShift >= 0x1000_0000UL ? descriptorShift : queue.DescriptorTable + descriptorShift;
        ulong used = usedShift > 0x1000 ? h.Memory.Base + usedShift : queue.UsedRing + usedShift;
        h.Driver.Write(VirtioMmioRegister.QueueSelect, 0);
        h.Driver.Write(VirtioMmioRegister.QueueNum, 64);
        h.Driver.Write(VirtioMmioRegister.QueueDescLow, (uint)descriptors);
        h.Driver.Write(VirtioMmioRegister.QueueDescHigh, (uint)(descriptors >> 32));
        h.Driver.Write(VirtioMmioRegister.QueueDriverLow, (uint)(queue.AvailableRing + availShift));
        h.Driver.Write(VirtioMmioRegister.QueueDeviceLow, (uint)used);
        h.Driver.Write(VirtioMmioRegister.QueueReady, 1);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        Assert.True((h.Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0);
    }

    [Fact]
    public void WritingZeroToStatusResetsEverything()
    {
        using var device = new VirtioRngDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] queues = h.Start();
        ulong buffer = h.Allocator.Allocate(16);
        queues[0].Add(Support.Buffer.Writable(buffer, 16));
        h.Driver.Notify(0);
        queues[0].WaitUsed();
        Assert.True(h.Irq.Level);

        h.Driver.Write(VirtioMmioRegister.Status, 0);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.Status));
        Assert.Equal(0u, h.Driver.InterruptStatus);
        Assert.False(h.Irq.Level);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.QueueReady));
        Assert.False(device.IsActive);

        // The driver can start over with the same device.
        VirtqueueDriver[] again = h.Start();
        again[0].Add(Support.Buffer.Writable(h.Allocator.Allocate(8), 8));
        h.Driver.Notify(0);
        Assert.Equal(8u, again[0].WaitUsed().Length);
    }

    [Fact]
    public void InterruptStaysRaisedUntilAcknowledged()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver[] queues = h.Start();
        queues[0].Add(Support.Buffer.Writable(h.Allocator.Allocate(4), 4));
        h.Driver.Notify(0);
        queues[0].WaitUsed();
        Wait.Until(() => h.Irq.Level, "the interrupt line");
        Assert.Equal(VirtioMmioRegister.InterruptUsedBuffer, h.Driver.InterruptStatus);
        h.Driver.Write(VirtioMmioRegister.InterruptAck, VirtioMmioRegister.InterruptConfigChange);
        Assert.True(h.Irq.Level);
        h.Driver.Write(VirtioMmioRegister.InterruptAck, VirtioMmioRegister.InterruptUsedBuffer);
        Assert.False(h.Irq.Level);
        Assert.Equal(0u, h.Driver.InterruptStatus);
    }

    [Fact]
    public void ConfigChangeMovesTheGenerationAndInterruptsOnlyAfterDriverOk()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        uint generation = h.Driver.ConfigGeneration;
        balloon.SetTargetPages(10);
        Assert.NotEqual(generation, h.Driver.ConfigGeneration);
        Assert.False(h.Irq.Level);
        Assert.Equal(10u, h.Driver.ReadConfig32(0));

        h.Start();
        generation = h.Driver.ConfigGeneration;
        balloon.SetTargetPages(20);
        Assert.NotEqual(generation, h.Driver.ConfigGeneration);
        Assert.True(h.Irq.Level);
        Assert.Equal(VirtioMmioRegister.InterruptConfigChange, h.Driver.InterruptStatus);
    }

    [Fact]
    public void NoSharedMemoryRegions()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        h.Driver.Write(VirtioMmioRegister.SharedMemorySelect, 0);
        Assert.Equal(uint.MaxValue, h.Driver.Read(VirtioMmioRegister.SharedMemoryLengthLow));
        Assert.Equal(uint.MaxValue, h.Driver.Read(VirtioMmioRegister.SharedMemoryLengthHigh));
    }

    [Fact]
    public void OddAccessesAreHarmless()
    {
        using var h = new VirtioHarness(new VirtioBalloonDevice());
        Assert.Equal(0UL, h.Transport.Read(VirtioMmioRegister.MagicValue, 2));
        Assert.Equal(0UL, h.Transport.Read(VirtioMmioRegister.MagicValue + 1, 4));
        h.Transport.Write(VirtioMmioRegister.Status, 1, 0xff);
        Assert.Equal(0u, h.Driver.Read(VirtioMmioRegister.Status));

        // Config space beyond the device's reads as zero, writes go nowhere.
        Assert.Equal(0UL, h.Transport.Read(0x100 + 0x200, 4));
        h.Transport.Write(0x100 + 0x200, 4, 0x1234);
        Assert.Equal(0UL, h.Transport.Read(0xfff, 1));

        // Notifying a queue that does not exist, or before DRIVER_OK, does nothing.
        h.Driver.Notify(99);
        h.Driver.Notify(0);
        Assert.Equal(0u, h.Driver.InterruptStatus);
    }

    [Fact]
    public void DriverOkWithoutFeaturesOkNeedsAReset()
    {
        using var device = new VirtioRngDevice();
        using var h = new VirtioHarness(device);
        h.Driver.Write(VirtioMmioRegister.Status, (uint)VirtioDeviceStatus.Acknowledge);
        h.Driver.Write(VirtioMmioRegister.Status, (uint)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.DriverOk));
        Assert.True((h.Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0);
        Assert.False(device.IsActive);
    }
}
