using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Queues;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

/// <summary>The split virtqueue as the driver sees it: chains in, used elements and interrupts out.</summary>
public sealed class VirtqueueTests
{
    [Fact]
    public void ADirectChainArrivesInOrderWithItsDirections()
    {
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong a = h.Allocator.Allocate(100), b = h.Allocator.Allocate(200), c = h.Allocator.Allocate(300);
        ushort head = q[0].Add(Buffer.Readable(a, 100), Buffer.Readable(b, 200), Buffer.Writable(c, 300));
        h.Driver.Notify(0);

        (ushort id, uint length) = q[0].WaitUsed();
        Assert.Equal(head, id);
        Assert.Equal(300u, length);
        DescriptorSegment[] segments = Assert.Single(device.Chains).Segments;
        Assert.Equal([new(a, 100, false), new(b, 200, false), new(c, 300, true)], segments);
        Assert.All(h.Memory.GetReadSpan(c, 300).ToArray(), x => Assert.Equal(0x5a, x));
    }

    [Fact]
    public void IndirectDescriptorsAreFollowed()
    {
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong a = h.Allocator.Allocate(16), b = h.Allocator.Allocate(512), c = h.Allocator.Allocate(1);
        ushort head = q[0].AddIndirect(Buffer.Readable(a, 16), Buffer.Writable(b, 512), Buffer.Writable(c, 1));
        h.Driver.Notify(0);

        (ushort id, uint length) = q[0].WaitUsed();
        Assert.Equal(head, id);
        Assert.Equal(513u, length);
        Assert.Equal([new(a, 16, false), new(b, 512, true), new(c, 1, true)], Assert.Single(device.Chains).Segments);
    }

    [Fact]
    public void DirectDescriptorsFollowedByAnIndirectTableAreOneChain()
    {
        // 2.7.5.3.2: "zero or more normal chained descriptors followed by a single descriptor with INDIRECT".
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong a = h.Allocator.Allocate(8), b = h.Allocator.Allocate(8);
        ulong table = h.Allocator.Allocate(16);
        q[0].WriteDescriptorAt(table, b, 8, VirtqueueDriver.FlagWrite, 0);
        ushort first = q[0].TakeDescriptor(), second = q[0].TakeDescriptor();
        q[0].WriteDescriptor(first, a, 8, VirtqueueDriver.FlagNext, second);
        q[0].WriteDescriptor(second, table, 16, VirtqueueDriver.FlagIndirect, 0);
        q[0].Publish(first);
        h.Driver.Notify(0);

        Assert.Equal(first, q[0].WaitUsed().Id);
        Assert.Equal([new(a, 8, false), new(b, 8, true)], Assert.Single(device.Chains).Segments);
    }

    [Fact]
    public void ManyRequestsWrapAroundTheRing()
    {
        var device = new RecordingDevice(queueSize: 4, inline: true);
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong buffer = h.Allocator.Allocate(4);
        for (int i = 0; i < 70_000; i += 2)
        {
            // Two at a time so that indices wrap past 65535 as well as around the ring.
            q[0].Add(Buffer.Writable(buffer, 4));
            q[0].Add(Buffer.Writable(buffer, 4));
            h.Driver.Notify(0);
            q[0].WaitUsed();
            q[0].WaitUsed();
        }

        Assert.Equal(70_000, device.Chains.Count);
        Assert.False(device.IsBroken);
    }

    [Fact]
    public void NoInterruptFlagSuppressesInterruptsWithoutEventIndex()
    {
        var device = new RecordingDevice(inline: true);
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start(features: VirtioFeatures.Version1);
        ulong buffer = h.Allocator.Allocate(4);

        q[0].SetNoInterrupt(true);
        q[0].Add(Buffer.Writable(buffer, 4));
        h.Driver.Notify(0);
        q[0].WaitUsed();
        Assert.Equal(0u, h.Driver.InterruptStatus);
        Assert.False(h.Irq.Level);

        q[0].SetNoInterrupt(false);
        q[0].Add(Buffer.Writable(buffer, 4));
        h.Driver.Notify(0);
        q[0].WaitUsed();
        Assert.Equal(1u, h.Driver.InterruptStatus);
        Assert.True(h.Irq.Level);
    }

    [Fact]
    public void UsedEventDecidesWhenTheDeviceInterrupts()
    {
        // Inline processing makes each notification complete before Notify returns.
        var device = new RecordingDevice(inline: true);
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        Assert.Equal(VirtioFeatures.EventIndex, device.NegotiatedFeatures & VirtioFeatures.EventIndex);
        ulong buffer = h.Allocator.Allocate(4);

        // The driver wants to hear when the used index passes 2 (i.e. after the third buffer).
        q[0].SetUsedEvent(2);
        for (int i = 0; i < 3; i++)
        {
            q[0].Add(Buffer.Writable(buffer, 4));
            h.Driver.Notify(0);
            Assert.Equal(i + 1, q[0].UsedIndex);
            Assert.Equal(i == 2 ? 1u : 0u, h.Driver.InterruptStatus);
        }

        h.Driver.AcknowledgeInterrupts();

        // The NO_INTERRUPT flag means nothing once event indices are negotiated.
        q[0].SetNoInterrupt(true);
        q[0].SetUsedEvent(3);
        q[0].Add(Buffer.Writable(buffer, 4));
        h.Driver.Notify(0);
        Assert.Equal(1u, h.Driver.InterruptStatus);
        Assert.Equal(2, h.Irq.RisingEdges);
    }

    [Fact]
    public void TheDeviceAsksForTheNextNotificationThroughAvailEvent()
    {
        var device = new RecordingDevice(inline: true);
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong buffer = h.Allocator.Allocate(4);
        for (int i = 1; i <= 3; i++)
        {
            q[0].Add(Buffer.Writable(buffer, 4));
            h.Driver.Notify(0);

            // Having drained the ring, the device asks to be told about the entry at index i.
            Assert.Equal(i, q[0].AvailEvent);
            q[0].TryTakeUsed(out _, out _);
        }
    }

    [Fact]
    public void BuffersPostedBeforeDriverOkAreServedOnActivation()
    {
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        Assert.True(h.Driver.Negotiate(ulong.MaxValue));
        VirtqueueDriver q = h.Driver.SetupQueue(1);
        q.Add(Buffer.Writable(h.Allocator.Allocate(4), 4));
        h.Driver.Notify(1);
        h.Driver.DriverOk();
        q.WaitUsed();
        Assert.Equal(1, Assert.Single(device.Chains).Queue);
    }

    [Fact]
    public void ZeroLengthDescriptorsCarryNothing()
    {
        var device = new RecordingDevice();
        using var h = new VirtioHarness(device);
        VirtqueueDriver[] q = h.Start();
        ulong a = h.Allocator.Allocate(4);
        q[0].Add(Buffer.Readable(0xdead_0000, 0), Buffer.Writable(a, 4));
        h.Driver.Notify(0);
        q[0].WaitUsed();
        Assert.Equal([new(a, 4, true)], Assert.Single(device.Chains).Segments);
    }

    [Fact]
    public void NotificationsSuppressedThroughAvailEventAreNeverLost()
    {
        // The driver notifies only when the device asked for it (vring_need_event on avail_event)
        // while the worker drains the ring concurrently. If the device published avail_event
        // without looking at the ring again, a request would be stranded and this would time out.
        var device = new RecordingDevice(queueSize: 64);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        ulong buffer = h.Allocator.Allocate(8);
        const int Requests = 20_000;
        int completed = 0;
        int notifications = 0;
        for (int i = 0; i < Requests; i++)
        {
            if (q.FreeDescriptors == 0)
            {
                Wait.Until(() => (completed += Reap(q)) > 0 && q.FreeDescriptors > 0, $"a free descriptor after {i} requests (notified {notifications} times)");
            }

            ushort before = q.AvailableIndex;
            q.Add(Buffer.Writable(buffer, 8));
            ushort after = q.AvailableIndex;
            Thread.MemoryBarrier();
            ushort availEvent = q.AvailEvent;
            if ((ushort)(after - availEvent - 1) < (ushort)(after - before))
            {
                h.Driver.Notify(0);
                notifications++;
            }

            completed += Reap(q);
        }

        Wait.Until(() => (completed += Reap(q)) == Requests, $"all {Requests} requests (notified {notifications} times)");
        Assert.False(device.IsBroken);
    }

    private static int Reap(VirtqueueDriver q)
    {
        int count = 0;
        while (q.TryTakeUsed(out _, out _))
        {
            count++;
        }

        return count;
    }
}
