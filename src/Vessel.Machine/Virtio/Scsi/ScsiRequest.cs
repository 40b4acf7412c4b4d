using Vessel.Machine.Memory;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Scsi;

/// <summary>
/// One SCSI command as a logical unit sees it: the CDB, where its data goes or comes from in
/// guest memory, and the outcome (status, sense, bytes transferred). The controller keeps one
/// and reuses it for every command, so a command allocates nothing.
/// </summary>
public sealed class ScsiRequest
{
    /// <summary>The largest response an emulated (not read from disk) command builds.</summary>
    public const int ScratchSize = 4096;

    private readonly byte[] _cdb = new byte[256];
    private DescriptorChain? _chain;
    private long _dataOutOffset;
    private long _dataInOffset;

    public ScsiRequest()
    {
    }

    /// <summary>The command descriptor block (as long as the controller's CDB size).</summary>
    public ReadOnlySpan<byte> Cdb => _cdb.AsSpan(0, CdbLength);

    public int CdbLength { get; private set; }

    public byte Opcode => _cdb[0];

    /// <summary>Bytes the guest offered for data to the device.</summary>
    public long DataOutLength { get; private set; }

    /// <summary>Room the guest offered for data from the device.</summary>
    public long DataInLength { get; private set; }

    /// <summary>Bytes written into the data-in buffers so far.</summary>
    public long DataInTransferred { get; private set; }

    /// <summary>Bytes taken from the data-out buffers.</summary>
    public long DataOutTransferred { get; set; }

    public byte Status { get; private set; }

    public ScsiSense Sense { get; private set; }

    /// <summary>Set when the command asked to move more data than the buffers hold (virtio's OVERRUN).</summary>
    public bool Overrun { get; set; }

    /// <summary>A buffer for building emulated responses.</summary>
    public byte[] Scratch { get; } = new byte[ScratchSize];

    public GuestMemory Memory => _chain!.Memory;

    internal DescriptorChain Chain => _chain!;

    internal void Begin(DescriptorChain chain, ReadOnlySpan<byte> cdb, long dataOutOffset, long dataInOffset)
    {
        _chain = chain;
        cdb.CopyTo(_cdb);
        CdbLength = cdb.Length;
        _dataOutOffset = dataOutOffset;
        _dataInOffset = dataInOffset;
        DataOutLength = Math.Max(0, chain.ReadableLength - dataOutOffset);
        DataInLength = Math.Max(0, chain.WritableLength - dataInOffset);
        DataInTransferred = 0;
        DataOutTransferred = 0;
        Status = ScsiStatus.Good;
        Sense = ScsiSense.NoSense;
        Overrun = false;
    }

    /// <summary>Ends the command with CHECK CONDITION and this sense.</summary>
    public void Fail(ScsiSense sense)
    {
        Status = ScsiStatus.CheckCondition;
        Sense = sense;
    }

    /// <summary>
    /// Sends an emulated response: at most <paramref name="allocationLength"/> bytes of it (the
    /// CDB's allocation length). Returns false (and marks an overrun) when the guest's buffers are
    /// smaller than the allocation length, as QEMU refuses such a request.
    /// </summary>
    public bool Reply(ReadOnlySpan<byte> data, int allocationLength)
    {
        if (allocationLength > DataInLength)
        {
            Overrun = true;
            return false;
        }

        int length = Math.Min(data.Length, allocationLength);
        DataInTransferred = _chain!.CopyToWritable(_dataInOffset, data[..length]);
        return true;
    }

    /// <summary>Guest ranges of the data-in buffers, from <paramref name="offset"/> bytes in.</summary>
    public GuestRangeEnumerator DataIn(long offset, long length, int maxPiece) => _chain!.EnumerateWritable(_dataInOffset + offset, length, maxPiece);

    /// <summary>Guest ranges of the data-out buffers, from <paramref name="offset"/> bytes in.</summary>
    public GuestRangeEnumerator DataOut(long offset, long length, int maxPiece) => _chain!.EnumerateReadable(_dataOutOffset + offset, length, maxPiece);

    /// <summary>Copies data-out bytes (a parameter list); returns how many there were.</summary>
    public int ReadDataOut(Span<byte> destination) => _chain!.CopyFromReadable(_dataOutOffset, destination[..(int)Math.Min(destination.Length, DataOutLength)]);

    public void NoteDataIn(long bytes) => DataInTransferred += bytes;
}
