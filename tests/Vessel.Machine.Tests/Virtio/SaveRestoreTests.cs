using System.Net.NetworkInformation;
using System.Text.Json;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Block;
using Vessel.Machine.Virtio.Console;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Net;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

/// <summary>
/// Save in the middle of a conversation, restore into freshly built objects over the same guest
/// RAM (as a restored VM would have it), and carry on.
/// </summary>
public sealed class SaveRestoreTests
{
    [Fact]
    public void BlockDeviceContinuesWhereItLeftOff()
    {
        var disk = new MemoryBlockDevice(64 * 1024);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(VirtioBlockRequest.StatusOk, VirtioBlockDeviceTests.Submit(h, q, VirtioBlockRequest.TypeFlush, 0));
        }

        // A read is posted and notified while the VM is paused: it must wait for the restored device.
        disk.Data.AsSpan(512, 512).Fill(0x6b);
        ulong data = h.Allocator.Allocate(512);
        ulong status = h.Allocator.Place([0xff]);
        h.Transport.Pause();
        ushort head = q.Add(VirtioBlockDeviceTests.Header(h, VirtioBlockRequest.TypeIn, 1), Buffer.Writable(data, 512), Buffer.Writable(status, 1));
        h.Driver.Notify(0);
        Wait.Settle();
        Assert.False(q.TryTakeUsed(out _, out _));
        VirtioMmioState saved = RoundTrip(h.Transport.SaveState());
        Assert.Equal(5, saved.Queues[0].NextUsed);
        Assert.IsType<VirtioBlockState>(saved.Device);
        h.Transport.Device.Dispose();

        var irq = new TestInterruptLine();
        using var restored = new VirtioMmioTransport(new VirtioBlockDevice(disk), h.Memory, irq);
        restored.RestoreState(saved);
        Assert.Equal(h.Driver.Status, (VirtioDeviceStatus)restored.Read(VirtioMmioRegister.Status, 4));

        var driver = new MmioDriver(restored, h.Memory, h.Allocator);
        Assert.Equal(head, q.WaitUsed("the read posted before the snapshot").Id);
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        Assert.All(h.Memory.GetReadSpan(data, 512).ToArray(), x => Assert.Equal(0x6b, x));

        // And the next request after it.
        ulong status2 = h.Allocator.Place([0xff]);
        q.Add(VirtioBlockDeviceTests.Header(h, VirtioBlockRequest.TypeFlush, 0), Buffer.Writable(status2, 1));
        driver.Notify(0);
        q.WaitUsed();
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status2));
        Assert.Equal(7, q.UsedIndex);
        Assert.True(irq.Level);
    }

    [Fact]
    public void PendingInterruptsAndFeaturesSurvive()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver q = h.Start(features: VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors)[0];
        q.Add(Buffer.Writable(h.Allocator.Allocate(8), 8));
        h.Driver.Notify(0);
        q.WaitUsed();
        Assert.True(h.Irq.Level);
        h.Transport.Pause();
        VirtioMmioState saved = RoundTrip(h.Transport.SaveState());
        h.Transport.Device.Dispose();

        var irq = new TestInterruptLine();
        using var device = new VirtioRngDevice();
        using var restored = new VirtioMmioTransport(device, h.Memory, irq);
        restored.RestoreState(saved);
        Assert.True(irq.Level);
        Assert.Equal(VirtioMmioRegister.InterruptUsedBuffer, (uint)restored.Read(VirtioMmioRegister.InterruptStatus, 4));
        Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors, device.NegotiatedFeatures);
        q.AddIndirect(Buffer.Writable(h.Allocator.Allocate(8), 8));
        restored.Write(VirtioMmioRegister.QueueNotify, 4, 0);
        Assert.Equal(8u, q.WaitUsed().Length);
    }

    [Fact]
    public void BalloonKeepsItsStatisticsBufferAndTarget()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        VirtqueueDriver[] q = h.Start();
        balloon.SetTargetPages(300);
        h.Driver.WriteConfig32(4, 120);
        ushort held = q[2].Add(Buffer.Readable(VirtioBalloonDeviceTests.Stats(h, (BalloonStatistics.Tags.FreeMemory, 12345)), 10));
        h.Driver.Notify(2);
        Wait.Until(() => balloon.Statistics is not null, "statistics");
        h.Transport.Pause();
        VirtioMmioState saved = RoundTrip(h.Transport.SaveState());
        balloon.Dispose();

        using var restoredBalloon = new VirtioBalloonDevice();
        using var restored = new VirtioMmioTransport(restoredBalloon, h.Memory, new TestInterruptLine());
        restored.RestoreState(saved);
        Assert.Equal(300u, restoredBalloon.TargetPages);
        Assert.Equal(120u, restoredBalloon.ActualPages);
        Assert.Equal(300u, (uint)restored.Read(VirtioMmioRegister.Config, 4));
        Assert.Equal(12345UL, restoredBalloon.Statistics!.FreeMemory);
        Assert.True(restoredBalloon.RequestStatistics());
        Assert.Equal(held, q[2].WaitUsed().Id);
    }

    [Fact]
    public void ConsoleKeepsInputNotYetDelivered()
    {
        using var console = new VirtioConsoleDevice(_ => { });
        using var h = new VirtioHarness(console);
        VirtqueueDriver[] q = h.Start();
        console.EnqueueInput("pending"u8);
        h.Transport.Pause();
        VirtioMmioState saved = RoundTrip(h.Transport.SaveState());
        console.Dispose();

        using var restoredConsole = new VirtioConsoleDevice(_ => { });
        using var restored = new VirtioMmioTransport(restoredConsole, h.Memory, new TestInterruptLine());
        restored.RestoreState(saved);
        Assert.Equal(7, restoredConsole.PendingInput);
        ulong buffer = h.Allocator.Allocate(16);
        q[0].Add(Buffer.Writable(buffer, 16));
        restored.Write(VirtioMmioRegister.QueueNotify, 4, 0);
        Assert.Equal(7u, q[0].WaitUsed().Length);
        Assert.Equal("pending"u8.ToArray(), h.Memory.GetReadSpan(buffer, 7).ToArray());
    }

    [Fact]
    public void NetworkDeviceKeepsLinkStateAndReceivesIntoTheRightSlots()
    {
        var backend = new FakeNetworkBackend();
        var options = new VirtioNetOptions(PhysicalAddress.Parse("52-54-00-00-00-01"));
        using var net = new VirtioNetDevice(backend, options);
        using var h = new VirtioHarness(net);
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        for (int i = 0; i < 3; i++)
        {
            rx.Add(Buffer.Writable(h.Allocator.Allocate(2048), 2048));
        }

        Assert.True(backend.Receiver!.TryReceive(VirtioNetDeviceTests.Frame(100, 1)));
        rx.WaitUsed();
        net.SetLinkUp(false);
        net.SetLinkUp(true);
        h.Transport.Pause();
        Assert.False(backend.Receiver!.TryReceive(VirtioNetDeviceTests.Frame(100, 2))); // paused: the backend holds it
        VirtioMmioState saved = RoundTrip(h.Transport.SaveState());
        net.Dispose();

        var restoredBackend = new FakeNetworkBackend();
        using var restoredNet = new VirtioNetDevice(restoredBackend, options);
        using var restored = new VirtioMmioTransport(restoredNet, h.Memory, new TestInterruptLine());
        restored.RestoreState(saved);
        Assert.True(restoredNet.LinkUp);
        Wait.Until(() => restoredBackend.ReceiveSpaceNotifications > 0, "the restored device to ask for frames");
        byte[] frame = VirtioNetDeviceTests.Frame(100, 2);
        Assert.True(restoredBackend.Receiver!.TryReceive(frame));
        Assert.Equal(112u, rx.WaitUsed().Length);
        Assert.Equal(2, rx.UsedIndex);
    }

    [Fact]
    public void ADeviceThatNeededAResetStillNeedsOne()
    {
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        q.Add(Buffer.Writable(0x10, 8));
        h.Driver.Notify(0);
        h.WaitNeedsReset();
        VirtioMmioState saved = h.Transport.SaveState();

        var other = new RecordingDevice();
        using var restored = new VirtioMmioTransport(other, h.Memory, new TestInterruptLine());
        restored.RestoreState(saved with { DeviceType = other.DeviceType });
        Assert.True(((VirtioDeviceStatus)restored.Read(VirtioMmioRegister.Status, 4) & VirtioDeviceStatus.DeviceNeedsReset) != 0);
        Assert.False(other.IsActive);
    }

    [Fact]
    public void StateForAnotherDeviceIsRefused()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        h.Start();
        VirtioMmioState saved = h.Transport.SaveState();
        using var balloon = new VirtioMmioTransport(new VirtioBalloonDevice(), h.Memory, new TestInterruptLine());
        Assert.Throws<ArgumentException>(() => balloon.RestoreState(saved));
    }

    /// <summary>Snapshots are written to disk: the state must survive JSON.</summary>
    internal static VirtioMmioState RoundTrip(VirtioMmioState state)
    {
        string json = JsonSerializer.Serialize(state);
        VirtioMmioState back = JsonSerializer.Deserialize<VirtioMmioState>(json)!;
        Assert.Equal(json, JsonSerializer.Serialize(back));
        Assert.Equal(state.Queues, back.Queues);
        Assert.Equal(state.Device.GetType(), back.Device.GetType());
        return back;
    }
}
