using System.Net.NetworkInformation;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Block;
using Vessel.Machine.Virtio.Console;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Net;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

/// <summary>Virtqueue processing must not allocate per request: measured on the thread that does the work.</summary>
[Collection(Vessel.Machine.Tests.Virtio.Support.AllocationMeasurements.Name)]
public sealed class AllocationTests
{
    [Fact]
    public void InlineRequestsAllocateNothing()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver q = h.Start()[0];
        ulong buffer = h.Allocator.Allocate(64);
        long quietest = AllocationRounds.Quietest(round =>
        {
            long allocated = 0;
            for (int i = 0; i < 500; i++)
            {
                q.Add(Buffer.Writable(buffer, 32), Buffer.Writable(buffer + 32, 32));
                allocated += AllocationRounds.Measure(() => h.Driver.Notify(0)); // served on this thread, like a vCPU
                Assert.True(q.TryTakeUsed(out _, out _));
                h.Driver.AcknowledgeInterrupts();
            }

            return allocated;
        });

        Assert.Equal(0, quietest);
    }

    [Fact]
    public void ConsoleOutputAllocatesNothing()
    {
        int bytes = 0;
        using var h = new VirtioHarness(new VirtioConsoleDevice(data => bytes += data.Length));
        VirtqueueDriver tx = h.Start()[VirtioConsoleDevice.TransmitQueue];
        ulong text = h.Allocator.Place("some console output\n"u8);
        long quietest = AllocationRounds.Quietest(round =>
        {
            long allocated = 0;
            for (int i = 0; i < 500; i++)
            {
                tx.Add(Buffer.Readable(text, 20));
                allocated += AllocationRounds.Measure(() => h.Driver.Notify(VirtioConsoleDevice.TransmitQueue));
                Assert.True(tx.TryTakeUsed(out _, out _));
            }

            return allocated;
        });

        Assert.Equal(0, quietest);
        Assert.Equal(20 * 500 * AllocationRounds.Rounds, bytes);
    }

    [Fact]
    public void BlockRequestsOnTheWorkerAllocateNothing()
    {
        const int Requests = 100;
        var disk = new MemoryBlockDevice(1 << 20);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk), ramSize: 4 << 20);
        VirtqueueDriver q = h.Start()[0];
        Buffer header = VirtioBlockDeviceTests.Header(h, VirtioBlockRequest.TypeIn, 8);
        ulong data = h.Allocator.Allocate(4096);
        ulong status = h.Allocator.Allocate(Requests);
        for (int round = 0; round < 2; round++)
        {
            disk.AllocationProbe = new long[Requests];
            for (int i = 0; i < Requests; i++)
            {
                q.AddIndirect(header, Buffer.Writable(data, 2048), Buffer.Writable(data + 2048, 2048), Buffer.Writable(status + (ulong)i, 1));
            }

            h.Driver.Notify(0);
            for (int i = 0; i < Requests; i++)
            {
                q.WaitUsed();
            }
        }

        // Between one request's disk read and the next one's, the worker completed a request,
        // signalled the driver and parsed a new chain: none of that may allocate.
        long[] probe = disk.AllocationProbe!;
        Assert.Equal(Requests, disk.ProbeCount);
        Assert.Equal(probe[0], probe[Requests - 1]);
    }

    [Fact]
    public void ReceivingFramesAllocatesNothing()
    {
        var backend = new FakeNetworkBackend();
        using var h = new VirtioHarness(new VirtioNetDevice(backend, new VirtioNetOptions(PhysicalAddress.Parse("52-54-00-00-00-02"))));
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        ulong buffers = h.Allocator.Allocate(4 * 1024);
        byte[] frame = VirtioNetDeviceTests.Frame(1500, 3);
        long quietest = AllocationRounds.Quietest(round =>
        {
            long allocated = 0;
            for (int i = 0; i < 200; i++)
            {
                // Mergeable buffers of 1 KiB: each frame spans two of them.
                rx.Add(Buffer.Writable(buffers, 1024));
                rx.Add(Buffer.Writable(buffers + 1024, 1024));
                bool received = false;
                allocated += AllocationRounds.Measure(() => received = backend.Receiver!.TryReceive(frame));
                Assert.True(received);
                Assert.True(rx.TryTakeUsed(out _, out _));
                Assert.True(rx.TryTakeUsed(out _, out _));
            }

            return allocated;
        });

        Assert.Equal(0, quietest);
    }
}
