using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Scsi;
using static Vessel.Machine.Tests.Virtio.Scsi.VirtioScsiDeviceTests;

namespace Vessel.Machine.Tests.Virtio.Scsi;

/// <summary>The CD-ROM drive: the MMC commands Linux's sr driver sends, the tray, and media changes as QEMU reports them.</summary>
public sealed class ScsiCdromTests
{
    private const int DiscBytes = 300 * 2048;
    private static readonly byte[] s_testUnitReady = [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0];

    private static ScsiDriver Drive(out ScsiCdrom cdrom, out MemoryBlockDevice? disc, bool empty = false)
    {
        disc = empty ? null : new MemoryBlockDevice(DiscBytes, readOnly: true);
        if (disc is not null)
        {
            new Random(5).NextBytes(disc.Data);
        }

        cdrom = new ScsiCdrom(disc, "cd0");
        var scsi = new ScsiDriver(new Dictionary<int, ScsiLogicalUnit> { [0] = cdrom });
        scsi.ClearUnitAttention(0);
        return scsi;
    }

    [Fact]
    public void InquiryNamesARemovableCdRom()
    {
        using var scsi = Drive(out _, out _);
        ScsiResult result = scsi.Run(0, Inquiry(36), dataIn: 36);
        Assert.Equal(0x05, result.Data[0]);
        Assert.Equal(0x80, result.Data[1]);
        Assert.Equal("QEMU    QEMU CD-ROM     2.5+", Encoding.ASCII.GetString(result.Data, 8, 28));
        ScsiResult pages = scsi.Run(0, Inquiry(255, evpd: true, page: 0), dataIn: 255);
        Assert.Equal(new byte[] { 0x00, 0x83 }, pages.Data[4..(4 + pages.Data[3])]);
    }

    [Fact]
    public void TheDiscIsReadIn2048ByteBlocks()
    {
        using var scsi = Drive(out _, out MemoryBlockDevice? disc);
        ScsiResult capacity = scsi.Run(0, [ScsiOpcode.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataIn: 8);
        Assert.Equal(299u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data));
        Assert.Equal(2048u, BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(4)));
        ScsiResult read = scsi.Run(0, ReadWrite(ScsiOpcode.Read10, 16, 2), dataIn: 4096);
        Assert.Equal(disc!.Data.AsSpan(16 * 2048, 4096).ToArray(), read.Data);
        Assert.Equal(disc.Data.AsSpan(299 * 2048, 2048).ToArray(), scsi.Run(0, ReadWrite(ScsiOpcode.Read12, 299, 1), dataIn: 2048).Data);
        Assert.Equal(((byte)5, (byte)0x21, (byte)0), scsi.Run(0, ReadWrite(ScsiOpcode.Read10, 299, 2), dataIn: 4096).SenseCode);
        Assert.Equal(((byte)7, (byte)0x27, (byte)0), scsi.Run(0, ReadWrite(ScsiOpcode.Write10, 0, 1), dataOut: new byte[2048]).SenseCode);
    }

    [Fact]
    public void TheTocHasOneDataTrackAndTheLeadOut()
    {
        using var scsi = Drive(out _, out _);
        ScsiResult toc = scsi.Run(0, ReadToc(format: 0, msf: false, track: 0, 20), dataIn: 20);
        Assert.Equal(new byte[] { 0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x16, 0xaa, 0, 0, 0, 0x01, 0x2c }, toc.Data);
        ScsiResult msf = scsi.Run(0, ReadToc(format: 0, msf: true, track: 0xaa, 12), dataIn: 12);
        Assert.Equal(new byte[] { 0, 10, 1, 1, 0, 0x16, 0xaa, 0, 0, 0, 6, 0 }, msf.Data); // 300 + 150 frames = 00:06:00
        ScsiResult session = scsi.Run(0, ReadToc(format: 1, msf: false, track: 0, 12), dataIn: 12);
        Assert.Equal(new byte[] { 0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0 }, session.Data);
        ScsiResult raw = scsi.Run(0, ReadToc(format: 2, msf: true, track: 1, 48), dataIn: 48);
        Assert.Equal(46, BinaryPrimitives.ReadUInt16BigEndian(raw.Data));
        Assert.Equal(0xa0, raw.Data[7]);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(0, ReadToc(format: 0, msf: false, track: 2, 12), dataIn: 12).SenseCode);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(0, ReadToc(format: 5, msf: false, track: 0, 12), dataIn: 12).SenseCode);
    }

    [Fact]
    public void ConfigurationDiscInformationCapabilitiesAndMechanism()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        ScsiResult configuration = scsi.Run(0, [ScsiOpcode.GetConfiguration, 0, 0, 0, 0, 0, 0, 0, 40, 0], dataIn: 40);
        Assert.Equal(36u, BinaryPrimitives.ReadUInt32BigEndian(configuration.Data));
        Assert.Equal(0x0008, BinaryPrimitives.ReadUInt16BigEndian(configuration.Data.AsSpan(6))); // current profile: CD-ROM
        Assert.Equal(1, configuration.Data[18]);
        Assert.Equal(0x39, configuration.Data[36]);

        ScsiResult disc = scsi.Run(0, [ScsiOpcode.ReadDiscInformation, 0, 0, 0, 0, 0, 0, 0, 34, 0], dataIn: 34);
        Assert.Equal(new byte[] { 0, 32, 0x0e, 1, 1, 1, 1, 0x20 }, disc.Data[..8]);
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(0, [ScsiOpcode.ReadDiscInformation, 1, 0, 0, 0, 0, 0, 0, 34, 0], dataIn: 34).SenseCode);

        ScsiResult capabilities = scsi.Run(0, [ScsiOpcode.ModeSense6, 0, 0x2a, 0, 128, 0], dataIn: 128);
        Assert.Equal(4 + 22, capabilities.Data.Length); // no block descriptor for a CD drive
        Assert.Equal(0, capabilities.Data[3]);
        Assert.Equal((0x2a, 0x14), (capabilities.Data[4], capabilities.Data[5]));
        Assert.Equal(0x2d, capabilities.Data[10]); // not locked

        Assert.True(scsi.Run(0, [ScsiOpcode.PreventAllowMediumRemoval, 0, 0, 0, 1, 0]).Good);
        Assert.True(cdrom.IsLocked);
        Assert.Equal(0x2f, scsi.Run(0, [ScsiOpcode.ModeSense6, 0, 0x2a, 0, 128, 0], dataIn: 128).Data[10]);

        ScsiResult mechanism = scsi.Run(0, [ScsiOpcode.MechanismStatus, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0], dataIn: 8);
        Assert.Equal(1, mechanism.Data[5]);
        Assert.True(scsi.Run(0, [ScsiOpcode.SetCdSpeed, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]).Good);
    }

    [Fact]
    public void EventStatusReportsNewMediaOnceAndOnlyWhenPolled()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        ScsiResult events = Gesn(scsi);
        Assert.Equal(new byte[] { 0, 4, 4, 0x10, 0, 2, 0, 0 }, events.Data); // no change, medium present
        Assert.Equal(((byte)5, (byte)0x24, (byte)0), scsi.Run(0, [ScsiOpcode.GetEventStatusNotification, 0, 0, 0, 0x10, 0, 0, 0, 8, 0], dataIn: 8).SenseCode);
        ScsiResult otherClass = scsi.Run(0, [ScsiOpcode.GetEventStatusNotification, 1, 0, 0, 0x02, 0, 0, 0, 8, 0], dataIn: 8);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x10 }, otherClass.Data);

        Assert.True(cdrom.Eject(force: false));
        Assert.Equal(0x01, Gesn(scsi).Data[5]); // tray open
        Assert.True(cdrom.ChangeMedium(new MemoryBlockDevice(DiscBytes, readOnly: true)));
        Assert.Equal(2, Gesn(scsi).Data[4]); // new media, reported once
        Assert.Equal(0, Gesn(scsi).Data[4]);
    }

    [Fact]
    public void AnEjectIsSeenAsNoMediumAndAChangeAsANewDisc()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        var moves = new List<bool>();
        cdrom.TrayMoved += moves.Add;

        Assert.True(cdrom.Eject(force: false));
        Assert.True(cdrom.IsTrayOpen);
        Assert.False(cdrom.HasMedium);
        Assert.Equal(((byte)6, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, ReadWrite(ScsiOpcode.Read10, 0, 1), dataIn: 2048).SenseCode);
        Assert.Equal(0x0000, BinaryPrimitives.ReadUInt16BigEndian(scsi.Run(0, [ScsiOpcode.GetConfiguration, 0, 0, 0, 0, 0, 0, 0, 40, 0], dataIn: 40).Data.AsSpan(6)));

        var second = new MemoryBlockDevice(600 * 2048, readOnly: true);
        second.Data[0] = 0x42;
        Assert.True(cdrom.ChangeMedium(second));
        Assert.False(cdrom.IsTrayOpen);
        Assert.Equal([true, false], moves);

        // As QEMU: "not present" first, then "may have changed", then ready with the new disc.
        Assert.Equal(((byte)6, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.Equal(((byte)6, (byte)0x28, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.True(scsi.Run(0, s_testUnitReady).Good);
        Assert.Equal(599u, BinaryPrimitives.ReadUInt32BigEndian(scsi.Run(0, [ScsiOpcode.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataIn: 8).Data));
        Assert.Equal(0x42, scsi.Run(0, ReadWrite(ScsiOpcode.Read10, 0, 1), dataIn: 2048).Data[0]);
    }

    [Fact]
    public void ALockedTrayOpensOnlyWhenForcedAndTheGuestIsAskedToEject()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        Assert.True(scsi.Run(0, [ScsiOpcode.PreventAllowMediumRemoval, 0, 0, 0, 1, 0]).Good);
        Assert.False(cdrom.Eject(force: false));
        Assert.True(cdrom.HasMedium);
        Assert.False(cdrom.ChangeMedium(new MemoryBlockDevice(2048)));
        Assert.Equal(1, Gesn(scsi).Data[4]); // eject requested

        // The guest's own eject is refused while it holds the lock, as the drive would.
        Assert.Equal(((byte)5, (byte)0x53, (byte)2), scsi.Run(0, [ScsiOpcode.StartStopUnit, 0, 0, 0, 0x02, 0]).SenseCode);
        Assert.True(cdrom.Eject(force: true));
        Assert.False(cdrom.IsLocked);
        Assert.True(cdrom.IsTrayOpen);
    }

    [Fact]
    public void TheGuestOpensAndClosesTheTray()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        var moves = new List<bool>();
        cdrom.TrayMoved += moves.Add;
        Assert.True(scsi.Run(0, [ScsiOpcode.StartStopUnit, 0, 0, 0, 0x02, 0]).Good);
        Assert.True(cdrom.IsTrayOpen);
        Assert.True(cdrom.HasMedium); // the disc sits in the open tray
        Assert.Equal(((byte)6, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.True(scsi.Run(0, [ScsiOpcode.StartStopUnit, 0, 0, 0, 0x03, 0]).Good);
        Assert.Equal([true, false], moves);
        scsi.ClearUnitAttention(0);
        Assert.True(scsi.Run(0, s_testUnitReady).Good);
    }

    [Fact]
    public void AnEmptyDriveIsNotReady()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _, empty: true);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, s_testUnitReady).SenseCode);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, ReadToc(0, false, 0, 20), dataIn: 20).SenseCode);
        Assert.Equal(((byte)2, (byte)0x3a, (byte)0), scsi.Run(0, [ScsiOpcode.ReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataIn: 8).SenseCode);
        ScsiResult sense = scsi.Run(0, [ScsiOpcode.RequestSense, 0, 0, 0, 18, 0], dataIn: 18);
        Assert.Equal((2, 0x3a), (sense.Data[2], sense.Data[12]));
        Assert.Equal(0, Gesn(scsi).Data[5]); // closed, no medium
        Assert.True(cdrom.ChangeMedium(new MemoryBlockDevice(DiscBytes, readOnly: true)));
        scsi.ClearUnitAttention(0);
        Assert.True(scsi.Run(0, s_testUnitReady).Good);
    }

    [Fact]
    public void TheTrayAndWhatIsStillToReportSurviveASaveAndRestore()
    {
        using var scsi = Drive(out ScsiCdrom cdrom, out _);
        Assert.True(scsi.Run(0, [ScsiOpcode.PreventAllowMediumRemoval, 0, 0, 0, 1, 0]).Good);
        Assert.True(cdrom.Eject(force: true));
        Assert.True(cdrom.ChangeMedium(new MemoryBlockDevice(DiscBytes, readOnly: true)));
        scsi.Harness.Transport.Pause();
        VirtioMmioState saved = SaveRestoreTests.RoundTrip(scsi.Harness.Transport.SaveState());
        var state = Assert.IsType<VirtioScsiState>(saved.Device);
        ScsiUnitState unit = Assert.Single(state.Units);
        Assert.Equal(new byte[] { 6, 0x3a, 0 }, unit.UnitAttention);
        Assert.True(unit.Cdrom!.MediaChanged);

        var restoredDrive = new ScsiCdrom(new MemoryBlockDevice(DiscBytes, readOnly: true), "cd0");
        var device = new VirtioScsiDevice(new Dictionary<int, ScsiLogicalUnit> { [0] = restoredDrive });
        using var transport = new VirtioMmioTransport(device, scsi.Harness.Memory, new TestInterruptLine());
        transport.RestoreState(saved);
        Assert.Equal(new ScsiSense(6, 0x3a, 0), restoredDrive.PendingUnitAttention);
        Assert.Equal(unit.Cdrom, restoredDrive.SaveDriveState());
        Assert.Throws<ArgumentException>(() => new VirtioScsiDevice(new Dictionary<int, ScsiLogicalUnit> { [0] = new ScsiDisk(new MemoryBlockDevice(4096), "hd") }).RestoreState(state));
    }

    private static byte[] ReadToc(int format, bool msf, byte track, byte allocation) =>
        [ScsiOpcode.ReadTocPmaAtip, msf ? (byte)2 : (byte)0, (byte)format, 0, 0, 0, track, 0, allocation, 0];

    private static ScsiResult Gesn(ScsiDriver scsi) =>
        scsi.Run(0, [ScsiOpcode.GetEventStatusNotification, 1, 0, 0, 0x10, 0, 0, 0, 8, 0], dataIn: 8);
}
