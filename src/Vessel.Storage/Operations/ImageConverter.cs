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

    /// <summary>
    /// Backing file of the qcow2 target (-B), as written into its header (relative to the
    /// target): only clusters whose content differs from it are written.
    /// </summary>
    public string? BackingFile { get; init; }

    /// <summary>Format of <see cref="BackingFile"/> (-F); detected when null.</summary>
    public ImageFormat? BackingFormat { get; init; }

    /// <summary>
    /// The shortest run of zero bytes in the source's data that is left unwritten (-S, qemu's
    /// default 4 KiB); 0 writes everything, so the target is fully allocated.
    /// </summary>
    public long MinSparse { get; init; } = DefaultMinSparse;

    public const long DefaultMinSparse = 4096;

    /// <summary>Convert an internal snapshot of the source (by ID or name) instead of its active disk (-l).</summary>
    public string? Snapshot { get; init; }

    /// <summary>Write into an existing target instead of creating it (-n).</summary>
    public bool SkipCreate { get; init; }

    /// <summary>With <see cref="SkipCreate"/>: the existing target already reads as zeroes, zeroes need not be written (--target-is-zero).</summary>
    public bool TargetIsZero { get; init; }

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
        Validate(options);
        if (string.Equals(System.IO.Path.GetFullPath(source), System.IO.Path.GetFullPath(target), StringComparison.Ordinal))
        {
            throw new ImageOptionsException("the source and target of a conversion must be different files");
        }

        using DiskImage input = ImageOpener.Open(source, new ImageOpenOptions { Format = options.SourceFormat, ReadOnly = true, ForceShare = options.ForceShare });
        if (options.Snapshot is not null)
        {
            if (input is not Qcow2Image snapshots)
            {
                throw new StorageException($"'{source}' is a raw image and has no snapshots");
            }

            snapshots.ViewSnapshot(options.Snapshot);
        }

        long size = input.Length;
        if (options.SkipCreate)
        {
            if (!File.Exists(target))
            {
                throw new StorageException($"the target '{target}' does not exist (-n writes into an existing image)");
            }

            // Writing a qcow2 file as raw would destroy its metadata.
            ImageFormat existing = ImageOpener.DetectFormat(target);
            if (existing != options.TargetFormat)
            {
                throw new StorageException($"the target '{target}' is a {ImageFormats.Name(existing)} image, not {ImageFormats.Name(options.TargetFormat)} (give its format with -O)");
            }
        }
        else if (options.TargetFormat == ImageFormat.Qcow2)
        {
            Qcow2Creator.Create(target, size, options.Qcow2 with { BackingFile = options.BackingFile, BackingFormat = BackingFormat(target, options) });
        }
        else
        {
            Raw.RawImage.Create(target, size);
        }

        using DiskImage output = ImageOpener.Open(target, new ImageOpenOptions { Format = options.TargetFormat, UnsafeCache = options.UnsafeCache });
        if (output.Length < size)
        {
            throw new StorageException($"the target '{target}' ({output.Length} bytes) is smaller than the source ({size} bytes)");
        }

        var plan = new CopyPlan(output.Backing, options.MinSparse, ReadsZero: !options.SkipCreate || options.TargetIsZero);
        Copy(input, output, options.Compress, options.Progress, plan);
        output.Flush();
    }

    private static void Validate(ConvertOptions options)
    {
        if (options.Compress && options.TargetFormat != ImageFormat.Qcow2)
        {
            throw new ImageOptionsException("compression (-c) needs a qcow2 target");
        }

        if (options.BackingFile is not null && options.TargetFormat != ImageFormat.Qcow2)
        {
            throw new ImageOptionsException("a backing file (-B) needs a qcow2 target");
        }

        if (options.BackingFile is not null && options.SkipCreate)
        {
            throw new ImageOptionsException("a backing file (-B) is set when the target is created, which -n skips");
        }

        if (options.MinSparse < 0 || options.MinSparse % 512 != 0)
        {
            throw new ImageOptionsException($"the sparse size (-S) must be a multiple of 512 bytes, not {options.MinSparse}");
        }

        if (options.TargetIsZero && !options.SkipCreate)
        {
            throw new ImageOptionsException("--target-is-zero only applies to an existing target (-n)");
        }
    }

    /// <summary>The -F format, or the one the backing file has; fails with one sentence when it is missing.</summary>
    private static ImageFormat? BackingFormat(string target, ConvertOptions options)
    {
        if (options.BackingFile is null)
        {
            return null;
        }

        string resolved = Qcow2Image.ResolveBackingPath(target, options.BackingFile);
        if (!File.Exists(resolved))
        {
            throw new StorageException($"the backing file '{resolved}' does not exist");
        }

        if (options.BackingFormat is { } format)
        {
            return format;
        }

        using DiskImage backing = ImageOpener.Open(resolved, new ImageOpenOptions { ReadOnly = true, ForceShare = true, OpenBacking = false });
        return backing.Format;
    }

    /// <summary>
    /// What the target already shows and how sparse it should be: <paramref name="Backing"/> the
    /// chain the target reads where it has nothing (blocks equal to it are not written),
    /// <paramref name="ReadsZero"/> whether its unwritten blocks read as zeroes otherwise.
    /// </summary>
    internal readonly record struct CopyPlan(DiskImage? Backing, long MinSparse, bool ReadsZero);

    /// <summary>
    /// Copies <paramref name="input"/> into <paramref name="output"/>, writing only what the target
    /// does not already show (see <see cref="CopyPlan"/>). Reading the next chunk overlaps writing
    /// (and compressing) the previous one.
    /// </summary>
    internal static void Copy(DiskImage input, DiskImage output, bool compress, ProgressCallback? progress, CopyPlan plan)
    {
        long size = Math.Min(input.Length, output.Length);
        int unit = Math.Max(output.AllocationUnit, 4096);
        int chunk = Math.Max(ChunkSize / unit, 1) * unit;
        byte[] reading = ArrayPool<byte>.Shared.Rent(chunk);
        byte[] writing = ArrayPool<byte>.Shared.Rent(chunk);
        byte[]? backingReading = plan.Backing is null ? null : ArrayPool<byte>.Shared.Rent(chunk);
        byte[]? backingWriting = plan.Backing is null ? null : ArrayPool<byte>.Shared.Rent(chunk);
        var compressedTarget = compress ? (Qcow2Image)output : null;
        Task pending = Task.CompletedTask;
        try
        {
            long offset = 0;
            while (offset < size)
            {
                // Nothing to do where the source is zero and so is everything the target shows.
                long zero = plan.MinSparse > 0 && plan.ReadsZero ? ChainStatus.ZeroRunLength(input, offset, size - offset) : 0;
                if (zero > 0 && plan.Backing is not null)
                {
                    zero = offset >= plan.Backing.Length ? zero : Math.Min(zero, ChainStatus.ZeroRunLength(plan.Backing, offset, Math.Min(zero, plan.Backing.Length - offset)));
                }

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
                if (plan.MinSparse > 0)
                {
                    // -S looks for zeroes within the source's data, as qemu-img does: what its
                    // metadata says is zero after the data is skipped by the next round.
                    long dataRun = ChainStatus.DataRunLength(input, offset, length);
                    length = (int)Math.Min(length, (dataRun + unit - 1) / unit * unit);
                }

                input.Read(offset, reading.AsSpan(0, length));
                if (plan.Backing is not null)
                {
                    ReadLayer(plan.Backing, offset, backingReading.AsSpan(0, length));
                }

                pending.GetAwaiter().GetResult();
                (reading, writing) = (writing, reading);
                (backingReading, backingWriting) = (backingWriting, backingReading);
                long at = offset;
                byte[] data = writing;
                byte[]? shown = backingWriting;
                pending = Task.Run(() => WriteChanged(output, compressedTarget, at, data.AsSpan(0, length), shown is null ? default : shown.AsSpan(0, length), unit, plan));
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
            if (backingReading is not null && backingWriting is not null)
            {
                ArrayPool<byte>.Shared.Return(backingReading);
                ArrayPool<byte>.Shared.Return(backingWriting);
            }
        }
    }

    /// <summary>A layer's content at an offset, zeroes past its end.</summary>
    private static void ReadLayer(DiskImage image, long offset, Span<byte> buffer)
    {
        int available = (int)Math.Clamp(image.Length - offset, 0, buffer.Length);
        if (available > 0)
        {
            image.Read(offset, buffer[..available]);
        }

        buffer[available..].Clear();
    }

    private enum UnitKind
    {
        /// <summary>Equal to what the backing file shows there: left to it.</summary>
        Same,

        /// <summary>Zeroes that need no data cluster.</summary>
        Sparse,

        Data,
    }

    /// <summary>
    /// Writes the units of <paramref name="data"/> that the target does not already show: units
    /// equal to the backing content are left to the backing file; zero units inside an all-zero
    /// block of -S bytes (aligned to its size, as qemu-img checks them) are left unwritten where
    /// the target reads zeroes, written as zeroes without data otherwise; everything else is
    /// written as data, consecutive units in one request.
    /// </summary>
    private static void WriteChanged(DiskImage output, Qcow2Image? compressed, long offset, ReadOnlySpan<byte> data, ReadOnlySpan<byte> backing, int unit, CopyPlan plan)
    {
        long block = plan.MinSparse == 0 ? 0 : (plan.MinSparse + unit - 1) / unit * unit;
        int position = 0;
        while (position < data.Length)
        {
            UnitKind kind = Classify(data, backing, offset, position, unit, block);
            int end = position + Math.Min(unit, data.Length - position);
            if (compressed is null || kind != UnitKind.Data)
            {
                while (end < data.Length && Classify(data, backing, offset, end, unit, block) == kind)
                {
                    end += Math.Min(unit, data.Length - end);
                }
            }

            switch (kind)
            {
                case UnitKind.Sparse when !backing.IsEmpty || !plan.ReadsZero:
                    // The target would show the backing's or its old content there: it must read zeroes.
                    output.WriteZeroes(offset + position, end - position, mayUnmap: backing.IsEmpty);
                    break;
                case UnitKind.Data when compressed is not null:
                    compressed.WriteCompressed(offset + position, data[position..end]);
                    break;
                case UnitKind.Data:
                    output.Write(offset + position, data[position..end]);
                    break;
            }

            position = end;
        }
    }

    private static UnitKind Classify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> backing, long offset, int position, int unit, long block)
    {
        int length = Math.Min(unit, data.Length - position);
        ReadOnlySpan<byte> bytes = data.Slice(position, length);
        if (!backing.IsEmpty && bytes.SequenceEqual(backing.Slice(position, length)))
        {
            return UnitKind.Same;
        }

        if (block == 0 || !ChainStatus.IsZero(bytes))
        {
            return UnitKind.Data;
        }

        if (block <= unit)
        {
            return UnitKind.Sparse;
        }

        // The whole -S block around this unit must be zero; one that starts in the previous
        // chunk (a block size that does not divide the chunk) counts as data.
        long first = ((offset + position) / block * block) - offset;
        long last = Math.Min(first + block, data.Length);
        if (first < 0)
        {
            return UnitKind.Data;
        }

        return ChainStatus.IsZero(data[(int)first..(int)last]) ? UnitKind.Sparse : UnitKind.Data;
    }
}
