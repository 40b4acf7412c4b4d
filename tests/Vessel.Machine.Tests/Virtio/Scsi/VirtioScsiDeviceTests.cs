using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Scsi;
using static Vessel.Machine.Virtio.Scsi.VirtioScsiProtocol;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio.Scsi;

/// <summary>The controller and the disk: addressing, the SPC and SBC commands, and requests a driver gets wrong.</summary>
public sealed class VirtioScsiDeviceTests
{
    private const int DiskBytes = 1 << 20;

    private static ScsiDriver DiskController(out MemoryBlockDevice disk, bool readOnly = false)
    {
        disk = new MemoryBlockDevice(DiskBytes, readOnly);
        new Random(3).NextBytes(disk.Data);
        return new ScsiDriver(new Dictionary<int, ScsiLogicalUnit> { [1] = new ScsiDisk(disk, "hd0") });
    }

    [Fact]
    public void ConfigurationIsQemusDefaults()
    {
        using var scsi = DiskController(out _);
        MmioDriver driver = scsi.Harness.Driver;
        Assert.Equal(8u, driver.Read(VirtioMmioRegister.DeviceId));
        Assert.Equal(1u, driver.ReadConfig32(0)); // num_queues
        Assert.Equal(126u, driver.ReadConfig32(4)); // seg_max
        Assert.Equal(96u, driver.ReadConfig32(20)); // sense_size
        Assert.Equal(32u, driver.ReadConfig32(24)); // cdb_size
        Assert.Equal(255u, driver.ReadConfig16(30)); // max_target
        Assert.Equal(16383u, driver.ReadConfig32(32)); // max_lun
        Assert.Equal(FeatureHotplug | FeatureChange, driver.ReadDeviceFeatures() & 0xff);
    }

    [Fact]
    public void TheFirstCommandReportsThePowerOnAndInquiryDoesNot()
    {
        using var scsi = DiskController(out _);
        Assert.True(scsi.Run(1, Inquiry(36), dataIn: 36).Good);
        ScsiResult first = scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]);
        Assert.Equal(ScsiStatus.CheckCondition, first.Status);
        Assert.Equal(((byte)6, (byte)0x29, (byte)0), first.SenseCode);
        Assert.Equal(18, first.Sense.Length); // fixed-format sense
        Assert.True(scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]).Good); // reported once
    }

    [Fact]
    public void InquiryNamesTheDiskAsQemuDoes()
    {
        using var scsi = DiskController(out _);
        ScsiResult result = scsi.Run(1, Inquiry(96), dataIn: 96);
        Assert.True(result.Good);
        Assert.Equal(96, result.Data.Length); // padded to the allocation length, as QEMU pads
        Assert.Equal(0x00, result.Data[0]); // direct access
        Assert.Equal(0x00, result.Data[1]); // not removable
        Assert.Equal(5, result.Data[2]);
        Assert.Equal(91, result.Data[4]);
        Assert.Equal("QEMU    QEMU HARDDISK   2.5+", Encoding.ASCII.GetString(result.Data, 8, 28));

        ScsiResult pages = scsi.Run(1, Inquiry(255, evpd: true, page: 0x00), dataIn: 255);
        Assert.Equal(new byte[] { 0x00, 0x83, 0xb0, 0xb1, 0xb2 }, pages.Data[4..(4 + pages.Data[3])]);
        ScsiResult identification = scsi.Run(1, Inquiry(255, evpd: true, page: 0x83), dataIn: 255);
        Assert.Equal("hd0", Encoding.ASCII.GetString(identification.Data, 8, identification.Data[7]));
        ScsiResult provisioning = scsi.Run(1, Inquiry(8, evpd: true, page: 0xb2), dataIn: 8);
        Assert.Equal(0x80, provisioning.Data[5]); // UNMAP
        ScsiResult limits = scsi.Run(1, Inquiry(64, evpd: true, page: 0xb0), dataIn: 64);
        Assert.Equal(0x3c, limits.Data[3]);
        Assert.Equal(255u, BinaryPrimitives.ReadUInt32BigEndian(limits.Data.AsSpan(24)));

        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(1, Inquiry(64, evpd: true, page: 0x99), dataIn: 64).SenseCode);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(1, Inquiry(64, evpd: false, page: 0x83), dataIn: 64).SenseCode);
    }

    [Fact]
    public void AddressingFindsTargetsAndLunZeroOnly()
    {
        using var scsi = DiskController(out _);
        Assert.Equal(ResponseBadTarget, scsi.Run(0, Inquiry(36), dataIn: 36).Response);
        Assert.Equal(ResponseBadTarget, scsi.Run(1, Inquiry(36), dataIn: 36, lunField: [2, 1, 0x40, 0, 0, 0, 0, 0]).Response);
        ScsiResult noLun = scsi.Run(1, Inquiry(36), dataIn: 36, lun: 3);
        Assert.True(noLun.Good);
        Assert.Equal(0x7f, noLun.Data[0]); // no unit here
        Assert.Equal(((byte)5, (byte)0x25, (byte)0), scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0], lun: 3).SenseCode);

        ScsiResult luns = scsi.Run(1, [ScsiOpcode.ReportLuns, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], dataIn: 4096);
        Assert.True(luns.Good);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(luns.Data));
        Assert.Equal(16, luns.Data.Length);
        Assert.Equal(4096u - 16, luns.Residual);
    }

    [Fact]
    public void CapacityAndModePagesDescribeTheDisk()
    {
        using var scsi = DiskController(out _);
        scsi.ClearUnitAttention(1);
        ScsiResult capacity = scsi.Run(1, [ScsiOpcode.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataIn: 8);
        Assert.Equal((uint)(DiskBytes / 512) - 1, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(4)));
        ScsiResult capacity16 = scsi.Run(1, [ScsiOpcode.ServiceActionIn16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], dataIn: 32);
        Assert.Equal((ulong)(DiskBytes / 512) - 1, BinaryPrimitives.ReadUInt64BigEndian(capacity16.Data));
        Assert.Equal(0x80, capacity16.Data[14]); // LBPME

        ScsiResult all = scsi.Run(1, [ScsiOpcode.ModeSense6, 0, 0x3f, 0, 255, 0], dataIn: 255);
        Assert.True(all.Good);
        Assert.Equal(all.Data.Length - 1, all.Data[0]);
        Assert.Equal(0x10, all.Data[2]); // writable, DPOFUA
        Assert.Equal(8, all.Data[3]); // one block descriptor
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(all.Data.AsSpan(8)) & 0xffffff);
        Assert.Equal(0x01, all.Data[12]); // error recovery page first
        Assert.Equal(0x08, all.Data[24]); // then caching
        Assert.Equal(0x04, all.Data[26]); // write cache on

        ScsiResult caching = scsi.Run(1, [ScsiOpcode.ModeSense10, 0x08, 0x08, 0, 0, 0, 0, 0, 64, 0], dataIn: 64);
        Assert.Equal(8 + 0x14, caching.Data.Length);
        Assert.Equal(0, caching.Data[7]); // DBD: no descriptor
        Assert.Equal(0x08, caching.Data[8]);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(1, [ScsiOpcode.ModeSense6, 0, 0x2a, 0, 64, 0], dataIn: 64).SenseCode);
        Assert.Equal(((byte)5, (byte)0x39, (byte)0), scsi.Run(1, [ScsiOpcode.ModeSense6, 0, 0xc8, 0, 64, 0], dataIn: 64).SenseCode);
    }

    [Theory]
    [InlineData(ScsiOpcode.Read6)]
    [InlineData(ScsiOpcode.Read10)]
    [InlineData(ScsiOpcode.Read12)]
    [InlineData(ScsiOpcode.Read16)]
    public void ReadsComeFromTheDisk(byte opcode)
    {
        using var scsi = DiskController(out MemoryBlockDevice disk);
        scsi.ClearUnitAttention(1);
        ScsiResult result = scsi.Run(1, ReadWrite(opcode, lba: 5, blocks: 3), dataIn: 3 * 512);
        Assert.True(result.Good);
        Assert.Equal(0u, result.Residual);
        Assert.Equal(disk.Data.AsSpan(5 * 512, 3 * 512).ToArray(), result.Data);
        Assert.Equal((uint)(ScsiDriver.ResponseSize + (3 * 512)), result.UsedLength);
    }

    [Theory]
    [InlineData(ScsiOpcode.Write6)]
    [InlineData(ScsiOpcode.Write10)]
    [InlineData(ScsiOpcode.Write12)]
    [InlineData(ScsiOpcode.Write16)]
    [InlineData(ScsiOpcode.WriteAndVerify10)]
    public void WritesReachTheDisk(byte opcode)
    {
        using var scsi = DiskController(out MemoryBlockDevice disk);
        scsi.ClearUnitAttention(1);
        byte[] data = new byte[2 * 512];
        new Random(9).NextBytes(data);
        Assert.True(scsi.Run(1, ReadWrite(opcode, lba: 7, blocks: 2), dataOut: data).Good);
        Assert.Equal(data, disk.Data.AsSpan(7 * 512, 2 * 512).ToArray());
        Assert.True(scsi.Run(1, [ScsiOpcode.SynchronizeCache10, 0, 0, 0, 0, 0, 0, 0, 0, 0]).Good);
        Assert.True(scsi.Run(1, [ScsiOpcode.SynchronizeCache16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).Good);
        Assert.Equal(2, disk.Flushes);
    }

    [Fact]
    public void ReadsAndWritesOutOfRangeOrTooBigForTheBuffersFail()
    {
        using var scsi = DiskController(out _);
        scsi.ClearUnitAttention(1);
        int blocks = DiskBytes / 512;
        Assert.Equal(((byte)5, (byte)0x21, (byte)0), scsi.Run(1, ReadWrite(ScsiOpcode.Read10, (ulong)blocks - 1, 2), dataIn: 1024).SenseCode);
        Assert.Equal(((byte)5, (byte)0x21, (byte)0), scsi.Run(1, ReadWrite(ScsiOpcode.Read16, ulong.MaxValue, 1), dataIn: 512).SenseCode);
        Assert.True(scsi.Run(1, ReadWrite(ScsiOpcode.Read10, (ulong)blocks - 1, 1), dataIn: 512).Good);
        Assert.Equal(ResponseOverrun, scsi.Run(1, ReadWrite(ScsiOpcode.Read10, 0, 4), dataIn: 1024).Response);
        Assert.Equal(ResponseOverrun, scsi.Run(1, ReadWrite(ScsiOpcode.Write10, 0, 4), dataOut: new byte[1024]).Response);
        Assert.Equal(ResponseOverrun, scsi.Run(1, Inquiry(200), dataIn: 36).Response);
        Assert.True(scsi.Run(1, ReadWrite(ScsiOpcode.Read10, 0, 0)).Good); // zero blocks: nothing to do
    }

    [Fact]
    public void AReadOnlyDiskRefusesWritesAndSaysSo()
    {
        using var scsi = DiskController(out _, readOnly: true);
        scsi.ClearUnitAttention(1);
        Assert.Equal(((byte)7, (byte)0x27, (byte)0), scsi.Run(1, ReadWrite(ScsiOpcode.Write10, 0, 1), dataOut: new byte[512]).SenseCode);
        ScsiResult mode = scsi.Run(1, [ScsiOpcode.ModeSense6, 0, 0x3f, 0, 255, 0], dataIn: 255);
        Assert.Equal(0x90, mode.Data[2]); // write protected
    }

    [Fact]
    public void HostIoErrorsAreMediumErrors()
    {
        using var scsi = DiskController(out MemoryBlockDevice disk);
        scsi.ClearUnitAttention(1);
        disk.FailIo = true;
        Assert.Equal(((byte)3, (byte)0x11, (byte)0), scsi.Run(1, ReadWrite(ScsiOpcode.Read10, 0, 1), dataIn: 512).SenseCode);
        Assert.Equal(((byte)3, (byte)0x0c, (byte)0), scsi.Run(1, ReadWrite(ScsiOpcode.Write10, 0, 1), dataOut: new byte[512]).SenseCode);
    }

    [Fact]
    public void UnmapDiscardsItsRanges()
    {
        using var scsi = DiskController(out MemoryBlockDevice disk);
        scsi.ClearUnitAttention(1);
        byte[] list = new byte[8 + 32];
        BinaryPrimitives.WriteUInt16BigEndian(list, 38);
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), 32);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), 10);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16), 4);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(24), 100);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(32), 1);
        Assert.True(scsi.Run(1, [ScsiOpcode.Unmap, 0, 0, 0, 0, 0, 0, 0, (byte)list.Length, 0], dataOut: list).Good);
        Assert.Equal([(10L * 512, 4L * 512), (100L * 512, 512L)], disk.Discards);

        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(24), ulong.MaxValue - 1);
        Assert.Equal(((byte)5, (byte)0x21, (byte)0), scsi.Run(1, [ScsiOpcode.Unmap, 0, 0, 0, 0, 0, 0, 0, (byte)list.Length, 0], dataOut: list).SenseCode);
        Assert.Equal(2, disk.Discards.Count); // nothing of a bad list is applied
        Assert.Equal(((byte)5, (byte)0x26, (byte)0), scsi.Run(1, [ScsiOpcode.Unmap, 0, 0, 0, 0, 0, 0, 0, 4, 0], dataOut: new byte[4]).SenseCode);
    }

    [Fact]
    public void UnknownCommandsAndVerifyWithCompare()
    {
        using var scsi = DiskController(out _);
        scsi.ClearUnitAttention(1);
        Assert.Equal(((byte)5, (byte)0x20, (byte)0), scsi.Run(1, [0xc0, 0, 0, 0, 0, 0]).SenseCode);
        Assert.Equal(((byte)5, (byte)0x20, (byte)0), scsi.Run(1, [ScsiOpcode.ReadTocPmaAtip, 0, 0, 0, 0, 0, 0, 0, 12, 0], dataIn: 12).SenseCode); // a CD command
        Assert.True(scsi.Run(1, [ScsiOpcode.Verify10, 0, 0, 0, 0, 0, 0, 0, 1, 0]).Good);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(1, [ScsiOpcode.Verify10, 0x02, 0, 0, 0, 0, 0, 0, 1, 0]).SenseCode);
        Assert.True(scsi.Run(1, [ScsiOpcode.StartStopUnit, 0, 0, 0, 1, 0]).Good);
    }

    [Fact]
    public void RequestSenseReportsAPendingUnitAttention()
    {
        using var scsi = DiskController(out _);
        ScsiResult sense = scsi.Run(1, [ScsiOpcode.RequestSense, 0, 0, 0, 18, 0], dataIn: 18);
        Assert.True(sense.Good);
        Assert.Equal(0x70, sense.Data[0]);
        Assert.Equal((6, 0x29), (sense.Data[2], sense.Data[12]));
        Assert.True(scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]).Good);
        Assert.Equal(0, scsi.Run(1, [ScsiOpcode.RequestSense, 0, 0, 0, 18, 0], dataIn: 18).Data[2]);
    }

    [Fact]
    public void MalformedRequestsGetAnErrorResponseOrResetTheDevice()
    {
        using var scsi = DiskController(out _);

        // A header cut short: FAILURE.
        ulong header = scsi.Harness.Allocator.Place(new byte[10]);
        ulong response = scsi.Harness.Allocator.Allocate(ScsiDriver.ResponseSize);
        scsi.Requests.Add(Buffer.Readable(header, 10), Buffer.Writable(response, ScsiDriver.ResponseSize));
        scsi.Harness.Driver.Notify(VirtioScsiDevice.RequestQueue);
        scsi.Requests.WaitUsed();
        Assert.Equal(ResponseFailure, scsi.Harness.Memory.Read<byte>(response + 11));

        // No room for a response: the request cannot be answered, so the device needs a reset.
        ulong whole = scsi.Harness.Allocator.Place(new byte[51]);
        ulong tiny = scsi.Harness.Allocator.Allocate(4);
        scsi.Requests.Add(Buffer.Readable(whole, 51), Buffer.Writable(tiny, 4));
        scsi.Harness.Driver.Notify(VirtioScsiDevice.RequestQueue);
        scsi.Harness.WaitNeedsReset();
        Assert.True(scsi.Device.IsBroken);
    }

    [Fact]
    public void TaskManagementHasNothingToAbortAndResetsUnits()
    {
        using var scsi = DiskController(out _);
        scsi.ClearUnitAttention(1);
        Assert.Equal(TmfFunctionComplete, Control(scsi, TmfAbortTask, ScsiDriver.Lun(1)));
        Assert.True(scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]).Good);
        Assert.Equal(TmfFunctionComplete, Control(scsi, TmfLogicalUnitReset, ScsiDriver.Lun(1)));
        Assert.Equal(((byte)6, (byte)0x29, (byte)0), scsi.Run(1, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]).SenseCode);
        Assert.Equal(ResponseBadTarget, Control(scsi, TmfAbortTask, ScsiDriver.Lun(9)));
        Assert.Equal(TmfIncorrectLun, Control(scsi, TmfAbortTask, ScsiDriver.Lun(1, 5)));
        Assert.Equal(TmfFunctionRejected, Control(scsi, 99, ScsiDriver.Lun(1)));
    }

    [Fact]
    public void AnAsyncNotificationQueryGetsNoEvents()
    {
        using var scsi = DiskController(out _);
        byte[] request = new byte[AsyncRequestSize];
        BinaryPrimitives.WriteUInt32LittleEndian(request, ControlAsyncQuery);
        ScsiDriver.Lun(1).CopyTo(request, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(12), 0x10);
        ulong at = scsi.Harness.Allocator.Place(request);
        ulong response = scsi.Harness.Allocator.Allocate(5);
        scsi.Harness.Memory.GetWriteSpan(response, 5).Fill(0xee);
        scsi.Control.Add(Buffer.Readable(at, request.Length), Buffer.Writable(response, 5));
        scsi.Harness.Driver.Notify(VirtioScsiDevice.ControlQueue);
        scsi.Control.WaitUsed();
        Assert.Equal(0u, scsi.Harness.Memory.Read<uint>(response));
        Assert.Equal(ResponseOk, scsi.Harness.Memory.Read<byte>(response + 4));
    }

    [Fact]
    public void TheDriverMaySetCdbAndSenseSizes()
    {
        using var scsi = DiskController(out _);
        scsi.Harness.Driver.WriteConfig32(24, 16);
        Assert.Equal(16u, scsi.Harness.Driver.ReadConfig32(24));
        scsi.Harness.Driver.WriteConfig32(24, 1000); // out of range: ignored
        Assert.Equal(16u, scsi.Harness.Driver.ReadConfig32(24));
        scsi.Harness.Driver.WriteConfig32(12, 7); // cmd_per_lun is the device's
        Assert.Equal(128u, scsi.Harness.Driver.ReadConfig32(12));
    }

    internal static byte[] Inquiry(int allocation, bool evpd = false, byte page = 0) =>
        [ScsiOpcode.Inquiry, evpd ? (byte)1 : (byte)0, page, (byte)(allocation >> 8), (byte)allocation, 0];

    internal static byte[] ReadWrite(byte opcode, ulong lba, uint blocks)
    {
        switch (opcode)
        {
            case ScsiOpcode.Read6:
            case ScsiOpcode.Write6:
                return [opcode, (byte)(lba >> 16), (byte)(lba >> 8), (byte)lba, (byte)blocks, 0];
            case ScsiOpcode.Read12:
            case ScsiOpcode.Write12:
                byte[] cdb12 = new byte[12];
                cdb12[0] = opcode;
                BinaryPrimitives.WriteUInt32BigEndian(cdb12.AsSpan(2), (uint)lba);
                BinaryPrimitives.WriteUInt32BigEndian(cdb12.AsSpan(6), blocks);
                return cdb12;
            case ScsiOpcode.Read16:
            case ScsiOpcode.Write16:
                byte[] cdb16 = new byte[16];
                cdb16[0] = opcode;
                BinaryPrimitives.WriteUInt64BigEndian(cdb16.AsSpan(2), lba);
                BinaryPrimitives.WriteUInt32BigEndian(cdb16.AsSpan(10), blocks);
                return cdb16;
            default:
                byte[] cdb10 = new byte[10];
                cdb10[0] = opcode;
                BinaryPrimitives.WriteUInt32BigEndian(cdb10.AsSpan(2), (uint)lba);
                BinaryPrimitives.WriteUInt16BigEndian(cdb10.AsSpan(7), (ushort)blocks);
                return cdb10;
        }
    }

    private static byte Control(ScsiDriver scsi, uint subtype, byte[] lun)
    {
        byte[] request = new byte[TmfRequestSize];
        BinaryPrimitives.WriteUInt32LittleEndian(request, ControlTaskManagement);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), subtype);
        lun.CopyTo(request, 8);
        ulong at = scsi.Harness.Allocator.Place(request);
        ulong response = scsi.Harness.Allocator.Allocate(1);
        scsi.Harness.Memory.Write(response, (byte)0xee);
        scsi.Control.Add(Buffer.Readable(at, request.Length), Buffer.Writable(response, 1));
        scsi.Harness.Driver.Notify(VirtioScsiDevice.ControlQueue);
        scsi.Control.WaitUsed("a task management response");
        return scsi.Harness.Memory.Read<byte>(response);
    }
}
