using System.Buffers.Binary;
using Vessel.Storage;

namespace Vessel.Machine.Virtio.Scsi;

/// <summary>
/// A CD/DVD-ROM drive, as QEMU's <c>scsi-cd</c>: 2048-byte blocks, a tray the guest or the host
/// opens and closes, a medium the host inserts and removes while the guest runs, and the MMC
/// commands Linux's <c>sr</c> and <c>cdrom</c> drivers use (READ TOC, GET CONFIGURATION, GET EVENT
/// STATUS NOTIFICATION, READ DISC INFORMATION, the capabilities mode page, START STOP UNIT,
/// PREVENT ALLOW MEDIUM REMOVAL, MECHANISM STATUS, SET CD SPEED).
/// </summary>
/// <remarks>
/// A change of medium is reported the way QEMU reports it, so guests that poll and guests that
/// wait for unit attentions both notice: first "medium not present", then, once that was seen,
/// "medium may have changed", and a new-media event for GET EVENT STATUS NOTIFICATION.
/// </remarks>
public sealed class ScsiCdrom : ScsiLogicalUnit
{
    public const int SectorSize = 2048;

    // A disc up to 80 minutes of 2048-byte sectors is a CD; anything larger is a DVD.
    private const long CdMaxBytes = 80L * 60 * 75 * 2048;

    private const ushort ProfileNone = 0x0000;
    private const ushort ProfileCdRom = 0x0008;
    private const ushort ProfileDvdRom = 0x0010;

    private IBlockDevice? _medium;
    private bool _trayOpen;
    private bool _locked;
    private bool _mediaChanged;
    private bool _mediaEvent;
    private bool _ejectRequested;

    /// <param name="medium">The disc in the drive, or null for an empty drive; the drive owns it and disposes it when removed.</param>
    public ScsiCdrom(IBlockDevice? medium, string deviceId)
        : base(TypeRom, "QEMU CD-ROM", deviceId, removable: true)
    {
        _medium = medium;
    }

    /// <summary>Raised (outside the drive's lock) when the tray opens (true) or closes (false), by the guest or the host.</summary>
    public event Action<bool>? TrayMoved;

    public override int BlockSize => SectorSize;

    public bool IsTrayOpen
    {
        get
        {
            lock (StateLock)
            {
                return _trayOpen;
            }
        }
    }

    /// <summary>Whether the guest locked the tray (PREVENT ALLOW MEDIUM REMOVAL), as Linux does while the disc is mounted.</summary>
    public bool IsLocked
    {
        get
        {
            lock (StateLock)
            {
                return _locked;
            }
        }
    }

    public bool HasMedium
    {
        get
        {
            lock (StateLock)
            {
                return _medium is not null;
            }
        }
    }

    protected override IBlockDevice? Medium => _trayOpen ? null : _medium;

    protected override ReadOnlySpan<byte> ModePages => [0x01, 0x2a];

    /// <summary>
    /// Opens the tray and takes the disc out (QMP <c>eject</c>). A tray the guest locked opens
    /// only with <paramref name="force"/>; otherwise the guest is asked to eject (an eject-request
    /// event) and false is returned.
    /// </summary>
    public bool Eject(bool force)
    {
        bool moved;
        lock (StateLock)
        {
            if (_locked && !force && !_trayOpen)
            {
                _ejectRequested = true;
                return false;
            }

            _locked = false;
            moved = OpenTrayLocked();
            RemoveMediumLocked();
        }

        if (moved)
        {
            TrayMoved?.Invoke(true);
        }

        return true;
    }

    /// <summary>
    /// Puts <paramref name="medium"/> in the drive and closes the tray (QMP
    /// <c>blockdev-change-medium</c>), after opening it and removing the old disc. Returns false,
    /// leaving things as they were, when the guest locked the tray (the guest is asked to eject).
    /// </summary>
    public bool ChangeMedium(IBlockDevice medium)
    {
        ArgumentNullException.ThrowIfNull(medium);
        bool opened, closed;
        lock (StateLock)
        {
            if (_locked && !_trayOpen)
            {
                _ejectRequested = true;
                return false;
            }

            opened = OpenTrayLocked();
            RemoveMediumLocked();
            _medium = medium;
            closed = CloseTrayLocked();
        }

        if (opened)
        {
            TrayMoved?.Invoke(true);
        }

        if (closed)
        {
            TrayMoved?.Invoke(false);
        }

        return true;
    }

    public override void Reset()
    {
        lock (StateLock)
        {
            _locked = false;
            _ejectRequested = false;
        }

        base.Reset();
    }

    /// <summary>The drive's state for a snapshot: tray, lock and the change-reporting flags (the disc itself is host configuration).</summary>
    public ScsiCdromState SaveDriveState()
    {
        lock (StateLock)
        {
            return new ScsiCdromState(_trayOpen, _locked, _mediaChanged, _mediaEvent, _ejectRequested);
        }
    }

    public void RestoreDriveState(ScsiCdromState state)
    {
        lock (StateLock)
        {
            (_trayOpen, _locked, _mediaChanged, _mediaEvent, _ejectRequested) = (state.TrayOpen, state.Locked, state.MediaChanged, state.MediaEvent, state.EjectRequested);
        }
    }

    protected override void OnUnitAttentionReported()
    {
        if (_mediaChanged)
        {
            _mediaChanged = false;
            RaiseUnitAttention(ScsiSense.MediumChanged);
        }
    }

    protected override bool ExecuteSpecific(ScsiRequest request)
    {
        switch (request.Opcode)
        {
            case ScsiOpcode.ReadTocPmaAtip:
                ReadToc(request);
                return true;
            case ScsiOpcode.GetConfiguration:
                GetConfiguration(request);
                return true;
            case ScsiOpcode.GetEventStatusNotification:
                GetEventStatusNotification(request);
                return true;
            case ScsiOpcode.ReadDiscInformation:
                ReadDiscInformation(request);
                return true;
            case ScsiOpcode.StartStopUnit:
                StartStopUnit(request);
                return true;
            case ScsiOpcode.PreventAllowMediumRemoval:
                _locked = (request.Cdb[4] & 0x03) != 0;
                return true;
            case ScsiOpcode.MechanismStatus:
                MechanismStatus(request);
                return true;
            case ScsiOpcode.SetCdSpeed:
            case ScsiOpcode.SynchronizeCache10:
                return true;
            default:
                return false;
        }
    }

    protected override int WriteModePage(int pageCode, int pageControl, Span<byte> page)
    {
        switch (pageCode)
        {
            case 0x01: // read-write error recovery
                page[0] = 0x01;
                page[1] = 0x0a;
                page.Slice(2, 10).Clear();
                if (pageControl != 1)
                {
                    page[2] = 0x80;
                    page[3] = 0x20; // read retry count
                }

                return 12;
            case 0x2a: // CD capabilities and mechanical status
                page[0] = 0x2a;
                page[1] = 0x14;
                Span<byte> p = page.Slice(2, 0x14);
                p.Clear();
                if (pageControl == 1)
                {
                    return 0x16;
                }

                p[0] = 0x3b; // reads CD-R, CD-RW
                p[2] = 0x7f; // audio, composite, digital ports, mode 2 forms 1 and 2, multi-session
                p[3] = 0xff; // CD-DA and its features, R-W, C2 pointers, ISRC, UPC, bar code
                p[4] = (byte)(0x2d | (_locked ? 0x02 : 0)); // tray, eject, lock supported (and its state)
                BinaryPrimitives.WriteUInt16BigEndian(p[6..], 50 * 176); // 50x
                BinaryPrimitives.WriteUInt16BigEndian(p[8..], 2); // volume levels
                BinaryPrimitives.WriteUInt16BigEndian(p[10..], 2048); // buffer KiB
                BinaryPrimitives.WriteUInt16BigEndian(p[12..], 16 * 176); // 16x now
                BinaryPrimitives.WriteUInt16BigEndian(p[16..], 16 * 176);
                BinaryPrimitives.WriteUInt16BigEndian(p[18..], 16 * 176);
                return 0x16;
            default:
                return -1;
        }
    }

    private bool OpenTrayLocked()
    {
        if (_trayOpen)
        {
            return false;
        }

        _trayOpen = true;
        if (_medium is not null)
        {
            RaiseUnitAttention(ScsiSense.MediumRemovedAttention);
        }

        return true;
    }

    private bool CloseTrayLocked()
    {
        if (!_trayOpen)
        {
            return false;
        }

        _trayOpen = false;
        if (_medium is not null)
        {
            // As QEMU: "not present" first, "may have changed" once the guest saw that.
            RaiseUnitAttention(ScsiSense.MediumRemovedAttention);
            _mediaChanged = true;
            _mediaEvent = true;
        }

        return true;
    }

    private void RemoveMediumLocked()
    {
        _medium?.Dispose();
        _medium = null;
    }

    private void StartStopUnit(ScsiRequest request)
    {
        byte flags = request.Cdb[4];
        bool loadEject = (flags & 0x02) != 0, start = (flags & 0x01) != 0;
        if (!loadEject)
        {
            return;
        }

        if (!start && _locked)
        {
            request.Fail(ScsiSense.MediumRemovalPrevented);
            return;
        }

        bool moved = start ? CloseTrayLocked() : OpenTrayLocked();
        if (moved)
        {
            // Raised under the lock: the handler only queues a QMP event and must not call back.
            TrayMoved?.Invoke(!start);
        }
    }

    private bool IsDvd => _medium is { } medium && medium.Length > CdMaxBytes;

    private void ReadToc(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        int allocation = AllocationLength16(cdb, 7);
        if (!RequireMedium(request))
        {
            return;
        }

        bool msf = (cdb[1] & 0x02) != 0;
        int format = cdb[2] & 0x0f, track = cdb[6];
        Span<byte> data = request.Scratch.AsSpan(0, 64);
        data.Clear();
        int length;
        long blocks = BlockCount;
        switch (format)
        {
            case 0: // the TOC: track 1 (data) and the lead-out
                if (track > 1 && track != 0xaa)
                {
                    request.Fail(ScsiSense.InvalidField);
                    return;
                }

                data[2] = 1;
                data[3] = 1;
                length = 4;
                if (track <= 1)
                {
                    length += WriteTrackDescriptor(data[length..], 0x14, 1, 0, msf);
                }

                length += WriteTrackDescriptor(data[length..], 0x16, 0xaa, blocks, msf);
                break;
            case 1: // multi-session information: one session, starting at track 1, LBA 0
                length = 12;
                data[2] = 1;
                data[3] = 1;
                data[5] = 0x14;
                data[6] = 1;
                break;
            case 2: // raw TOC: the A0, A1, A2 points and track 1
                data[2] = 1;
                data[3] = 1;
                length = 4;
                length += WriteRawPoint(data[length..], 0xa0, 0, 1, msf: true);
                length += WriteRawPoint(data[length..], 0xa1, 0, 1, msf: true);
                length += WriteRawPoint(data[length..], 0xa2, blocks, 0, msf);
                length += WriteRawPoint(data[length..], 1, 0, 0, msf);
                break;
            default:
                request.Fail(ScsiSense.InvalidField);
                return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(length - 2));
        request.Reply(data[..length], allocation);
    }

    private static int WriteTrackDescriptor(Span<byte> d, byte control, byte track, long lba, bool msf)
    {
        d[1] = control;
        d[2] = track;
        WriteAddress(d[4..], lba, msf);
        return 8;
    }

    private static int WriteRawPoint(Span<byte> d, byte point, long lba, byte value, bool msf)
    {
        d[0] = 1; // session
        d[1] = 0x14;
        d[3] = point;
        if (point is 0xa0 or 0xa1)
        {
            d[8] = value; // first or last track number
            return 11;
        }

        WriteAddress(d[7..], lba, msf);
        return 11;
    }

    private static void WriteAddress(Span<byte> d, long lba, bool msf)
    {
        if (msf)
        {
            long frames = lba + 150;
            d[0] = 0;
            d[1] = (byte)(frames / (75 * 60));
            d[2] = (byte)(frames / 75 % 60);
            d[3] = (byte)(frames % 75);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(d, (uint)lba);
        }
    }

    private void GetConfiguration(ScsiRequest request)
    {
        int allocation = AllocationLength16(request.Cdb, 7);
        ushort current = Medium is null ? ProfileNone : IsDvd ? ProfileDvdRom : ProfileCdRom;
        Span<byte> data = request.Scratch.AsSpan(0, 40);
        data.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(data, 36);
        BinaryPrimitives.WriteUInt16BigEndian(data[6..], current);

        // Feature 0, the profile list: DVD-ROM and CD-ROM.
        data[10] = 0x03;
        data[11] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(data[12..], ProfileDvdRom);
        data[14] = current == ProfileDvdRom ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(data[16..], ProfileCdRom);
        data[18] = current == ProfileCdRom ? (byte)1 : (byte)0;

        // Feature 1, core: SCSI, DBE.
        BinaryPrimitives.WriteUInt16BigEndian(data[20..], 1);
        data[22] = 0x0b;
        data[23] = 8;
        BinaryPrimitives.WriteUInt32BigEndian(data[24..], 1);
        data[28] = 1;

        // Feature 3, removable medium: tray, load, eject, lockable.
        BinaryPrimitives.WriteUInt16BigEndian(data[32..], 3);
        data[34] = 0x0b;
        data[35] = 4;
        data[36] = 0x39;
        request.Reply(data, allocation);
    }

    private void GetEventStatusNotification(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        int allocation = AllocationLength16(cdb, 7);
        if ((cdb[1] & 0x01) == 0)
        {
            request.Fail(ScsiSense.InvalidField); // only polled operation
            return;
        }

        const int MediaClass = 4;
        Span<byte> data = request.Scratch.AsSpan(0, 8);
        data.Clear();
        data[3] = 1 << MediaClass;
        int length = 4;
        if ((cdb[4] & (1 << MediaClass)) != 0)
        {
            data[2] = MediaClass;
            byte status = _trayOpen ? (byte)0x01 : _medium is not null ? (byte)0x02 : (byte)0;
            byte code = 0; // no change
            if (!_trayOpen)
            {
                if (_mediaEvent)
                {
                    code = 2; // new media
                    _mediaEvent = false;
                }
                else if (_ejectRequested)
                {
                    code = 1; // eject request
                    _ejectRequested = false;
                }
            }

            data[4] = code;
            data[5] = status;
            length = 8;
        }
        else
        {
            data[2] = 0x80; // no event available
        }

        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(length - 4));
        request.Reply(data[..length], allocation);
    }

    private void ReadDiscInformation(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        int allocation = AllocationLength16(cdb, 7);
        if (!RequireMedium(request))
        {
            return;
        }

        if ((cdb[1] & 0x07) != 0)
        {
            request.Fail(ScsiSense.InvalidField); // types 1 and 2 are Blu-ray's
            return;
        }

        Span<byte> data = request.Scratch.AsSpan(0, 34);
        data.Clear();
        data[1] = 32;
        data[2] = 0x0e; // last session complete, disc finalised
        data[3] = 1; // first track
        data[4] = 1; // sessions
        data[5] = 1; // first track of the last session
        data[6] = 1; // last track of the last session
        data[7] = 0x20; // unrestricted use
        request.Reply(data, allocation);
    }

    private void MechanismStatus(ScsiRequest request)
    {
        int allocation = AllocationLength16(request.Cdb, 8);
        Span<byte> data = request.Scratch.AsSpan(0, 8);
        data.Clear();
        data[5] = 1; // one slot
        request.Reply(data, allocation);
    }

    public override void Dispose()
    {
        lock (StateLock)
        {
            RemoveMediumLocked();
        }

        base.Dispose();
    }
}

/// <summary>A CD drive's state beyond its disc: tray, lock, and what it still has to report of a change.</summary>
public sealed record ScsiCdromState(bool TrayOpen, bool Locked, bool MediaChanged, bool MediaEvent, bool EjectRequested);
