using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Block;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioBlockDeviceTests
{
    private const int DiskSize = 64 * 1024 + 100; // a partial last sector is not addressable

    [Fact]
    public void ConfigurationDescribesTheDisk()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk, new VirtioBlockOptions { LogicalBlockSize = 4096, QueueSize = 128 }));
        ulong offered = h.Driver.ReadDeviceFeatures();
        ulong expected = VirtioBlockFeatures.SegMax | VirtioBlockFeatures.BlockSize | VirtioBlockFeatures.Flush
            | VirtioBlockFeatures.Discard | VirtioBlockFeatures.WriteZeroes | VirtioFeatures.CommonRingFeatures;
        Assert.Equal(expected, offered);
        Assert.Equal(128UL, h.Driver.ReadConfig64(0)); // capacity in 512-byte sectors
        Assert.Equal(126u, h.Driver.ReadConfig32(12)); // seg_max leaves room for header and status
        Assert.Equal(4096u, h.Driver.ReadConfig32(20)); // blk_size
        Assert.Equal(0x3f_ffffu, h.Driver.ReadConfig32(36)); // max_discard_sectors
        Assert.Equal(16u, h.Driver.ReadConfig32(40)); // max_discard_seg
        Assert.Equal(8u, h.Driver.ReadConfig32(44)); // discard_sector_alignment = blk_size / 512
        Assert.Equal(0x3f_ffffu, h.Driver.ReadConfig32(48)); // max_write_zeroes_sectors
        Assert.Equal(16u, h.Driver.ReadConfig32(52)); // max_write_zeroes_seg
        Assert.Equal(1, h.Driver.ReadConfig8(56)); // write_zeroes_may_unmap
        Assert.Equal(2u, h.Driver.Read(Vessel.Machine.Virtio.Mmio.VirtioMmioRegister.DeviceId));
    }

    [Fact]
    public void ReadsSectorsIntoScatteredBuffers()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        new Random(1).NextBytes(disk.Data);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        ulong first = h.Allocator.Allocate(300), second = h.Allocator.Allocate(724);
        ulong status = h.Allocator.Place([0xff]);
        ushort head = q.Add(Header(h, VirtioBlockRequest.TypeIn, 3), Buffer.Writable(first, 300), Buffer.Writable(second, 724), Buffer.Writable(status, 1));
        h.Driver.Notify(0);

        (ushort id, uint length) = q.WaitUsed();
        Assert.Equal(head, id);
        Assert.Equal(1025u, length);
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        Assert.Equal(disk.Data.AsSpan(1536, 300).ToArray(), h.Memory.GetReadSpan(first, 300).ToArray());
        Assert.Equal(disk.Data.AsSpan(1836, 724).ToArray(), h.Memory.GetReadSpan(second, 724).ToArray());
        Assert.True(h.Irq.Level);
    }

    [Fact]
    public void WritesSectorsFromIndirectBuffers()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        byte[] data = new byte[2048];
        new Random(2).NextBytes(data);
        ulong a = h.Allocator.Place(data.AsSpan(0, 1000)), b = h.Allocator.Place(data.AsSpan(1000));
        ulong status = h.Allocator.Place([0xff]);
        q.AddIndirect(Header(h, VirtioBlockRequest.TypeOut, 10), Buffer.Readable(a, 1000), Buffer.Readable(b, 1048), Buffer.Writable(status, 1));
        h.Driver.Notify(0);

        Assert.Equal(1u, q.WaitUsed().Length);
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        Assert.Equal(data, disk.Data.AsSpan(5120, 2048).ToArray());
        Assert.All(disk.Data.AsSpan(0, 5120).ToArray(), x => Assert.Equal(0, x));
    }

    [Fact]
    public void HeaderAndDataMaySplitAnywhere()
    {
        // The layout is not fixed (VIRTIO_F_ANY_LAYOUT is implied by VERSION_1): one readable
        // buffer may hold the header and the start of the data.
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        byte[] request = new byte[16 + 512];
        BinaryPrimitives.WriteUInt32LittleEndian(request, VirtioBlockRequest.TypeOut);
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), 1);
        request.AsSpan(16).Fill(0x77);
        ulong all = h.Allocator.Place(request);
        ulong status = h.Allocator.Place([0xff]);
        q.Add(Buffer.Readable(all, 20), Buffer.Readable(all + 20, 508), Buffer.Writable(status, 1));
        h.Driver.Notify(0);
        q.WaitUsed();
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        Assert.All(disk.Data.AsSpan(512, 512).ToArray(), x => Assert.Equal(0x77, x));
    }

    [Fact]
    public void DataInTheWrongDirectionFailsTheRequest()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        disk.Data.AsSpan().Fill(0x21);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        ulong data = h.Allocator.Place(Enumerable.Repeat((byte)0x43, 512).ToArray());

        // A write whose data the device may only write, and a read whose buffer it may only read.
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeOut, 0, Buffer.Writable(data, 512)));
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeIn, 0, Buffer.Readable(data, 512)));
        Assert.All(disk.Data, x => Assert.Equal(0x21, x));
        Assert.All(h.Memory.GetReadSpan(data, 512).ToArray(), x => Assert.Equal(0x43, x));
    }

    [Fact]
    public void FlushReachesTheDisk()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeFlush, 0));
        Assert.Equal(1, disk.Flushes);
    }

    [Theory]
    [InlineData("vessel-disk-0001")]
    [InlineData("01234567890123456789")]
    [InlineData("")]
    public void GetIdReturnsTheSerialPaddedWithZeroes(string serial)
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk, new VirtioBlockOptions { Serial = serial }));
        VirtqueueDriver q = h.Start()[0];
        ulong id = h.Allocator.Place(Enumerable.Repeat((byte)0xee, 20).ToArray());
        ulong status = h.Allocator.Place([0xff]);
        q.Add(Header(h, VirtioBlockRequest.TypeGetId, 0), Buffer.Writable(id, 20), Buffer.Writable(status, 1));
        h.Driver.Notify(0);
        Assert.Equal(21u, q.WaitUsed().Length);
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        byte[] expected = new byte[20];
        Encoding.ASCII.GetBytes(serial).CopyTo(expected, 0);
        Assert.Equal(expected, h.Memory.GetReadSpan(id, 20).ToArray());
    }

    [Theory]
    [InlineData(VirtioBlockRequest.TypeIn, 127UL, 1024)] // last sector plus one beyond
    [InlineData(VirtioBlockRequest.TypeIn, 128UL, 512)] // first sector beyond the end
    [InlineData(VirtioBlockRequest.TypeOut, 200UL, 512)]
    [InlineData(VirtioBlockRequest.TypeIn, ulong.MaxValue, 512)] // sector * 512 overflows
    [InlineData(VirtioBlockRequest.TypeOut, 0x0080_0000_0000_0000UL, 512)]
    [InlineData(VirtioBlockRequest.TypeIn, 0UL, 100)] // not a whole sector
    [InlineData(VirtioBlockRequest.TypeOut, 0UL, 513)]
    public void RequestsOutsideTheDiskOrNotInSectorsFail(uint type, ulong sector, int length)
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        ulong data = h.Allocator.Place(Enumerable.Repeat((byte)0x42, length).ToArray());
        Buffer payload = type == VirtioBlockRequest.TypeIn ? Buffer.Writable(data, length) : Buffer.Readable(data, length);
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, type, sector, payload));
        Assert.All(disk.Data, x => Assert.Equal(0, x));
    }

    [Fact]
    public void AReadOnlyDiskRefusesWrites()
    {
        var disk = new MemoryBlockDevice(DiskSize, readOnly: true);
        disk.Data.AsSpan().Fill(0x11);
        using var device = new VirtioBlockDevice(disk);
        using var h = new VirtioHarness(device);
        Assert.True(device.IsReadOnly);
        ulong offered = h.Driver.ReadDeviceFeatures();
        Assert.Equal(VirtioBlockFeatures.ReadOnly, offered & VirtioBlockFeatures.ReadOnly);
        Assert.Equal(0UL, offered & (VirtioBlockFeatures.Discard | VirtioBlockFeatures.WriteZeroes));
        VirtqueueDriver q = h.Start()[0];

        ulong data = h.Allocator.Place(new byte[512]);
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeOut, 0, Buffer.Readable(data, 512)));
        Assert.Equal(VirtioBlockRequest.StatusUnsupported, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0, Buffer.Readable(Range(h, 0, 1, 0), 16)));
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeIn, 0, Buffer.Writable(data, 512)));
        Assert.All(h.Memory.GetReadSpan(data, 512).ToArray(), x => Assert.Equal(0x11, x));
        Assert.All(disk.Data, x => Assert.Equal(0x11, x));
    }

    [Fact]
    public void TheReadOnlyOptionHidesAWritableDisk()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk, new VirtioBlockOptions { ReadOnly = true }));
        VirtqueueDriver q = h.Start()[0];
        ulong data = h.Allocator.Place(Enumerable.Repeat((byte)1, 512).ToArray());
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeOut, 0, Buffer.Readable(data, 512)));
        Assert.All(disk.Data, x => Assert.Equal(0, x));
    }

    [Fact]
    public void DiscardPassesEveryRangeToTheDisk()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        byte[] ranges = new byte[32];
        WriteRange(ranges, 2, 4, 0);
        WriteRange(ranges.AsSpan(16), 100, 28, 0);
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0, Buffer.Readable(h.Allocator.Place(ranges), 32)));
        Assert.Equal([(1024L, 2048L), (51200L, 14336L)], disk.Discards);
    }

    [Fact]
    public void WriteZeroesHonoursTheUnmapFlag()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        disk.Data.AsSpan().Fill(0x99);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeWriteZeroes, 0, Buffer.Readable(Range(h, 8, 2, VirtioBlockRequest.RangeFlagUnmap), 16)));
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeWriteZeroes, 0, Buffer.Readable(Range(h, 20, 1, 0), 16)));
        Assert.Equal([(4096L, 1024L, true), (10240L, 512L, false)], disk.WriteZeroesCalls);
        Assert.All(disk.Data.AsSpan(4096, 1024).ToArray(), x => Assert.Equal(0, x));
        Assert.Equal(0x99, disk.Data[4095]);
        Assert.Equal(0x99, disk.Data[5120]);
    }

    [Theory]
    [InlineData(VirtioBlockRequest.TypeDiscard, 0UL, 1u, VirtioBlockRequest.RangeFlagUnmap, VirtioBlockRequest.StatusUnsupported)] // unmap is for write-zeroes only
    [InlineData(VirtioBlockRequest.TypeDiscard, 0UL, 1u, 2u, VirtioBlockRequest.StatusUnsupported)] // unknown flag
    [InlineData(VirtioBlockRequest.TypeWriteZeroes, 0UL, 1u, 0x80u, VirtioBlockRequest.StatusUnsupported)]
    [InlineData(VirtioBlockRequest.TypeDiscard, 120UL, 9u, 0u, VirtioBlockRequest.StatusIoError)] // past the end
    [InlineData(VirtioBlockRequest.TypeWriteZeroes, ulong.MaxValue, 1u, 0u, VirtioBlockRequest.StatusIoError)]
    [InlineData(VirtioBlockRequest.TypeDiscard, 0UL, 0x40_0000u, 0u, VirtioBlockRequest.StatusIoError)] // above max_discard_sectors
    public void BadRangesFailTheWholeRequest(uint type, ulong sector, uint sectors, uint flags, byte expected)
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        byte[] ranges = new byte[32];
        WriteRange(ranges, 0, 1, 0); // a good range first: nothing may happen to it either
        WriteRange(ranges.AsSpan(16), sector, sectors, flags);
        Assert.Equal(expected, Submit(h, q, type, 0, Buffer.Readable(h.Allocator.Place(ranges), 32)));
        Assert.Empty(disk.Discards);
        Assert.Empty(disk.WriteZeroesCalls);
    }

    [Fact]
    public void TooManyRangesOrAPartialRangeFail()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk, new VirtioBlockOptions { MaxDiscardSegments = 2 }));
        VirtqueueDriver q = h.Start()[0];
        ulong three = h.Allocator.Place(new byte[48]);
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0, Buffer.Readable(three, 48)));
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0, Buffer.Readable(three, 20)));
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0));
        Assert.Empty(disk.Discards);
    }

    [Fact]
    public void DiscardWithoutTheFeatureIsUnsupported()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start(features: ulong.MaxValue & ~VirtioBlockFeatures.Discard)[0];
        Assert.Equal(VirtioBlockRequest.StatusUnsupported, Submit(h, q, VirtioBlockRequest.TypeDiscard, 0, Buffer.Readable(Range(h, 0, 1, 0), 16)));
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeWriteZeroes, 0, Buffer.Readable(Range(h, 0, 1, 0), 16)));
    }

    [Theory]
    [InlineData(VirtioBlockRequest.TypeGetLifetime)]
    [InlineData(VirtioBlockRequest.TypeSecureErase)]
    [InlineData(2u)] // legacy SCSI command
    [InlineData(0xdead_beefu)]
    public void UnknownRequestsAreUnsupported(uint type)
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        Assert.Equal(VirtioBlockRequest.StatusUnsupported, Submit(h, q, type, 0));
    }

    [Fact]
    public void AShortHeaderIsAnIoError()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        ulong header = h.Allocator.Place(new byte[8]);
        ulong status = h.Allocator.Place([0xff]);
        q.Add(Buffer.Readable(header, 8), Buffer.Writable(status, 1));
        h.Driver.Notify(0);
        q.WaitUsed();
        Assert.Equal(VirtioBlockRequest.StatusIoError, h.Memory.Read<byte>(status));
    }

    [Fact]
    public void ARequestWithNowhereToPutTheStatusNeedsAReset()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        using var device = new VirtioBlockDevice(disk);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        q.Add(Header(h, VirtioBlockRequest.TypeFlush, 0));
        h.Driver.Notify(0);
        h.WaitNeedsReset();
        Assert.Contains("status byte", device.FailureReason);
        Assert.Equal(0, disk.Flushes);
    }

    [Fact]
    public void HostDiskErrorsBecomeIoErrors()
    {
        var disk = new MemoryBlockDevice(DiskSize) { FailIo = true };
        using var device = new VirtioBlockDevice(disk);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        ulong data = h.Allocator.Allocate(512);
        Assert.Equal(VirtioBlockRequest.StatusIoError, Submit(h, q, VirtioBlockRequest.TypeIn, 0, Buffer.Writable(data, 512)));
        Assert.Equal(1, device.IoErrorCount);
        Assert.False(device.IsBroken);
        disk.FailIo = false;
        Assert.Equal(VirtioBlockRequest.StatusOk, Submit(h, q, VirtioBlockRequest.TypeIn, 0, Buffer.Writable(data, 512)));
    }

    [Fact]
    public void TheNotifyingVcpuDoesNotWaitForTheDisk()
    {
        using var gate = new ManualResetEventSlim(false);
        var disk = new MemoryBlockDevice(DiskSize) { WriteGate = gate };
        using var h = new VirtioHarness(new VirtioBlockDevice(disk));
        VirtqueueDriver q = h.Start()[0];
        ulong data = h.Allocator.Place(Enumerable.Repeat((byte)3, 512).ToArray());
        ulong status = h.Allocator.Place([0xff]);
        q.Add(Header(h, VirtioBlockRequest.TypeOut, 0), Buffer.Readable(data, 512), Buffer.Writable(status, 1));

        h.Driver.Notify(0); // returns although the disk write is stuck
        Wait.Settle();
        Assert.False(q.TryTakeUsed(out _, out _));
        Assert.Equal(0xff, h.Memory.Read<byte>(status));

        gate.Set();
        q.WaitUsed();
        Assert.Equal(VirtioBlockRequest.StatusOk, h.Memory.Read<byte>(status));
        Assert.Equal(3, disk.Data[0]);
    }

    [Fact]
    public void BadOptionsAreRefusedWithOneSentence()
    {
        var disk = new MemoryBlockDevice(DiskSize);
        Assert.Contains("serial", Assert.Throws<ArgumentException>(() => new VirtioBlockDevice(disk, new VirtioBlockOptions { Serial = new string('x', 21) })).Message);
        Assert.Contains("block size", Assert.Throws<ArgumentException>(() => new VirtioBlockDevice(disk, new VirtioBlockOptions { LogicalBlockSize = 8192 })).Message);
        Assert.Contains("queue size", Assert.Throws<ArgumentException>(() => new VirtioBlockDevice(disk, new VirtioBlockOptions { QueueSize = 100 })).Message);
    }

    internal static Buffer Header(VirtioHarness h, uint type, ulong sector)
    {
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), sector);
        return Buffer.Readable(h.Allocator.Place(header), 16);
    }

    /// <summary>Posts header, payload and a status byte, waits for completion and returns the status.</summary>
    internal static byte Submit(VirtioHarness h, VirtqueueDriver q, uint type, ulong sector, params Buffer[] payload)
    {
        ulong status = h.Allocator.Place([0xff]);
        q.Add([Header(h, type, sector), .. payload, Buffer.Writable(status, 1)]);
        h.Driver.Notify(0);
        q.WaitUsed();
        return h.Memory.Read<byte>(status);
    }

    private static ulong Range(VirtioHarness h, ulong sector, uint sectors, uint flags)
    {
        byte[] range = new byte[16];
        WriteRange(range, sector, sectors, flags);
        return h.Allocator.Place(range);
    }

    private static void WriteRange(Span<byte> range, ulong sector, uint sectors, uint flags)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(range, sector);
        BinaryPrimitives.WriteUInt32LittleEndian(range[8..], sectors);
        BinaryPrimitives.WriteUInt32LittleEndian(range[12..], flags);
    }
}
