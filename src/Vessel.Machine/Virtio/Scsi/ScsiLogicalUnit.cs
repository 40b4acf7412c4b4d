using System.Buffers.Binary;
using System.Text;
using Vessel.Storage;

namespace Vessel.Machine.Virtio.Scsi;

/// <summary>
/// An emulated SCSI logical unit (LUN 0 of a target), with what disks and CD-ROM drives share:
/// INQUIRY with its VPD pages, REPORT LUNS, TEST UNIT READY, REQUEST SENSE, unit attentions,
/// MODE SENSE's framework, READ CAPACITY and the data path between the medium and guest RAM.
/// Identities are QEMU's (vendor <c>QEMU</c>, <c>QEMU HARDDISK</c>, <c>QEMU CD-ROM</c>,
/// revision <c>2.5+</c>), so guests that know QEMU's devices treat these alike.
/// </summary>
/// <remarks>
/// Commands run on the controller's worker thread, one at a time per controller. Anything the
/// guest asks that does not make sense (an unknown command, a field out of range, an LBA past
/// the end) ends in CHECK CONDITION with the sense QEMU gives; a host I/O error is a MEDIUM ERROR.
/// </remarks>
public abstract class ScsiLogicalUnit : IDisposable
{
    /// <summary>Peripheral device types (SPC).</summary>
    public const byte TypeDisk = 0x00;
    public const byte TypeRom = 0x05;

    // Disk I/O is done in pieces so one huge guest buffer never becomes one huge host call.
    private const int MaxIoPiece = 1 << 20;

    private readonly string _deviceId;
    private ScsiSense? _unitAttention;

    protected ScsiLogicalUnit(byte peripheralType, string product, string deviceId, bool removable)
    {
        PeripheralType = peripheralType;
        Product = product;
        Removable = removable;
        _deviceId = deviceId.Length > 200 ? deviceId[..200] : deviceId;
        _unitAttention = ScsiSense.PowerOnReset;
    }

    public byte PeripheralType { get; }

    public string Product { get; }

    public bool Removable { get; }

    /// <summary>Bytes per logical block: 512 for disks, 2048 for CDs.</summary>
    public abstract int BlockSize { get; }

    /// <summary>What the guest read and wrote through this unit (QMP <c>query-blockstats</c>).</summary>
    public BlockIoStatistics Statistics { get; } = new();

    /// <summary>The name the device identification VPD page carries (the drive's id).</summary>
    public string DeviceId => _deviceId;

    /// <summary>Guards the medium and the unit's state (commands, and media changes from other threads).</summary>
    protected Lock StateLock { get; } = new();

    /// <summary>The medium, or null when there is none (an empty or open CD drive).</summary>
    protected abstract IBlockDevice? Medium { get; }

    protected virtual bool IsReadOnly => true;

    /// <summary>Blocks on the medium (0 without one).</summary>
    protected long BlockCount => Medium is { } medium ? medium.Length / BlockSize : 0;

    /// <summary>Runs one command; the outcome is in <paramref name="request"/>.</summary>
    public void Execute(ScsiRequest request)
    {
        lock (StateLock)
        {
            byte opcode = request.Opcode;
            if (_unitAttention is { } attention && opcode is not (ScsiOpcode.Inquiry or ScsiOpcode.ReportLuns or ScsiOpcode.RequestSense
                or ScsiOpcode.GetConfiguration or ScsiOpcode.GetEventStatusNotification))
            {
                _unitAttention = null;
                request.Fail(attention);
                OnUnitAttentionReported();
                return;
            }

            try
            {
                ExecuteLocked(request);
            }
            catch (Exception ex) when (ex is not Queues.VirtqueueException)
            {
                // The host's storage failed under a command: the guest sees a medium error.
                request.Fail(IsWrite(opcode) ? ScsiSense.WriteError : ScsiSense.ReadError);
            }
        }
    }

    /// <summary>Back to power-on: a unit attention says so (LOGICAL UNIT RESET, a device reset).</summary>
    public virtual void Reset()
    {
        lock (StateLock)
        {
            _unitAttention = ScsiSense.PowerOnReset;
        }
    }

    /// <summary>The unit attention the next command reports (null: none), for saving.</summary>
    public ScsiSense? PendingUnitAttention
    {
        get
        {
            lock (StateLock)
            {
                return _unitAttention;
            }
        }

        set
        {
            lock (StateLock)
            {
                _unitAttention = value;
            }
        }
    }

    /// <summary>Sets a unit attention (the latest wins).</summary>
    protected void RaiseUnitAttention(ScsiSense sense) => _unitAttention = sense;

    /// <summary>Called after a unit attention was reported, with the lock held.</summary>
    protected virtual void OnUnitAttentionReported()
    {
    }

    private void ExecuteLocked(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        switch (request.Opcode)
        {
            case ScsiOpcode.Inquiry:
                Inquiry(request);
                return;
            case ScsiOpcode.ReportLuns:
                ReportLuns(request);
                return;
            case ScsiOpcode.RequestSense:
                RequestSense(request);
                return;
            case ScsiOpcode.TestUnitReady:
                RequireMedium(request);
                return;
            case ScsiOpcode.ReadCapacity10:
                ReadCapacity10(request);
                return;
            case ScsiOpcode.ServiceActionIn16 when (cdb[1] & 0x1f) == ScsiOpcode.ReadCapacity16ServiceAction:
                ReadCapacity16(request);
                return;
            case ScsiOpcode.ModeSense6:
            case ScsiOpcode.ModeSense10:
                ModeSense(request);
                return;
            case ScsiOpcode.Read6:
                Transfer(request, (uint)(((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3]), cdb[4] == 0 ? 256u : cdb[4], write: false);
                return;
            case ScsiOpcode.Read10:
                Transfer(request, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]), write: false);
                return;
            case ScsiOpcode.Read12:
                Transfer(request, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), write: false);
                return;
            case ScsiOpcode.Read16:
                Transfer(request, BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), write: false);
                return;
            case ScsiOpcode.Write6:
                Transfer(request, (uint)(((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3]), cdb[4] == 0 ? 256u : cdb[4], write: true);
                return;
            case ScsiOpcode.Write10:
            case ScsiOpcode.WriteAndVerify10:
                Transfer(request, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]), write: true);
                return;
            case ScsiOpcode.Write12:
                Transfer(request, BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), write: true);
                return;
            case ScsiOpcode.Write16:
                Transfer(request, BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), write: true);
                return;
            case ScsiOpcode.Verify10:
            case ScsiOpcode.Verify16:
            case ScsiOpcode.Seek10:
                // Verification against the medium itself (BYTCHK=0) always succeeds; a compare is not offered.
                if ((cdb[1] & 0x06) != 0 && request.Opcode != ScsiOpcode.Seek10)
                {
                    request.Fail(ScsiSense.InvalidField);
                    return;
                }

                RequireMedium(request);
                return;
            default:
                if (!ExecuteSpecific(request))
                {
                    request.Fail(ScsiSense.InvalidOpcode);
                }

                return;
        }
    }

    /// <summary>Commands of one device type; returns false for an unknown opcode.</summary>
    protected abstract bool ExecuteSpecific(ScsiRequest request);

    /// <summary>Appends one mode page (header included) at <paramref name="page"/>; returns its length, or -1 when the page does not exist.</summary>
    protected abstract int WriteModePage(int pageCode, int pageControl, Span<byte> page);

    /// <summary>The mode pages MODE SENSE's "all pages" (0x3f) lists, in order.</summary>
    protected abstract ReadOnlySpan<byte> ModePages { get; }

    /// <summary>VPD pages beyond 0x00 and 0x83, in order.</summary>
    protected virtual ReadOnlySpan<byte> ExtraVpdPages => [];

    /// <summary>Writes an extra VPD page's payload after its 4-byte header; returns the payload length.</summary>
    protected virtual int WriteVpdPage(byte page, Span<byte> payload) => -1;

    /// <summary>Fails the command with NOT READY when there is no medium; returns whether there is one.</summary>
    protected bool RequireMedium(ScsiRequest request)
    {
        if (Medium is null)
        {
            request.Fail(ScsiSense.NoMedium);
            return false;
        }

        return true;
    }

    protected static int AllocationLength16(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt16BigEndian(cdb[offset..]);

    private static bool IsWrite(byte opcode) => opcode is ScsiOpcode.Write6 or ScsiOpcode.Write10 or ScsiOpcode.Write12 or ScsiOpcode.Write16 or ScsiOpcode.WriteAndVerify10;

    private void Inquiry(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        int allocation = AllocationLength16(cdb, 3);
        Span<byte> data = request.Scratch.AsSpan(0, 256);
        data.Clear();
        if ((cdb[1] & 0x01) == 0)
        {
            if (cdb[2] != 0)
            {
                request.Fail(ScsiSense.InvalidField);
                return;
            }

            // Standard data, padded to the allocation length as QEMU pads it (at most 256 bytes).
            data[0] = PeripheralType;
            data[1] = Removable ? (byte)0x80 : (byte)0;
            data[2] = 5; // SPC-3: guests then use READ CAPACITY(16) and the VPD pages
            data[3] = 0x12; // response data format 2, HiSup
            data[4] = (byte)(Math.Min(allocation, 256) > 36 ? Math.Min(allocation, 256) - 5 : 36 - 5);
            data[7] = 0x12; // synchronous transfer, command queueing
            WritePadded(data.Slice(8, 8), "QEMU");
            WritePadded(data.Slice(16, 16), Product);
            WritePadded(data.Slice(32, 4), "2.5+");
            request.Reply(data[..Math.Min(Math.Max(allocation, 0), 256)], allocation);
            return;
        }

        byte page = cdb[2];
        data[0] = PeripheralType;
        data[1] = page;
        int length;
        switch (page)
        {
            case 0x00:
                length = 0;
                data[4 + length++] = 0x00;
                data[4 + length++] = 0x83;
                foreach (byte extra in ExtraVpdPages)
                {
                    data[4 + length++] = extra;
                }

                break;
            case 0x83:
                // One ASCII designator, vendor specific: the drive's id, as QEMU gives.
                int idLength = Encoding.ASCII.GetBytes(_deviceId, data[8..]);
                data[4] = 0x02;
                data[7] = (byte)idLength;
                length = idLength == 0 ? 0 : 4 + idLength;
                break;
            default:
                length = ExtraVpdPages.Contains(page) ? WriteVpdPage(page, data[4..]) : -1;
                break;
        }

        if (length < 0)
        {
            request.Fail(ScsiSense.InvalidField);
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(data[2..], (ushort)length);
        request.Reply(data[..(4 + length)], allocation);
    }

    private static void WritePadded(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, field.Length)), field);
    }

    private static void ReportLuns(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        int allocation = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue);
        if (allocation < 16)
        {
            request.Fail(ScsiSense.InvalidField);
            return;
        }

        Span<byte> data = request.Scratch.AsSpan(0, 16);
        data.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(data, 8); // one LUN: 0
        request.Reply(data, allocation);
    }

    private void RequestSense(ScsiRequest request)
    {
        int allocation = request.Cdb[4];
        ScsiSense sense = ScsiSense.NoSense;
        if (_unitAttention is { } attention)
        {
            sense = attention;
            _unitAttention = null;
            OnUnitAttentionReported();
        }
        else if (Medium is null && PeripheralType == TypeRom)
        {
            sense = ScsiSense.NoMedium;
        }

        Span<byte> data = request.Scratch.AsSpan(0, ScsiSense.FixedLength);
        sense.WriteFixed(data);
        request.Reply(data, allocation);
    }

    private void ReadCapacity10(ScsiRequest request)
    {
        if (!RequireMedium(request))
        {
            return;
        }

        Span<byte> data = request.Scratch.AsSpan(0, 8);
        long last = BlockCount - 1;
        BinaryPrimitives.WriteUInt32BigEndian(data, last > uint.MaxValue ? uint.MaxValue : (uint)Math.Max(last, 0));
        BinaryPrimitives.WriteUInt32BigEndian(data[4..], (uint)BlockSize);
        request.Reply(data, 8);
    }

    private void ReadCapacity16(ScsiRequest request)
    {
        int allocation = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(request.Cdb[10..]), 32);
        if (!RequireMedium(request))
        {
            return;
        }

        Span<byte> data = request.Scratch.AsSpan(0, 32);
        data.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)Math.Max(BlockCount - 1, 0));
        BinaryPrimitives.WriteUInt32BigEndian(data[8..], (uint)BlockSize);
        data[14] = ThinProvisioned ? (byte)0x80 : (byte)0; // LBPME: UNMAP frees blocks
        request.Reply(data, allocation);
    }

    /// <summary>Whether the unit offers UNMAP (READ CAPACITY(16)'s LBPME).</summary>
    protected virtual bool ThinProvisioned => false;

    private void ModeSense(ScsiRequest request)
    {
        ReadOnlySpan<byte> cdb = request.Cdb;
        bool ten = request.Opcode == ScsiOpcode.ModeSense10;
        int allocation = ten ? AllocationLength16(cdb, 7) : cdb[4];
        int pageCode = cdb[2] & 0x3f, pageControl = cdb[2] >> 6;
        if (pageControl == 3)
        {
            request.Fail(ScsiSense.SavingNotSupported);
            return;
        }

        // CD drives have no block descriptors (MMC); disks give one unless DBD is set.
        bool blockDescriptor = PeripheralType == TypeDisk && (cdb[1] & 0x08) == 0;
        Span<byte> data = request.Scratch.AsSpan(0, 1024);
        data.Clear();
        int header = ten ? 8 : 4;
        int length = header;
        if (blockDescriptor)
        {
            long blocks = BlockCount;
            Span<byte> descriptor = data.Slice(length, 8);
            BinaryPrimitives.WriteUInt32BigEndian(descriptor, blocks > 0xff_ffff ? 0 : (uint)blocks);
            BinaryPrimitives.WriteUInt32BigEndian(descriptor[4..], (uint)BlockSize);
            descriptor[0] = 0; // density code over the top byte of the count
            length += 8;
        }

        if (pageCode == 0x3f)
        {
            foreach (byte page in ModePages)
            {
                length += WriteModePage(page, pageControl, data[length..]);
            }
        }
        else
        {
            int pageLength = WriteModePage(pageCode, pageControl, data[length..]);
            if (pageLength < 0)
            {
                request.Fail(ScsiSense.InvalidField);
                return;
            }

            length += pageLength;
        }

        byte deviceSpecific = PeripheralType == TypeDisk ? (byte)(0x10 | (IsReadOnly ? 0x80 : 0)) : (byte)0; // DPOFUA, WP
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(length - 2));
            data[3] = deviceSpecific;
            data[7] = blockDescriptor ? (byte)8 : (byte)0;
        }
        else
        {
            data[0] = (byte)(length - 1);
            data[2] = deviceSpecific;
            data[3] = blockDescriptor ? (byte)8 : (byte)0;
        }

        request.Reply(data[..length], allocation);
    }

    /// <summary>READ and WRITE: between the medium and guest RAM, in place, without a bounce buffer.</summary>
    private void Transfer(ScsiRequest request, ulong lba, uint blocks, bool write)
    {
        if (!RequireMedium(request))
        {
            return;
        }

        IBlockDevice medium = Medium!;
        if (lba > (ulong)BlockCount || blocks > (ulong)BlockCount - lba)
        {
            request.Fail(ScsiSense.LbaOutOfRange);
            return;
        }

        long length = (long)blocks * BlockSize;
        if (length > (write ? request.DataOutLength : request.DataInLength))
        {
            request.Overrun = true;
            return;
        }

        if (write && (IsReadOnly || medium.IsReadOnly))
        {
            request.Fail(ScsiSense.WriteProtected);
            return;
        }

        long offset = (long)lba * BlockSize;
        if (write)
        {
            foreach (Queues.GuestRange range in request.DataOut(0, length, MaxIoPiece))
            {
                medium.Write(offset, request.Memory.GetReadSpan(range.Address, range.Length));
                offset += range.Length;
            }

            request.DataOutTransferred = length;
            Statistics.Written(length);
        }
        else
        {
            foreach (Queues.GuestRange range in request.DataIn(0, length, MaxIoPiece))
            {
                medium.Read(offset, request.Memory.GetWriteSpan(range.Address, range.Length));
                offset += range.Length;
            }

            request.NoteDataIn(length);
            Statistics.Read(length);
        }
    }

    public virtual void Dispose()
    {
        GC.SuppressFinalize(this);
    }
}
