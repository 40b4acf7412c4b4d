namespace Vessel.Storage;

/// <summary>
/// A virtual disk as the block layer presents it to devices: a linear array of bytes of fixed
/// <see cref="Length"/>, whatever the image format underneath (raw, qcow2, a backing chain).
/// Offsets and lengths are in bytes; devices pass sector-aligned values. Calls may block on
/// host I/O, so devices issue them from their own I/O threads, never from a vCPU thread.
/// Implementations serialise concurrent calls themselves.
/// </summary>
public interface IBlockDevice : IDisposable
{
    /// <summary>The guest-visible size in bytes.</summary>
    long Length { get; }

    /// <summary>Whether writes, discards and write-zeroes are refused.</summary>
    bool IsReadOnly { get; }

    /// <summary>Reads <c>buffer.Length</c> bytes at <paramref name="offset"/>.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Writes <c>buffer.Length</c> bytes at <paramref name="offset"/>.</summary>
    void Write(long offset, ReadOnlySpan<byte> buffer);

    /// <summary>Makes every write acknowledged so far durable on the host.</summary>
    void Flush();

    /// <summary>The range's content is no longer needed; it may read back as zeroes or as before.</summary>
    void Discard(long offset, long length);

    /// <summary>The range reads back as zeroes afterwards; <paramref name="mayUnmap"/> allows freeing its storage.</summary>
    void WriteZeroes(long offset, long length, bool mayUnmap);
}
