using Vessel.Storage.Qcow2.Compression;

namespace Vessel.Storage.Qcow2;

/// <summary>Compressed clusters: reading (deflate or zstd) and writing whole clusters (convert -c).</summary>
public sealed partial class Qcow2Image
{
    private IClusterCodec? _codec;
    private byte[]? _compressedInput;
    private byte[]? _compressedOutput;
    private byte[] _decompressed = [];
    private ulong _decompressedEntry;
    private bool _decompressedValid;

    private IClusterCodec Codec => _codec ??= IClusterCodec.Create(_header.CompressionType);

    /// <summary>Decompresses the cluster an entry describes into <see cref="_decompressed"/> (the last one stays cached).</summary>
    private void ReadCompressedCluster(ulong entry, long guestCluster)
    {
        if (_decompressedValid && entry == _decompressedEntry)
        {
            return;
        }

        long offset = L2Entry.CompressedOffset(entry, _g);
        int length = L2Entry.CompressedLength(entry, _g);
        if (offset < _g.ClusterSize || offset >= HostBound)
        {
            throw Corruption($"compressed guest cluster {guestCluster} points to 0x{offset:x}, outside the file's data area");
        }

        _compressedInput ??= new byte[(2 * _g.ClusterSize) + 512];
        if (_decompressed.Length != _g.ClusterSize)
        {
            _decompressed = new byte[_g.ClusterSize];
        }

        int read = _file.Read(offset, _compressedInput.AsSpan(0, length));
        _decompressedValid = false;
        if (!Codec.Decompress(_compressedInput.AsSpan(0, read), _decompressed))
        {
            throw new StorageException($"compressed guest cluster {guestCluster} of '{Path}' cannot be decompressed (its data is damaged)");
        }

        _decompressedEntry = entry;
        _decompressedValid = true;
    }

    /// <summary>
    /// Writes one whole guest cluster compressed (QEMU's rules: the cluster must not be allocated
    /// yet; data that does not compress is written normally). The last cluster of a disk whose
    /// size is not cluster-aligned may be shorter; it is padded with zeroes.
    /// </summary>
    public void WriteCompressed(long offset, ReadOnlySpan<byte> data)
    {
        CheckRequest(offset, data.Length, write: true);
        if ((offset & _g.ClusterMask) != 0 || (data.Length != _g.ClusterSize && offset + data.Length != Length) || data.Length > _g.ClusterSize)
        {
            throw new ArgumentException("compressed writes cover exactly one cluster", nameof(data));
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureWritable();
            try
            {
                WriteCompressedLocked(offset, data);
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    private void WriteCompressedLocked(long offset, ReadOnlySpan<byte> data)
    {
        long cluster = offset >> _g.ClusterBits;
        long l1Index = cluster >> _g.L2Bits;
        int l2Index = (int)(cluster & (_g.L2Entries - 1));
        int slot = GetL2SlotForWrite(l1Index);
        long l2Offset = _l2Cache.OffsetOf(slot);
        ulong entry = ReadL2(_l2Cache.Table(slot), l2Index);
        ClusterKind kind = L2Entry.Kind(entry, _g);
        if (kind is not (ClusterKind.Unallocated or ClusterKind.ZeroPlain) || (_g.ExtendedL2 && ReadL2Bitmap(_l2Cache.Table(slot), l2Index) != 0))
        {
            WriteLocked(offset, data);
            return;
        }

        ReadOnlySpan<byte> input = data;
        if (data.Length < _g.ClusterSize)
        {
            data.CopyTo(_cowBuffer);
            _cowBuffer.AsSpan(data.Length).Clear();
            input = _cowBuffer;
        }

        _compressedOutput ??= new byte[_g.ClusterSize];
        int length = Codec.Compress(input, _compressedOutput.AsSpan(0, _g.ClusterSize - 1));
        if (length <= 0)
        {
            WriteLocked(offset, data);
            return;
        }

        long host = _refcounts.AllocateBytes(length);
        if ((ulong)(host + length) > _g.CompressedOffsetMask)
        {
            throw new StorageException($"'{Path}' is too large to hold more compressed clusters");
        }

        CheckDataTarget(host, length);
        WriteHostData(host, _compressedOutput.AsSpan(0, length));
        _decompressedValid = false;

        slot = _l2Cache.Get(l2Offset);
        Span<byte> table = _l2Cache.Table(slot);
        WriteL2(table, l2Index, L2Entry.MakeCompressed(host, length, _g));
        if (_g.ExtendedL2)
        {
            WriteL2Bitmap(table, l2Index, 0);
        }

        _l2Cache.MarkDirty(slot);
    }
}
