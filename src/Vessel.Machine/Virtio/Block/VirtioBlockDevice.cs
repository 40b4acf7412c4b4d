using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Virtio.Queues;
using Vessel.Storage;

namespace Vessel.Machine.Virtio.Block;

/// <summary>
/// virtio-blk (device type 2, virtio 1.2 section 5.2) over an <see cref="IBlockDevice"/>: reads,
/// writes, flush, device ID, discard and write-zeroes. Requests are served on the device's own
/// I/O thread, straight between the disk and guest RAM (no bounce buffer, no allocation).
/// </summary>
/// <remarks>
/// A request the device cannot honour (beyond the end of the disk, a write to a read-only disk,
/// a malformed header or range list) completes with VIRTIO_BLK_S_IOERR or _UNSUPP; a request
/// without even a status byte to report in breaks the protocol and the device needs a reset.
/// </remarks>
public sealed class VirtioBlockDevice : VirtioDevice
{
    public const int ConfigSpaceSize = 60;

    // Disk I/O is done in pieces so one huge guest buffer never becomes one huge host call.
    private const int MaxIoPiece = 1 << 20;

    private readonly IBlockDevice _disk;
    private readonly VirtioBlockOptions _options;
    private readonly byte[] _id = new byte[VirtioBlockRequest.IdLength];
    private readonly DescriptorChain _chain;
    private readonly ulong _capacitySectors;
    private readonly bool _readOnly;
    private long _ioErrors;

    public VirtioBlockDevice(IBlockDevice disk, VirtioBlockOptions? options = null)
        : this(disk, options ??= new VirtioBlockOptions(), Validate(disk, options))
    {
    }

    private VirtioBlockDevice(IBlockDevice disk, VirtioBlockOptions options, ulong features)
        : base(VirtioDeviceType.Block, features, [options.QueueSize], ConfigSpaceSize, "virtio-blk")
    {
        _disk = disk;
        _options = options;
        _readOnly = (features & VirtioBlockFeatures.ReadOnly) != 0;
        _capacitySectors = (ulong)disk.Length >> VirtioBlockRequest.SectorShift;
        _chain = new DescriptorChain(options.QueueSize);
        Encoding.ASCII.GetBytes(options.Serial, _id);
        WriteConfigSpace();
    }

    /// <summary>Disk size in 512-byte sectors, as the guest sees it.</summary>
    public ulong CapacitySectors => _capacitySectors;

    public bool IsReadOnly => _readOnly;

    /// <summary>How many requests the disk failed (host I/O errors), for diagnostics.</summary>
    public long IoErrorCount => Interlocked.Read(ref _ioErrors);

    /// <summary>What the guest read, wrote, flushed and discarded (QMP <c>query-blockstats</c>).</summary>
    public BlockIoStatistics Statistics { get; } = new();

    public override VirtioDeviceState SaveState() => new VirtioBlockState();

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioBlockState)
        {
            throw new ArgumentException($"Expected virtio-blk state, got {state.GetType().Name}.", nameof(state));
        }
    }

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        while (queue.TryPop(_chain))
        {
            HandleRequest(_chain);

            // The status byte is the last byte written; the used length counts every writable
            // byte up to it (the data for reads, the ID for GET_ID).
            queue.Push(_chain.Head, (uint)_chain.WritableLength);

            // Complete each request as soon as it is done rather than at the end of a batch;
            // event-index suppression keeps this cheap for a driver that does not want them.
            if (queue.ShouldSignalUsed())
            {
                Interrupt.SignalUsedBuffers(queueIndex);
            }
        }
    }

    private void HandleRequest(DescriptorChain chain)
    {
        if (chain.WritableLength < 1)
        {
            throw new VirtqueueException(0, VirtqueueError.MalformedRequest, "block request without a status byte");
        }

        Span<byte> header = stackalloc byte[VirtioBlockRequest.HeaderSize];
        byte status;
        if (chain.CopyFromReadable(0, header) < header.Length)
        {
            status = VirtioBlockRequest.StatusIoError;
        }
        else
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            try
            {
                status = type switch
                {
                    VirtioBlockRequest.TypeIn => Read(chain, sector),
                    VirtioBlockRequest.TypeOut => Write(chain, sector),
                    VirtioBlockRequest.TypeFlush => Flush(),
                    VirtioBlockRequest.TypeGetId => GetId(chain),
                    VirtioBlockRequest.TypeDiscard => DiscardOrWriteZeroes(chain, writeZeroes: false),
                    VirtioBlockRequest.TypeWriteZeroes => DiscardOrWriteZeroes(chain, writeZeroes: true),
                    _ => VirtioBlockRequest.StatusUnsupported,
                };
            }
            catch (Exception ex) when (ex is not VirtqueueException)
            {
                // The host disk failed (I/O error, full file system): the guest sees an I/O error.
                Interlocked.Increment(ref _ioErrors);
                status = VirtioBlockRequest.StatusIoError;
            }
        }

        Count(chain, header, status);
        chain.CopyToWritable(chain.WritableLength - 1, [status]);
    }

    private void Count(DescriptorChain chain, ReadOnlySpan<byte> header, byte status)
    {
        bool ok = status == VirtioBlockRequest.StatusOk;
        switch (BinaryPrimitives.ReadUInt32LittleEndian(header))
        {
            case VirtioBlockRequest.TypeIn when ok:
                Statistics.Read(chain.WritableLength - 1);
                break;
            case VirtioBlockRequest.TypeIn:
                Statistics.ReadFailed();
                break;
            case VirtioBlockRequest.TypeOut when ok:
                Statistics.Written(chain.ReadableLength - VirtioBlockRequest.HeaderSize);
                break;
            case VirtioBlockRequest.TypeOut:
                Statistics.WriteFailed();
                break;
            case VirtioBlockRequest.TypeFlush when ok:
                Statistics.Flushed();
                break;
            case VirtioBlockRequest.TypeFlush:
                Statistics.FlushFailed();
                break;
        }
    }

    private byte Read(DescriptorChain chain, ulong sector)
    {
        // Data the driver made device-readable has no place in a read: it is a driver bug, and
        // treating it as an empty read would let the driver believe its buffer was filled.
        long length = chain.WritableLength - 1;
        if (chain.ReadableLength != VirtioBlockRequest.HeaderSize || !TryGetDiskRange(sector, length, out long offset))
        {
            return VirtioBlockRequest.StatusIoError;
        }

        foreach (GuestRange range in chain.EnumerateWritable(0, length, MaxIoPiece))
        {
            _disk.Read(offset, chain.Memory.GetWriteSpan(range.Address, range.Length));
            offset += range.Length;
        }

        return VirtioBlockRequest.StatusOk;
    }

    private byte Write(DescriptorChain chain, ulong sector)
    {
        // Likewise a write's data must be device-readable; only the status byte is writable.
        long length = chain.ReadableLength - VirtioBlockRequest.HeaderSize;
        if (_readOnly || chain.WritableLength != 1 || !TryGetDiskRange(sector, length, out long offset))
        {
            return VirtioBlockRequest.StatusIoError;
        }

        foreach (GuestRange range in chain.EnumerateReadable(VirtioBlockRequest.HeaderSize, length, MaxIoPiece))
        {
            _disk.Write(offset, chain.Memory.GetReadSpan(range.Address, range.Length));
            offset += range.Length;
        }

        return VirtioBlockRequest.StatusOk;
    }

    private byte Flush()
    {
        _disk.Flush();
        return VirtioBlockRequest.StatusOk;
    }

    private byte GetId(DescriptorChain chain)
    {
        long room = chain.WritableLength - 1;
        chain.CopyToWritable(0, _id.AsSpan(0, (int)Math.Min(room, _id.Length)));
        return VirtioBlockRequest.StatusOk;
    }

    private byte DiscardOrWriteZeroes(DescriptorChain chain, bool writeZeroes)
    {
        ulong feature = writeZeroes ? VirtioBlockFeatures.WriteZeroes : VirtioBlockFeatures.Discard;
        if ((NegotiatedFeatures & feature) == 0)
        {
            return VirtioBlockRequest.StatusUnsupported;
        }

        if (_readOnly)
        {
            return VirtioBlockRequest.StatusIoError;
        }

        long payload = chain.ReadableLength - VirtioBlockRequest.HeaderSize;
        uint maxSegments = writeZeroes ? _options.MaxWriteZeroesSegments : _options.MaxDiscardSegments;
        uint maxSectors = writeZeroes ? _options.MaxWriteZeroesSectors : _options.MaxDiscardSectors;
        if (payload <= 0 || payload % VirtioBlockRequest.RangeSize != 0 || payload / VirtioBlockRequest.RangeSize > maxSegments)
        {
            return VirtioBlockRequest.StatusIoError;
        }

        int count = (int)(payload / VirtioBlockRequest.RangeSize);
        Span<byte> range = stackalloc byte[VirtioBlockRequest.RangeSize];

        // Check every range before touching the disk, so an unsupported flag fails the whole request.
        for (int i = 0; i < count; i++)
        {
            chain.CopyFromReadable(VirtioBlockRequest.HeaderSize + (long)i * VirtioBlockRequest.RangeSize, range);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(range);
            uint sectors = BinaryPrimitives.ReadUInt32LittleEndian(range[8..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(range[12..]);
            if ((flags & ~VirtioBlockRequest.RangeFlagUnmap) != 0 || (!writeZeroes && flags != 0))
            {
                return VirtioBlockRequest.StatusUnsupported;
            }

            if (sectors > maxSectors || !TryGetDiskRange(sector, (long)sectors << VirtioBlockRequest.SectorShift, out _))
            {
                return VirtioBlockRequest.StatusIoError;
            }
        }

        long total = 0;
        for (int i = 0; i < count; i++)
        {
            chain.CopyFromReadable(VirtioBlockRequest.HeaderSize + (long)i * VirtioBlockRequest.RangeSize, range);
            long offset = (long)(BinaryPrimitives.ReadUInt64LittleEndian(range) << VirtioBlockRequest.SectorShift);
            long length = (long)BinaryPrimitives.ReadUInt32LittleEndian(range[8..]) << VirtioBlockRequest.SectorShift;
            bool unmap = (BinaryPrimitives.ReadUInt32LittleEndian(range[12..]) & VirtioBlockRequest.RangeFlagUnmap) != 0;
            if (length == 0)
            {
                continue;
            }

            if (writeZeroes)
            {
                _disk.WriteZeroes(offset, length, unmap);
            }
            else
            {
                _disk.Discard(offset, length);
            }

            total += length;
        }

        Statistics.Discarded(total);
        return VirtioBlockRequest.StatusOk;
    }

    /// <summary>Whether [sector, + length bytes) is a whole number of sectors inside the disk.</summary>
    private bool TryGetDiskRange(ulong sector, long length, out long offset)
    {
        offset = 0;
        if (length < 0 || (length & (VirtioBlockRequest.SectorSize - 1)) != 0)
        {
            return false;
        }

        ulong sectors = (ulong)length >> VirtioBlockRequest.SectorShift;
        if (sector > _capacitySectors || sectors > _capacitySectors - sector)
        {
            return false;
        }

        offset = (long)(sector << VirtioBlockRequest.SectorShift);
        return true;
    }

    private void WriteConfigSpace()
    {
        lock (ConfigLock)
        {
            Span<byte> config = ConfigSpace;
            BinaryPrimitives.WriteUInt64LittleEndian(config, _capacitySectors);
            BinaryPrimitives.WriteUInt32LittleEndian(config[12..], (uint)_options.QueueSize - 2);
            BinaryPrimitives.WriteUInt32LittleEndian(config[20..], _options.LogicalBlockSize);
            uint alignment = Math.Max(1, _options.LogicalBlockSize >> VirtioBlockRequest.SectorShift);
            BinaryPrimitives.WriteUInt32LittleEndian(config[36..], _options.MaxDiscardSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(config[40..], _options.MaxDiscardSegments);
            BinaryPrimitives.WriteUInt32LittleEndian(config[44..], alignment);
            BinaryPrimitives.WriteUInt32LittleEndian(config[48..], _options.MaxWriteZeroesSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(config[52..], _options.MaxWriteZeroesSegments);
            config[56] = 1; // write_zeroes_may_unmap: the block layer may free ranges written with unmap.
        }
    }

    /// <summary>Checks the options (user errors become one clear sentence) and works out the features to offer.</summary>
    private static ulong Validate(IBlockDevice disk, VirtioBlockOptions options)
    {
        ArgumentNullException.ThrowIfNull(disk);
        if (options.Serial.Length > VirtioBlockRequest.IdLength || options.Serial.Any(c => c < 0x20 || c > 0x7e))
        {
            throw new ArgumentException($"The disk serial \"{options.Serial}\" must be at most 20 printable ASCII characters.");
        }

        uint blockSize = options.LogicalBlockSize;
        // Linux refuses a blk_size larger than its page size (4 KiB on riscv64 and x86-64).
        if (blockSize < 512 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentException($"The logical block size {blockSize} must be 512, 1024, 2048 or 4096.");
        }

        ushort queueSize = options.QueueSize;
        if (queueSize < 4 || (queueSize & (queueSize - 1)) != 0)
        {
            throw new ArgumentException($"The virtio-blk queue size {queueSize} must be a power of two of at least 4.");
        }

        if (options.MaxDiscardSectors == 0 || options.MaxDiscardSegments == 0 || options.MaxWriteZeroesSectors == 0 || options.MaxWriteZeroesSegments == 0)
        {
            throw new ArgumentException("The discard and write-zeroes limits must not be zero.");
        }

        bool readOnly = options.ReadOnly || disk.IsReadOnly;
        ulong features = VirtioBlockFeatures.SegMax | VirtioBlockFeatures.BlockSize | VirtioBlockFeatures.Flush;
        if (readOnly)
        {
            features |= VirtioBlockFeatures.ReadOnly;
        }
        else
        {
            features |= (options.Discard ? VirtioBlockFeatures.Discard : 0) | (options.WriteZeroes ? VirtioBlockFeatures.WriteZeroes : 0);
        }

        return features;
    }
}
