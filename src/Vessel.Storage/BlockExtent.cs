namespace Vessel.Storage;

/// <summary>What one layer of an image says about a range of the virtual disk.</summary>
public enum ExtentKind
{
    /// <summary>This layer stores data for the range.</summary>
    Data,

    /// <summary>This layer says the range reads as zeroes.</summary>
    Zero,

    /// <summary>This layer says nothing: the backing image (or zeroes without one) decides.</summary>
    Unallocated,
}

/// <summary>
/// A run of the virtual disk with one status in one layer: where it starts, how long it is, what
/// it holds and, for data kept uncompressed, where it lies in the host file (-1 otherwise).
/// </summary>
public readonly record struct BlockExtent(long Offset, long Length, ExtentKind Kind, long HostOffset, bool Compressed)
{
    public long End => Offset + Length;
}
