using System.Buffers;

namespace Vessel.Storage.Operations;

/// <summary>The outcome of comparing two images' content.</summary>
public sealed record CompareResult(bool Identical, long? FirstDifference, bool SizeMismatch);

/// <summary>
/// qemu-img compare: content equality of two images of any format. A size difference is allowed
/// when the larger image's extra part reads as zeroes (unless strict).
/// </summary>
public static class ImageComparer
{
    private const int ChunkSize = 1024 * 1024;

    public static CompareResult Compare(string first, ImageFormat? firstFormat, string second, ImageFormat? secondFormat, bool strict = false, bool forceShare = false, ProgressCallback? progress = null)
    {
        using DiskImage a = ImageOpener.Open(first, new ImageOpenOptions { Format = firstFormat, ReadOnly = true, ForceShare = forceShare });
        using DiskImage b = ImageOpener.Open(second, new ImageOpenOptions { Format = secondFormat, ReadOnly = true, ForceShare = forceShare });
        return Compare(a, b, strict, progress);
    }

    public static CompareResult Compare(DiskImage a, DiskImage b, bool strict, ProgressCallback? progress)
    {
        bool sizeMismatch = a.Length != b.Length;
        if (sizeMismatch && strict)
        {
            return new CompareResult(false, null, true);
        }

        long common = Math.Min(a.Length, b.Length);
        long total = Math.Max(a.Length, b.Length);
        byte[] bufferA = ArrayPool<byte>.Shared.Rent(ChunkSize);
        byte[] bufferB = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long offset = 0;
            while (offset < common)
            {
                long zeroA = ChainStatus.ZeroRunLength(a, offset, common - offset);
                long zeroB = zeroA > 0 ? ChainStatus.ZeroRunLength(b, offset, zeroA) : 0;
                if (zeroB > 0)
                {
                    offset += zeroB;
                    continue;
                }

                int length = (int)Math.Min(ChunkSize, common - offset);
                a.Read(offset, bufferA.AsSpan(0, length));
                b.Read(offset, bufferB.AsSpan(0, length));
                int same = bufferA.AsSpan(0, length).CommonPrefixLength(bufferB.AsSpan(0, length));
                if (same < length)
                {
                    return new CompareResult(false, (offset + same) & ~511L, sizeMismatch);
                }

                offset += length;
                progress?.Invoke(offset, total);
            }

            // The larger image's tail must read as zeroes.
            DiskImage larger = a.Length > b.Length ? a : b;
            while (offset < total)
            {
                long zero = ChainStatus.ZeroRunLength(larger, offset, total - offset);
                if (zero > 0)
                {
                    offset += zero;
                    continue;
                }

                int length = (int)Math.Min(ChunkSize, total - offset);
                larger.Read(offset, bufferA.AsSpan(0, length));
                int nonZero = bufferA.AsSpan(0, length).IndexOfAnyExcept((byte)0);
                if (nonZero >= 0)
                {
                    return new CompareResult(false, (offset + nonZero) & ~511L, sizeMismatch);
                }

                offset += length;
                progress?.Invoke(offset, total);
            }

            return new CompareResult(true, null, sizeMismatch);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bufferA);
            ArrayPool<byte>.Shared.Return(bufferB);
        }
    }
}
