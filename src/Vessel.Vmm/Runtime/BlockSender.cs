using System.Buffers.Binary;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Storage;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// The disks' side of a block migration (QMP <c>migrate</c> with <c>blk: true</c>, as QEMU's
/// <c>migrate -b</c>): the disks' contents go in the state stream with the memory, to a
/// destination that has empty images of the same sizes. First every chunk that is not all
/// zeroes (the destination's images read as zeroes), then, round after round with the RAM, the
/// chunks the guest wrote since they were sent (<see cref="DiskDirtyLog"/>); the last ones while
/// the guest is stopped. Each chunk is one CRC-checked section of the stream
/// (<see cref="BlockStateCodec"/>).
/// </summary>
internal sealed class BlockSender
{
    private readonly IReadOnlyList<HandoverDisk> _disks;
    private readonly DiskDirtyLog[] _logs;
    private readonly ulong[][] _pending;
    private readonly byte[] _chunk = new byte[DiskDirtyLog.ChunkSize];
    private readonly byte[] _payload = new byte[BlockStateCodec.HeaderSize + DiskDirtyLog.ChunkSize];
    private long _transferred;
    private long _remainingChunks;

    public BlockSender(IReadOnlyList<HandoverDisk> disks)
    {
        _disks = disks;
        _logs = new DiskDirtyLog[disks.Count];
        _pending = new ulong[disks.Count][];
        Total = disks.Sum(d => d.Length);
    }

    /// <summary>Bytes of disk sent so far (chunk records, zero ones included).</summary>
    public long Transferred => Interlocked.Read(ref _transferred);

    /// <summary>Bytes of disk still to send (the whole disk before the first pass ends, then what is dirty).</summary>
    public long Remaining => Interlocked.Read(ref _remainingChunks) * DiskDirtyLog.ChunkSize;

    public long Total { get; }

    /// <summary>Starts logging the guest's writes and sends the disks' sizes, then every non-zero chunk.</summary>
    public void SendBulk(StateWriter writer, Action<long> account)
    {
        for (int i = 0; i < _disks.Count; i++)
        {
            _logs[i] = _disks[i].StartDirtyLog();
            _pending[i] = new ulong[_logs[i].Words];
        }

        Interlocked.Exchange(ref _remainingChunks, _logs.Sum(l => l.ChunkCount));
        writer.WriteSection(BlockStateCodec.DisksSection, BlockStateCodec.Version, BlockStateCodec.EncodeSizes([.. _disks.Select(d => d.Length)]));
        for (int disk = 0; disk < _disks.Count; disk++)
        {
            for (long chunk = 0; chunk < _logs[disk].ChunkCount; chunk++)
            {
                SendChunk(writer, account, disk, chunk, skipZero: true);
                Interlocked.Decrement(ref _remainingChunks);
            }
        }
    }

    /// <summary>Takes the chunks written since the last call into the pending set; returns how many are pending.</summary>
    public long Harvest()
    {
        long pending = 0;
        for (int disk = 0; disk < _disks.Count; disk++)
        {
            _logs[disk].TakeInto(_pending[disk]);
            pending += _pending[disk].Sum(w => (long)ulong.PopCount(w));
        }

        Interlocked.Exchange(ref _remainingChunks, pending);
        return pending;
    }

    /// <summary>Sends the pending chunks as they are now (zero chunks as zero records) and clears them.</summary>
    public void SendPending(StateWriter writer, Action<long> account)
    {
        for (int disk = 0; disk < _disks.Count; disk++)
        {
            ulong[] bits = _pending[disk];
            for (int word = 0; word < bits.Length; word++)
            {
                while (bits[word] != 0)
                {
                    int bit = System.Numerics.BitOperations.TrailingZeroCount(bits[word]);
                    bits[word] &= bits[word] - 1;
                    SendChunk(writer, account, disk, ((long)word << 6) + bit, skipZero: false);
                    Interlocked.Decrement(ref _remainingChunks);
                }
            }
        }
    }

    public void StopLogging()
    {
        foreach (HandoverDisk disk in _disks)
        {
            disk.StopDirtyLog();
        }
    }

    private void SendChunk(StateWriter writer, Action<long> account, int disk, long chunk, bool skipZero)
    {
        long offset = chunk * DiskDirtyLog.ChunkSize;
        int length = (int)Math.Min(DiskDirtyLog.ChunkSize, _disks[disk].Length - offset);
        Span<byte> data = _chunk.AsSpan(0, length);
        _disks[disk].Read(offset, data);
        bool zero = !data.ContainsAnyExcept((byte)0);
        if (zero && skipZero)
        {
            return;
        }

        int size = BlockStateCodec.EncodeChunk(_payload, disk, offset, length, zero ? default : data);
        writer.WriteSection(BlockStateCodec.ChunkSection, BlockStateCodec.Version, _payload.AsSpan(0, size));
        Interlocked.Add(ref _transferred, size);
        account(size);
    }
}

/// <summary>
/// The block-migration sections of a state stream: <c>blk-disks</c> (the source's disk sizes,
/// which the destination's must match) and <c>blk-chunk</c> (a chunk of one disk: its data, or
/// a mark that it is all zeroes).
/// </summary>
internal static class BlockStateCodec
{
    public const string DisksSection = "blk-disks";
    public const string ChunkSection = "blk-chunk";
    public const uint Version = 1;

    /// <summary>disk index (4), offset (8), length (4), flags (4).</summary>
    public const int HeaderSize = 20;

    private const uint ZeroFlag = 1;

    public static byte[] EncodeSizes(IReadOnlyList<long> sizes)
    {
        byte[] payload = new byte[4 + (8 * sizes.Count)];
        BinaryPrimitives.WriteInt32LittleEndian(payload, sizes.Count);
        for (int i = 0; i < sizes.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(4 + (8 * i)), sizes[i]);
        }

        return payload;
    }

    public static long[] DecodeSizes(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(payload) is var count && (count < 0 || payload.Length != 4 + (8 * (long)count)))
        {
            throw new StateFormatException("its block-migration disk list is corrupt.");
        }

        long[] sizes = new long[count];
        for (int i = 0; i < count; i++)
        {
            sizes[i] = BinaryPrimitives.ReadInt64LittleEndian(payload[(4 + (8 * i))..]);
        }

        return sizes;
    }

    /// <summary>Writes a chunk record into <paramref name="target"/>; <paramref name="data"/> empty means all zeroes.</summary>
    public static int EncodeChunk(Span<byte> target, int disk, long offset, int length, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteInt32LittleEndian(target, disk);
        BinaryPrimitives.WriteInt64LittleEndian(target[4..], offset);
        BinaryPrimitives.WriteInt32LittleEndian(target[12..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(target[16..], data.IsEmpty ? ZeroFlag : 0);
        data.CopyTo(target[HeaderSize..]);
        return HeaderSize + data.Length;
    }

    public static (int Disk, long Offset, int Length, bool Zero, ReadOnlyMemory<byte> Data) DecodeChunk(byte[] payload)
    {
        if (payload.Length < HeaderSize)
        {
            throw new StateFormatException("it has a block-migration chunk that is too short.");
        }

        int disk = BinaryPrimitives.ReadInt32LittleEndian(payload);
        long offset = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(4));
        int length = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(12));
        bool zero = (BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(16)) & ZeroFlag) != 0;
        if (length <= 0 || offset < 0 || payload.Length != HeaderSize + (zero ? 0 : length))
        {
            throw new StateFormatException("it has a corrupt block-migration chunk.");
        }

        return (disk, offset, length, zero, payload.AsMemory(HeaderSize));
    }
}
