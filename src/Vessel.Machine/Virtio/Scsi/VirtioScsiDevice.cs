using System.Buffers.Binary;
using Vessel.Machine.Virtio.Queues;
using static Vessel.Machine.Virtio.Scsi.VirtioScsiProtocol;

namespace Vessel.Machine.Virtio.Scsi;

/// <summary>
/// A virtio-scsi controller (device type 8, virtio 1.2 section 5.6), as QEMU's
/// <c>virtio-scsi-device</c>: one request queue, targets 0 to 255 each with LUN 0 (a
/// <see cref="ScsiDisk"/> or a <see cref="ScsiCdrom"/>), task management that has nothing to
/// abort (commands complete one at a time), and an event queue that stays quiet (no hot-plug).
/// </summary>
/// <remarks>
/// Commands run on the device's worker, straight between the medium and guest RAM. A request
/// for a target that does not exist gets BAD_TARGET; one whose buffers are smaller than the data
/// it asks to move gets OVERRUN; one too short to hold a request header gets FAILURE; only a
/// request with no room even for the response breaks the device, which then needs a reset.
/// </remarks>
public sealed class VirtioScsiDevice : VirtioDevice
{
    public const int ControlQueue = 0;
    public const int EventQueue = 1;
    public const int RequestQueue = 2;
    public const int ConfigSpaceSize = 36;

    private const ushort QueueSize = 128;

    private readonly ScsiLogicalUnit?[] _targets = new ScsiLogicalUnit?[MaxTarget + 1];
    private readonly DescriptorChain _requestChain = new(QueueSize);
    private readonly DescriptorChain _controlChain = new(QueueSize);
    private readonly ScsiRequest _request = new();
    private readonly byte[] _header = new byte[RequestHeaderSize + 256];
    private readonly byte[] _response = new byte[ResponseHeaderSize + 256];
    private int _cdbSize = DefaultCdbSize;
    private int _senseSize = DefaultSenseSize;

    /// <param name="targets">The units by target number (LUN 0 of each); the controller disposes them.</param>
    public VirtioScsiDevice(IReadOnlyDictionary<int, ScsiLogicalUnit> targets)
        : base(VirtioDeviceType.Scsi, FeatureHotplug | FeatureChange, [QueueSize, QueueSize, QueueSize], ConfigSpaceSize, "virtio-scsi")
    {
        foreach ((int target, ScsiLogicalUnit unit) in targets)
        {
            if ((uint)target > MaxTarget)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"SCSI target {target} is not between 0 and {MaxTarget}.");
            }

            _targets[target] = unit;
        }

        WriteConfigSpace();
    }

    /// <summary>The unit at <paramref name="target"/>, or null.</summary>
    public ScsiLogicalUnit? GetTarget(int target) => (uint)target <= MaxTarget ? _targets[target] : null;

    public override VirtioDeviceState SaveState()
    {
        var units = new List<ScsiUnitState>();
        for (int target = 0; target <= MaxTarget; target++)
        {
            if (_targets[target] is { } unit)
            {
                ScsiSense? attention = unit.PendingUnitAttention;
                units.Add(new ScsiUnitState(
                    target,
                    attention is { } sense ? [sense.Key, sense.Asc, sense.Ascq] : null,
                    (unit as ScsiCdrom)?.SaveDriveState()));
            }
        }

        lock (ConfigLock)
        {
            return new VirtioScsiState(units.ToArray(), _cdbSize, _senseSize);
        }
    }

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioScsiState scsi)
        {
            throw new ArgumentException($"Expected virtio-scsi state, got {state.GetType().Name}.", nameof(state));
        }

        foreach (ScsiUnitState saved in scsi.Units)
        {
            if (GetTarget(saved.Target) is not { } unit || (saved.Cdrom is not null) != (unit is ScsiCdrom))
            {
                throw new ArgumentException($"The saved SCSI target {saved.Target} does not match this controller's units.", nameof(state));
            }

            unit.PendingUnitAttention = saved.UnitAttention is [byte key, byte asc, byte ascq] ? new ScsiSense(key, asc, ascq) : null;
            if (saved.Cdrom is not null)
            {
                ((ScsiCdrom)unit).RestoreDriveState(saved.Cdrom);
            }
        }

        lock (ConfigLock)
        {
            _cdbSize = Math.Clamp(scsi.CdbSize, 6, 255);
            _senseSize = Math.Clamp(scsi.SenseSize, 0, 255);
            WriteConfigSpace();
        }
    }

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        switch (queueIndex)
        {
            case RequestQueue:
                while (queue.TryPop(_requestChain))
                {
                    uint written = HandleRequest(_requestChain);
                    queue.Push(_requestChain.Head, written);
                    if (queue.ShouldSignalUsed())
                    {
                        Interrupt.SignalUsedBuffers(queueIndex);
                    }
                }

                break;
            case ControlQueue:
                while (queue.TryPop(_controlChain))
                {
                    queue.Push(_controlChain.Head, HandleControl(_controlChain));
                }

                break;

            // The event queue's buffers wait for events that never come (no hot-plug); they are
            // left in the ring, as QEMU leaves them until it has something to say.
        }
    }

    protected override void OnReset()
    {
        foreach (ScsiLogicalUnit? unit in _targets)
        {
            unit?.Reset();
        }

        lock (ConfigLock)
        {
            _cdbSize = DefaultCdbSize;
            _senseSize = DefaultSenseSize;
            WriteConfigSpace();
        }
    }

    /// <summary>sense_size (offset 20) and cdb_size (offset 24) are the driver's to set; the rest is read-only.</summary>
    protected override void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            return;
        }

        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (offset == 20 && value <= 255)
        {
            _senseSize = (int)value;
        }
        else if (offset == 24 && value is >= 6 and <= 255)
        {
            _cdbSize = (int)value;
        }

        WriteConfigSpace();
    }

    private uint HandleRequest(DescriptorChain chain)
    {
        int cdbSize, senseSize;
        lock (ConfigLock)
        {
            (cdbSize, senseSize) = (_cdbSize, _senseSize);
        }

        int headerSize = RequestHeaderSize + cdbSize, responseSize = ResponseHeaderSize + senseSize;
        if (chain.WritableLength < responseSize)
        {
            throw new VirtqueueException(RequestQueue, VirtqueueError.MalformedRequest, "SCSI request without room for its response");
        }

        Span<byte> response = _response.AsSpan(0, responseSize);
        response.Clear();
        Span<byte> header = _header.AsSpan(0, headerSize);
        if (chain.CopyFromReadable(0, header) < headerSize)
        {
            response[11] = ResponseFailure;
            return (uint)chain.CopyToWritable(0, response);
        }

        ScsiLogicalUnit? unit = FindUnit(header, out bool lunZero);
        if (unit is null)
        {
            response[11] = ResponseBadTarget;
            return (uint)chain.CopyToWritable(0, response);
        }

        _request.Begin(chain, header.Slice(RequestHeaderSize, cdbSize), headerSize, responseSize);
        if (!lunZero)
        {
            // The target exists but has only LUN 0: INQUIRY says "no unit here", the rest fail.
            if (_request.Opcode == ScsiOpcode.Inquiry)
            {
                Span<byte> none = _request.Scratch.AsSpan(0, 36);
                none.Clear();
                none[0] = 0x7f;
                _request.Reply(none, InquiryAllocationLength(_request.Cdb));
            }
            else if (_request.Opcode != ScsiOpcode.ReportLuns)
            {
                _request.Fail(ScsiSense.LunNotSupported);
            }
        }
        else
        {
            unit.Execute(_request);
        }

        if (_request.Overrun)
        {
            response[11] = ResponseOverrun;
            BinaryPrimitives.WriteUInt32LittleEndian(response[4..], (uint)Math.Min(_request.DataInLength + _request.DataOutLength, uint.MaxValue));
            return (uint)chain.CopyToWritable(0, response);
        }

        response[10] = _request.Status;
        response[11] = ResponseOk;
        if (_request.Status == ScsiStatus.CheckCondition)
        {
            int senseLength = _request.Sense.WriteFixed(response.Slice(ResponseHeaderSize, senseSize));
            BinaryPrimitives.WriteUInt32LittleEndian(response, (uint)senseLength);
        }

        // resid: the part of the data buffers the command did not use.
        long residual = _request.DataInLength > 0 ? _request.DataInLength - _request.DataInTransferred : _request.DataOutLength - _request.DataOutTransferred;
        BinaryPrimitives.WriteUInt32LittleEndian(response[4..], (uint)Math.Clamp(residual, 0, uint.MaxValue));
        chain.CopyToWritable(0, response);
        return (uint)(responseSize + _request.DataInTransferred);
    }

    private static int InquiryAllocationLength(ReadOnlySpan<byte> cdb) => BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);

    /// <summary>The unit a virtio LUN field names (byte 0 = 1, byte 1 = target, bytes 2-3 = 0x4000 | LUN), or null.</summary>
    private ScsiLogicalUnit? FindUnit(ReadOnlySpan<byte> lun, out bool lunZero)
    {
        lunZero = false;
        if (lun[0] != 1)
        {
            return null;
        }

        int number = ((lun[2] << 8) | lun[3]) & 0x3fff;
        lunZero = number == 0 && lun[4..8].IndexOfAnyExcept((byte)0) < 0;
        return _targets[lun[1]];
    }

    private uint HandleControl(DescriptorChain chain)
    {
        Span<byte> request = stackalloc byte[TmfRequestSize];
        int length = chain.CopyFromReadable(0, request);
        if (length < 4)
        {
            return 0;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(request);
        if (type == ControlTaskManagement)
        {
            byte result = TmfFunctionRejected;
            if (length >= TmfRequestSize)
            {
                ScsiLogicalUnit? unit = FindUnit(request.Slice(8, 8), out bool lunZero);
                uint subtype = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
                result = unit is null ? ResponseBadTarget : !lunZero ? TmfIncorrectLun : TaskManagement(unit, subtype);
            }

            return (uint)chain.CopyToWritable(0, [result]);
        }

        if (type is ControlAsyncQuery or ControlAsyncSubscribe)
        {
            // No asynchronous notifications: event_actual 0, response OK.
            Span<byte> response = stackalloc byte[5];
            response.Clear();
            response[4] = length >= AsyncRequestSize && FindUnit(request.Slice(4, 8), out _) is null ? ResponseBadTarget : ResponseOk;
            return (uint)chain.CopyToWritable(0, response);
        }

        return (uint)chain.CopyToWritable(0, [ResponseFailure]);
    }

    private static byte TaskManagement(ScsiLogicalUnit unit, uint subtype)
    {
        switch (subtype)
        {
            case TmfAbortTask:
            case TmfAbortTaskSet:
            case TmfClearAca:
            case TmfClearTaskSet:
            case TmfQueryTask:
            case TmfQueryTaskSet:
                // Every command completed before the next was taken: nothing is left to abort.
                return TmfFunctionComplete;
            case TmfItNexusReset:
            case TmfLogicalUnitReset:
                unit.Reset();
                return TmfFunctionComplete;
            default:
                return TmfFunctionRejected;
        }
    }

    private void WriteConfigSpace()
    {
        lock (ConfigLock)
        {
            Span<byte> config = ConfigSpace;
            BinaryPrimitives.WriteUInt32LittleEndian(config, 1); // num_queues
            BinaryPrimitives.WriteUInt32LittleEndian(config[4..], QueueSize - 2); // seg_max
            BinaryPrimitives.WriteUInt32LittleEndian(config[8..], 0xffff); // max_sectors
            BinaryPrimitives.WriteUInt32LittleEndian(config[12..], 128); // cmd_per_lun
            BinaryPrimitives.WriteUInt32LittleEndian(config[16..], 16); // event_info_size
            BinaryPrimitives.WriteUInt32LittleEndian(config[20..], (uint)_senseSize);
            BinaryPrimitives.WriteUInt32LittleEndian(config[24..], (uint)_cdbSize);
            BinaryPrimitives.WriteUInt16LittleEndian(config[28..], 0); // max_channel
            BinaryPrimitives.WriteUInt16LittleEndian(config[30..], MaxTarget);
            BinaryPrimitives.WriteUInt32LittleEndian(config[32..], MaxLun);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        foreach (ScsiLogicalUnit? unit in _targets)
        {
            unit?.Dispose();
        }
    }
}

/// <summary>virtio-scsi's state: each unit's pending unit attention and, for CD drives, tray and lock; the CDB and sense sizes.</summary>
public sealed record VirtioScsiState(ScsiUnitState[] Units, int CdbSize, int SenseSize) : VirtioDeviceState;

/// <summary>One unit's state: its target, its unit attention as [key, asc, ascq] (null: none) and, for a CD drive, the drive's.</summary>
public sealed record ScsiUnitState(int Target, byte[]? UnitAttention, ScsiCdromState? Cdrom);
