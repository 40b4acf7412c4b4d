using System.Buffers;
using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Operations;

/// <summary>Options of <see cref="ImageConverter.Convert"/> (qemu-img convert).</summary>
public sealed record ConvertOptions
{
    public ImageFormat? SourceFormat { get; init; }
    public ImageFormat TargetFormat { get; init; } = ImageFormat.Raw;

    /// <summary>Write qcow2 clusters compressed (-c).</summary>
    public bool Compress { get; init; }

    /// <summary>Creation options for a qcow2 target (-o).</summary>
    public Qcow2CreateOptions Qcow2 { get; init; } = new();

    /// <summary>
    /// Do not wait for the target to reach stable storage (qemu-img convert's default cache
    /// mode, unsafe); the target is consistent for any process crash, not for a power loss.
    /// </summary>
    public bool UnsafeCache { get; init; }

    /// <summary>Read the source even while another process may write it (-U).</summary>
    public bool ForceShare { get; init; }

    public ProgressCallback? Progress { get; init; }
}

/// <summary>
/// Copies the content of any image into a new one of any format: ranges the source chain says
/// are zero are skipped without reading, all-zero blocks are not written (the target starts out
/// reading zeroes), data goes in large sequential requests.
/// </summary>
public static class ImageConverter
{
    private const int ChunkSize = 2 * 1024 * 1024;

    public static void Convert(string source, string target, ConvertOptions options)
    {
        if (options.Compress && options.TargetFormat != ImageFormat.Qcow2)
        {
            throw new StorageException("compression (-c) needs a qcow2 target");
        }

        if (string.Equals(System.IO.Path.GetFullPath(source), System.IO.Path.GetFullPath(target), StringComparison.Ordinal))
        {
            throw new StorageException("the source and target of a conversion must be different files");
        }

        using DiskImage input = ImageOpener.Open(source, new ImageOpenOptions { Format = options.SourceFormat, ReadOnly = true, ForceShare = options.ForceShare });
        long size = input.Length;
        if (options.TargetFormat == ImageFormat.Qcow2)
        {
            Qcow2Creator.Create(target, size, options.Qcow2 with { BackingFile = null, BackingFormat = null });
        }
        else
        {
            Raw.RawImage.Create(target, size);
        }

        using DiskImage output = ImageOpener.Open(target, new ImageOpenOptions { Format = options.TargetFormat, UnsafeCache = options.UnsafeCache });
        Copy(input, output, options.Compress, options.Progress);
        output.Flush();
    }

    /// <summary>
    /// Copies every non-zero block of <paramref name="input"/> into a target that reads as zeroes.
    /// Reading the next chunk overlaps writing (and compressing) the previous one.
    /// </summary>
    internal static void Copy(DiskImage input, DiskImage output, bool compress, ProgressCallback? progress)
    {
        long size = Math.Min(input.Length, output.Length);
        int unit = Math.Max(output.AllocationUnit, 4096);
        int chunk = Math.Max(ChunkSize / unit, 1) * unit;
        byte[] reading = ArrayPool<byte>.Shared.Rent(chunk);
        byte[] writing = ArrayPool<byte>.Shared.Rent(chunk);
        var compressedTarget = compress ? (Qcow2Image)output : null;
        Task pending = Task.CompletedTask;
        try
        {
            long offset = 0;
            while (offset < size)
            {
                long zero = ChainStatus.ZeroRunLength(input, offset, size - offset);
                if (zero > 0)
                {
                    // Skip whole units only: a partial unit may share its cluster with data.
                    long skip = offset + zero >= size ? size - offset : zero / unit * unit;
                    if (skip > 0 && offset % unit == 0)
                    {
                        offset += skip;
                        progress?.Invoke(offset, size);
                        continue;
                    }
                }

                int length = (int)Math.Min(chunk, size - offset);
                input.Read(offset, reading.AsSpan(0, length));
                pending.GetAwaiter().GetResult();
                (reading, writing) = (writing, reading);
                long at = offset;
                byte[] data = writing;
                pending = Task.Run(() => WriteNonZero(output, compressedTarget, at, data.AsSpan(0, length), unit));
                offset += length;
                progress?.Invoke(offset, size);
            }

            pending.GetAwaiter().GetResult();
        }
        finally
        {
            try
            {
                pending.Wait();
            }
            catch (AggregateException)
            {
                // Already reported by GetResult above.
            }

            ArrayPool<byte>.Shared.Return(reading);
            ArrayPool<byte>.Shared.Return(writing);
        }
    }

    private static void WriteNonZero(DiskImage output, Qcow2Image? compressed, long offset, ReadOnlySpan<byte> data, int unit)
    {
        int position = 0;
        while (position < data.Length)
        {
            int length = Math.Min(unit, data.Length - position);
            if (ChainStatus.IsZero(data.Slice(position, length)))
            {
                position += length;
                continue;
            }

            if (compressed is not null)
            {
                compressed.WriteCompressed(offset + position, data.Slice(position, length));
                position += length;
                continue;
            }

            // Merge consecutive non-zero units into one request.
            int end = position + length;
            while (end < data.Length)
            {
                int next = Math.Min(unit, data.Length - end);
                if (ChainStatus.IsZero(data.Slice(end, next)))
                {
                    break;
                }

                end += next;
            }

            output.Write(offset + position, data[position..end]);
            position = end;
        }
    }
}
