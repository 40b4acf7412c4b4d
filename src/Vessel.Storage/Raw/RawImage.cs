using Vessel.Storage.Host;

namespace Vessel.Storage.Raw;

/// <summary>
/// A raw image: the virtual disk is the file, byte for byte. Discards punch holes, write-zeroes
/// use the file system's zero-range where it can, and a raw image whose format was guessed (not
/// given) refuses writes that would make its first sector look like another format, so a guest
/// can never turn its disk into, say, a qcow2 image pointing at a host file. As in QEMU's block
/// layer, the disk is a whole number of 512-byte sectors: a file whose length is not a multiple
/// of 512 has a last, partial sector that reads as zeroes past the end of the file (so
/// <c>img info</c> reports the size qemu-img reports and a guest sees every byte of the file).
/// </summary>
public sealed class RawImage : DiskImage
{
    private const int ZeroChunk = 1 << 20;
    private const long SectorSize = 512;

    private readonly HostFile _file;
    private readonly Lock _lock = new();
    private long _length;
    private bool _disposed;

    internal RawImage(HostFile file, string path, bool readOnly, bool formatWasProbed)
        : base(path, readOnly)
    {
        _file = file;
        _length = WholeSectors(file.Length);
        RestrictFirstSector = formatWasProbed && !readOnly;
    }

    /// <summary>Whether writes that would give sector 0 another format's signature are refused.</summary>
    public bool RestrictFirstSector { get; }

    public override ImageFormat Format => ImageFormat.Raw;

    public override long Length => _length;

    public override long AllocatedBytes => _file.AllocatedBytes();

    /// <summary>Opens a raw image file.</summary>
    public static RawImage Open(string path, bool readOnly, ImageLockMode lockMode = ImageLockMode.Shared)
    {
        HostFile file = HostFile.Open(path, !readOnly, readOnly ? lockMode : ImageLockMode.Exclusive);
        return new RawImage(file, path, readOnly, formatWasProbed: false);
    }

    /// <summary>Creates a raw image of <paramref name="size"/> bytes (sparse).</summary>
    public static void Create(string path, long size)
    {
        if (size < 0)
        {
            throw new StorageException("an image size cannot be negative");
        }

        using HostFile file = HostFile.Create(path);
        file.SetLength(size);
    }

    public override void Read(long offset, Span<byte> buffer)
    {
        CheckRequest(offset, buffer.Length, write: false);
        _file.ReadZeroPadded(offset, buffer);
    }

    public override void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        CheckRequest(offset, buffer.Length, write: true);
        if (RestrictFirstSector && offset < FormatProbe.ProbeLength && buffer.Length > 0)
        {
            CheckFirstSector(offset, buffer);
        }

        _file.Write(offset, buffer);
    }

    private void CheckFirstSector(long offset, ReadOnlySpan<byte> buffer)
    {
        Span<byte> sector = stackalloc byte[FormatProbe.ProbeLength];
        _file.ReadZeroPadded(0, sector);
        int count = (int)Math.Min(buffer.Length, FormatProbe.ProbeLength - offset);
        buffer[..count].CopyTo(sector[(int)offset..]);
        string? format = FormatProbe.RecogniseFormat(sector);
        if (format is not null)
        {
            throw new StorageException($"refusing to write a {format} signature into the first sector of raw image '{Path}', whose format was detected rather than given (open it with format=raw to allow this)");
        }
    }

    public override void Flush()
    {
        if (!IsReadOnly)
        {
            _file.DataSync();
        }
    }

    public override void Discard(long offset, long length)
    {
        CheckRequest(offset, length, write: true);
        _file.PunchHole(offset, length);
    }

    public override void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckRequest(offset, length, write: true);
        if (length == 0)
        {
            return;
        }

        if (mayUnmap && _file.PunchHole(offset, length))
        {
            return;
        }

        if (_file.ZeroRange(offset, length))
        {
            return;
        }

        lock (_lock)
        {
            byte[] zeroes = new byte[(int)Math.Min(length, ZeroChunk)];
            for (long done = 0; done < length; done += zeroes.Length)
            {
                int n = (int)Math.Min(zeroes.Length, length - done);
                _file.Write(offset + done, zeroes.AsSpan(0, n));
            }
        }
    }

    public override BlockExtent GetExtent(long offset, long maxLength)
    {
        CheckRequest(offset, 0, write: false);
        long end = Math.Min(_length, offset + maxLength);
        if (!_file.TryFindData(offset, out long dataStart, out long dataEnd))
        {
            return new BlockExtent(offset, end - offset, ExtentKind.Data, offset, false);
        }

        if (dataStart > offset)
        {
            return new BlockExtent(offset, Math.Min(dataStart, end) - offset, ExtentKind.Zero, offset, false);
        }

        return new BlockExtent(offset, Math.Min(dataEnd, end) - offset, ExtentKind.Data, offset, false);
    }

    public override void Resize(long newLength, bool allowShrink)
    {
        if (IsReadOnly)
        {
            throw new StorageException($"disk image '{Path}' is open read-only");
        }

        if (newLength < _length && !allowShrink)
        {
            throw new StorageException($"shrinking '{Path}' would drop data; use --shrink to allow it");
        }

        if (newLength < 0)
        {
            throw new StorageException("an image size cannot be negative");
        }

        lock (_lock)
        {
            _file.SetLength(newLength);
            _length = WholeSectors(newLength);
        }
    }

    private static long WholeSectors(long bytes) => (bytes + SectorSize - 1) & ~(SectorSize - 1);

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (disposing)
        {
            try
            {
                Flush();
            }
            finally
            {
                _file.Dispose();
            }
        }
    }
}
