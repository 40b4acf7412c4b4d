namespace Vessel.Storage;

/// <summary>
/// An open disk image of any format: the <see cref="IBlockDevice"/> a device uses, plus what the
/// image tool needs (format, backing chain, allocation status, resize). Disposing an image
/// flushes it and closes its backing chain.
/// </summary>
public abstract class DiskImage : IBlockDevice
{
    private protected DiskImage(string path, bool readOnly)
    {
        Path = path;
        IsReadOnly = readOnly;
    }

    /// <summary>The path the image was opened by (as given, for messages and qemu-img-like output).</summary>
    public string Path { get; }

    public abstract ImageFormat Format { get; }

    public abstract long Length { get; }

    public bool IsReadOnly { get; }

    /// <summary>The backing image reads fall through to, if any (opened read-only unless committing).</summary>
    public virtual DiskImage? Backing => null;

    /// <summary>Bytes the image occupies on the host file system (qemu-img's "disk size").</summary>
    public abstract long AllocatedBytes { get; }

    /// <summary>Opens an image by path; see <see cref="ImageOpener.Open(string, ImageOpenOptions?)"/>.</summary>
    public static DiskImage Open(string path, ImageFormat? format = null, bool readOnly = false) =>
        ImageOpener.Open(path, new ImageOpenOptions { Format = format, ReadOnly = readOnly });

    public abstract void Read(long offset, Span<byte> buffer);

    public abstract void Write(long offset, ReadOnlySpan<byte> buffer);

    public abstract void Flush();

    public abstract void Discard(long offset, long length);

    public abstract void WriteZeroes(long offset, long length, bool mayUnmap);

    /// <summary>
    /// The status of this layer only, from <paramref name="offset"/> for at most
    /// <paramref name="maxLength"/> bytes; the returned extent is never empty inside the disk.
    /// </summary>
    public abstract BlockExtent GetExtent(long offset, long maxLength);

    /// <summary>Changes the virtual size; shrinking must be asked for explicitly because it drops data.</summary>
    public abstract void Resize(long newLength, bool allowShrink);

    /// <summary>Whether every cluster-sized run of this layer can be written compressed (qcow2 only).</summary>
    public virtual bool SupportsCompressedWrites => false;

    /// <summary>Preferred unit of allocation (cluster size for qcow2, 4 KiB for raw).</summary>
    public virtual int AllocationUnit => 4096;

    /// <summary>Checks a request lies inside the disk and the image accepts it.</summary>
    protected void CheckRequest(long offset, long length, bool write)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new StorageException($"request at offset {offset} of {length} bytes lies outside disk image '{Path}' ({Length} bytes)");
        }

        if (write && IsReadOnly)
        {
            throw new StorageException($"disk image '{Path}' is open read-only");
        }
    }

    protected abstract void Dispose(bool disposing);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
