namespace Vessel.Storage.Operations;

/// <summary>Allocation status across a whole backing chain.</summary>
public static class ChainStatus
{
    /// <summary>
    /// How many bytes from <paramref name="offset"/> are known to read as zeroes from metadata
    /// alone (zero clusters, unallocated down to the bottom of the chain, holes); 0 when data
    /// may be there.
    /// </summary>
    public static long ZeroRunLength(DiskImage image, long offset, long maxLength)
    {
        maxLength = Math.Min(maxLength, image.Length - offset);
        if (maxLength <= 0)
        {
            return 0;
        }

        BlockExtent extent = image.GetExtent(offset, maxLength);
        switch (extent.Kind)
        {
            case ExtentKind.Zero:
                return extent.Length;
            case ExtentKind.Unallocated:
                DiskImage? backing = image.Backing;
                if (backing is null || offset >= backing.Length)
                {
                    return extent.Length;
                }

                return ZeroRunLength(backing, offset, Math.Min(extent.Length, backing.Length - offset));
            default:
                return 0;
        }
    }

    /// <summary>
    /// How many bytes from <paramref name="offset"/> may hold data before a range that metadata
    /// says reads as zeroes (at least one byte, at most <paramref name="maxLength"/>).
    /// </summary>
    public static long DataRunLength(DiskImage image, long offset, long maxLength)
    {
        maxLength = Math.Min(maxLength, image.Length - offset);
        long position = offset;
        while (position < offset + maxLength && ZeroRunLength(image, position, offset + maxLength - position) == 0)
        {
            position += Math.Max(1, image.GetExtent(position, offset + maxLength - position).Length);
        }

        return Math.Max(1, Math.Min(position, offset + maxLength) - offset);
    }

    /// <summary>Whether a buffer is all zeroes (vectorised).</summary>
    public static bool IsZero(ReadOnlySpan<byte> data) => data.IndexOfAnyExcept((byte)0) < 0;
}
