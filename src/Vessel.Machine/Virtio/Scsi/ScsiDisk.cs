using System.Buffers.Binary;
using Vessel.Storage;

namespace Vessel.Machine.Virtio.Scsi;

/// <summary>
/// A SCSI disk, as QEMU's <c>scsi-hd</c>: 512-byte blocks, READ/WRITE (6/10/12/16), SYNCHRONIZE
/// CACHE, UNMAP, the block limits, characteristics and provisioning VPD pages, and the error
/// recovery and caching mode pages.
/// </summary>
public sealed class ScsiDisk : ScsiLogicalUnit
{
    public const int SectorSize = 512;

    // At most this many ranges in one UNMAP, and this many blocks in one range (as the VPD page says).
    private const int MaxUnmapDescriptors = 255;
    private const uint MaxUnmapBlocks = 0x3f_ffff;

    private readonly IBlockDevice _disk;
    private readonly bool _readOnly;

    public ScsiDisk(IBlockDevice disk, string deviceId, bool readOnly = false)
        : base(TypeDisk, "QEMU HARDDISK", deviceId, removable: false)
    {
        _disk = disk;
        _readOnly = readOnly || disk.IsReadOnly;
    }

    public override int BlockSize => SectorSize;

    protected override IBlockDevice? Medium => _disk;

    protected override bool IsReadOnly => _readOnly;

    protected override bool ThinProvisioned => !_readOnly;

    protected override ReadOnlySpan<byte> ModePages => [0x01, 0x08];

    protected override ReadOnlySpan<byte> ExtraVpdPages => [0xb0, 0xb1, 0xb2];

    protected override bool ExecuteSpecific(ScsiRequest request)
    {
        switch (request.Opcode)
        {
            case ScsiOpcode.SynchronizeCache10:
            case ScsiOpcode.SynchronizeCache16:
                _disk.Flush();
                Statistics.Flushed();
                return true;
            case ScsiOpcode.StartStopUnit:
            case ScsiOpcode.PreventAllowMediumRemoval:
                return true; // a fixed disk spins and holds its medium regardless
            case ScsiOpcode.Unmap:
                Unmap(request);
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
                    page[2] = 0x80; // automatic write reallocation
                }

                return 12;
            case 0x08: // caching: the write cache is on (SYNCHRONIZE CACHE makes writes durable)
                page[0] = 0x08;
                page[1] = 0x12;
                page.Slice(2, 0x12).Clear();
                page[2] = 0x04; // WCE (also the one changeable bit)
                return 0x14;
            default:
                return -1;
        }
    }

    protected override int WriteVpdPage(byte page, Span<byte> payload)
    {
        switch (page)
        {
            case 0xb0: // block limits
                payload[..0x3c].Clear();
                BinaryPrimitives.WriteUInt32BigEndian(payload[16..], _readOnly ? 0 : MaxUnmapBlocks); // max unmap LBA count
                BinaryPrimitives.WriteUInt32BigEndian(payload[20..], _readOnly ? 0u : MaxUnmapDescriptors); // max unmap descriptors
                return 0x3c;
            case 0xb1: // block device characteristics: rotation rate not reported
                payload[..0x3c].Clear();
                return 0x3c;
            case 0xb2: // logical block provisioning
                payload[..4].Clear();
                payload[1] = _readOnly ? (byte)0 : (byte)0x80; // LBPU: UNMAP
                payload[2] = _readOnly ? (byte)0 : (byte)2; // thin provisioned
                return 4;
            default:
                return -1;
        }
    }

    private void Unmap(ScsiRequest request)
    {
        if (_readOnly)
        {
            request.Fail(ScsiSense.WriteProtected);
            return;
        }

        int parameterLength = AllocationLength16(request.Cdb, 7);
        if (parameterLength == 0)
        {
            return;
        }

        if (parameterLength < 8 || parameterLength > request.DataOutLength || parameterLength > request.Scratch.Length)
        {
            request.Fail(ScsiSense.InvalidParameterList);
            return;
        }

        Span<byte> list = request.Scratch.AsSpan(0, parameterLength);
        request.ReadDataOut(list);
        int descriptorBytes = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(list[2..]), parameterLength - 8) & ~15;
        if (descriptorBytes / 16 > MaxUnmapDescriptors)
        {
            request.Fail(ScsiSense.InvalidParameterList);
            return;
        }

        long blocks = _disk.Length / SectorSize;
        for (int i = 8; i < 8 + descriptorBytes; i += 16)
        {
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(list[i..]);
            uint count = BinaryPrimitives.ReadUInt32BigEndian(list[(i + 8)..]);
            if (count > MaxUnmapBlocks || lba > (ulong)blocks || count > (ulong)blocks - lba)
            {
                request.Fail(ScsiSense.LbaOutOfRange);
                return;
            }
        }

        long discarded = 0;
        for (int i = 8; i < 8 + descriptorBytes; i += 16)
        {
            long offset = (long)BinaryPrimitives.ReadUInt64BigEndian(list[i..]) * SectorSize;
            long length = (long)BinaryPrimitives.ReadUInt32BigEndian(list[(i + 8)..]) * SectorSize;
            if (length > 0)
            {
                _disk.Discard(offset, length);
                discarded += length;
            }
        }

        Statistics.Discarded(discarded);
        request.DataOutTransferred = parameterLength;
    }
}
