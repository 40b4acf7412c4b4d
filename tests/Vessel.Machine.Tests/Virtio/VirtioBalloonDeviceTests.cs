using System.Buffers.Binary;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Mmio;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioBalloonDeviceTests
{
    [Fact]
    public void InflatingDiscardsExactlyTheGivenPages()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        VirtqueueDriver[] q = h.Start();
        ulong firstPage = h.Memory.Base + 200 * 4096;
        h.Memory.GetWriteSpan(firstPage, 12 * 4096).Fill(0xab);

        // Pages 200-203 (contiguous), 205 and 207; page 204, 206 and 208+ stay.
        uint basePfn = (uint)(firstPage >> 12);
        uint[] pfns = [basePfn, basePfn + 1, basePfn + 2, basePfn + 3, basePfn + 5, basePfn + 7];
        Post(h, q[VirtioBalloonDevice.InflateQueue], pfns);
        h.Driver.Notify(VirtioBalloonDevice.InflateQueue);
        Assert.Equal(0u, q[VirtioBalloonDevice.InflateQueue].WaitUsed().Length);

        for (int page = 0; page < 12; page++)
        {
            bool discarded = pfns.Contains(basePfn + (uint)page);
            byte expected = discarded ? (byte)0 : (byte)0xab;
            Assert.All(h.Memory.GetReadSpan(firstPage + (ulong)page * 4096, 4096).ToArray(), x => Assert.Equal(expected, x));
        }

        Assert.Equal(6, balloon.InflatedPages);

        // A discarded page is usable again on first touch.
        h.Memory.Write(firstPage, 0x1234u);
        Assert.Equal(0x1234u, h.Memory.Read<uint>(firstPage));
    }

    [Fact]
    public void PagesOutsideRamAreIgnored()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        VirtqueueDriver[] q = h.Start();
        ulong lastPage = h.Memory.End - 4096;
        h.Memory.GetWriteSpan(lastPage, 4096).Fill(0xcd);
        Post(h, q[0], [0, 0x7ffff, (uint)(h.Memory.End >> 12), uint.MaxValue, (uint)(lastPage >> 12)]);
        h.Driver.Notify(0);
        q[0].WaitUsed();
        Assert.Equal(4, balloon.RejectedPages);
        Assert.Equal(1, balloon.InflatedPages);
        Assert.All(h.Memory.GetReadSpan(lastPage, 4096).ToArray(), x => Assert.Equal(0, x));
        Assert.False(balloon.IsBroken);
    }

    [Fact]
    public void DeflatingCountsPagesBack()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        VirtqueueDriver[] q = h.Start();
        uint pfn = (uint)((h.Memory.Base >> 12) + 100);
        Post(h, q[0], [pfn, pfn + 1, pfn + 2]);
        h.Driver.Notify(0);
        q[0].WaitUsed();
        Post(h, q[VirtioBalloonDevice.DeflateQueue], [pfn, pfn + 2]);
        h.Driver.Notify(VirtioBalloonDevice.DeflateQueue);
        q[VirtioBalloonDevice.DeflateQueue].WaitUsed();
        Assert.Equal(1, balloon.InflatedPages);
    }

    [Fact]
    public void TheHostSetsTheTargetAndTheGuestReportsTheActualSize()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        h.Start();
        balloon.SetTargetPages(1000);
        Assert.Equal(1000u, h.Driver.ReadConfig32(0));
        Assert.Equal(VirtioMmioRegister.InterruptConfigChange, h.Driver.InterruptStatus);
        Assert.True(h.Irq.Level);

        h.Driver.WriteConfig32(4, 640);
        h.Driver.WriteConfig32(0, 7); // num_pages is the device's; the driver cannot change it
        Assert.Equal(640u, balloon.ActualPages);
        Assert.Equal(640u, h.Driver.ReadConfig32(4));
        Assert.Equal(1000u, h.Driver.ReadConfig32(0));
        Assert.Equal(1000u, balloon.TargetPages);

        // A reset returns the guest's pages to it; the host's target stays.
        h.Driver.Write(VirtioMmioRegister.Status, 0);
        Assert.Equal(0u, balloon.ActualPages);
        Assert.Equal(1000u, h.Driver.ReadConfig32(0));
    }

    [Fact]
    public void EachNewActualSizeFromTheGuestIsReportedOnce()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        var reported = new List<uint>();
        balloon.ActualPagesChanged += reported.Add;
        h.Start();
        balloon.SetTargetPages(1000);

        h.Driver.WriteConfig32(4, 256);
        h.Driver.WriteConfig32(4, 256); // the same size again is no change
        h.Driver.WriteConfig32(0, 7); // nor is a write to the host's field
        h.Driver.WriteConfig32(4, 1000);
        Assert.Equal([256u, 1000u], reported);
    }

    [Fact]
    public void StatisticsAreHeldAndReturnedOnRequest()
    {
        using var balloon = new VirtioBalloonDevice();
        using var h = new VirtioHarness(balloon);
        Assert.Equal(VirtioBalloonDevice.FeatureStatsQueue | VirtioBalloonDevice.FeatureDeflateOnOom,
            h.Driver.ReadDeviceFeatures() & ~VirtioFeatures.CommonRingFeatures);
        VirtqueueDriver stats = h.Start()[VirtioBalloonDevice.StatisticsQueue];
        var received = new List<BalloonStatistics>();
        balloon.StatisticsReceived += s =>
        {
            lock (received)
            {
                received.Add(s);
            }
        };

        // Linux primes the queue with its first statistics right after DRIVER_OK.
        ushort first = stats.Add(Buffer.Readable(Stats(h, (BalloonStatistics.Tags.FreeMemory, 100UL << 20), (BalloonStatistics.Tags.TotalMemory, 1UL << 30), (42, 7)), 30));
        h.Driver.Notify(VirtioBalloonDevice.StatisticsQueue);
        Wait.Until(() => balloon.Statistics is not null, "the first statistics");
        BalloonStatistics one = balloon.Statistics!;
        Assert.Equal(100UL << 20, one.FreeMemory);
        Assert.Equal(1UL << 30, one.TotalMemory);
        Assert.Null(one.SwapIn);
        Assert.False(stats.TryTakeUsed(out _, out _)); // the device keeps the buffer

        h.Driver.AcknowledgeInterrupts();
        Assert.True(balloon.RequestStatistics());
        Assert.False(balloon.RequestStatistics()); // no buffer until the guest answers
        Assert.Equal(first, stats.WaitUsed().Id);
        Assert.Equal(VirtioMmioRegister.InterruptUsedBuffer, h.Driver.InterruptStatus);

        stats.Add(Buffer.Readable(Stats(h, (BalloonStatistics.Tags.FreeMemory, 50UL << 20), (BalloonStatistics.Tags.MajorFaults, 3)), 20));
        h.Driver.Notify(VirtioBalloonDevice.StatisticsQueue);
        Wait.Until(() => balloon.Statistics!.Sequence == one.Sequence + 1, "the second statistics");
        Assert.Equal(50UL << 20, balloon.Statistics!.FreeMemory);
        Assert.Equal(3UL, balloon.Statistics!.MajorFaults);
        lock (received)
        {
            Assert.Equal(2, received.Count);
        }
    }

    [Fact]
    public void WithoutTheStatisticsFeatureThereIsNothingToRequest()
    {
        using var balloon = new VirtioBalloonDevice(new VirtioBalloonOptions { Statistics = false });
        using var h = new VirtioHarness(balloon);
        h.Start(queueCount: 2);
        Assert.False(balloon.RequestStatistics());
    }

    private static void Post(VirtioHarness h, VirtqueueDriver q, uint[] pfns)
    {
        byte[] bytes = new byte[pfns.Length * 4];
        for (int i = 0; i < pfns.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), pfns[i]);
        }

        q.Add(Buffer.Readable(h.Allocator.Place(bytes), bytes.Length));
    }

    internal static ulong Stats(VirtioHarness h, params (ushort Tag, ulong Value)[] entries)
    {
        byte[] bytes = new byte[entries.Length * 10];
        for (int i = 0; i < entries.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 10), entries[i].Tag);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 10 + 2), entries[i].Value);
        }

        return h.Allocator.Place(bytes, 2);
    }
}
