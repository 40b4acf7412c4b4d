using System.Diagnostics;

namespace Vessel.Storage.Operations;

/// <summary>Parameters of <see cref="ImageBenchmark"/>, named like qemu-img bench's options.</summary>
public sealed record BenchOptions
{
    public ImageFormat? Format { get; init; }
    public bool Write { get; init; }
    public int Count { get; init; } = 75000;
    public int Depth { get; init; } = 64;
    public int BufferSize { get; init; } = 4096;
    public long Offset { get; init; }

    /// <summary>Bytes between the starts of consecutive requests (default: the buffer size).</summary>
    public long? Step { get; init; }

    public byte Pattern { get; init; }
    public int FlushInterval { get; init; }
    public bool NoDrain { get; init; }

    /// <summary>Read without a lock (qemu-img bench -U); only for read benchmarks.</summary>
    public bool ForceShare { get; init; }
}

/// <summary>
/// qemu-img bench's workload on Vessel's block layer: <c>count</c> requests of one size, each
/// <c>step</c> bytes after the previous, wrapping around the disk exactly as qemu-img does.
/// Requests are issued one at a time (the queue depth is reported, not used).
/// </summary>
public static class ImageBenchmark
{
    public static TimeSpan Run(string path, BenchOptions options)
    {
        if (options.BufferSize <= 0 || options.Count < 0)
        {
            throw new ImageOptionsException("the buffer size and request count must be positive");
        }

        using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = options.Format, ReadOnly = !options.Write, ForceShare = options.ForceShare && !options.Write });
        long size = image.Length;
        if (options.BufferSize > size)
        {
            throw new StorageException($"the buffer size {options.BufferSize} is larger than the image ({size} bytes)");
        }

        var buffer = GC.AllocateUninitializedArray<byte>(options.BufferSize, pinned: true);
        buffer.AsSpan().Fill(options.Pattern);
        long step = options.Step ?? options.BufferSize;
        long offset = options.Offset;
        var stopwatch = Stopwatch.StartNew();
        for (int i = 0; i < options.Count; i++)
        {
            if (offset + options.BufferSize > size)
            {
                offset = 0;
            }

            if (options.Write)
            {
                image.Write(offset, buffer);
            }
            else
            {
                image.Read(offset, buffer);
            }

            if (options.Write && options.FlushInterval > 0 && (i + 1) % options.FlushInterval == 0)
            {
                image.Flush();
            }

            // qemu-img bench: advance by the step, wrapping modulo the image size (a request that
            // would then run past the end starts over at 0, as newer qemu-img does).
            offset = (offset + step) % size;
        }

        if (options.Write && !options.NoDrain)
        {
            image.Flush();
        }

        stopwatch.Stop();
        return stopwatch.Elapsed;
    }
}
