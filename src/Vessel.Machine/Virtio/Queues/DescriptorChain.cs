using Vessel.Machine.Memory;

namespace Vessel.Machine.Virtio.Queues;

/// <summary>
/// One request popped from a virtqueue: the head index and its buffers, device-readable ones
/// first. A device keeps one instance per queue (or a few) and reuses it for every request, so
/// popping allocates nothing. Every segment was checked to lie inside guest RAM when popped.
/// </summary>
public sealed class DescriptorChain
{
    private readonly DescriptorSegment[] _segments;
    private GuestMemory? _memory;

    /// <param name="capacity">The most segments a chain may have (the queue's maximum chain length).</param>
    public DescriptorChain(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _segments = new DescriptorSegment[capacity];
    }

    /// <summary>Head descriptor index: the id given back in the used ring.</summary>
    public ushort Head { get; private set; }

    /// <summary>Number of non-empty segments.</summary>
    public int Count { get; private set; }

    /// <summary>Number of device-readable segments (they come first).</summary>
    public int ReadableCount { get; private set; }

    /// <summary>Total bytes the device may read.</summary>
    public long ReadableLength { get; private set; }

    /// <summary>Total bytes the device may write.</summary>
    public long WritableLength { get; private set; }

    public int Capacity => _segments.Length;

    public ReadOnlySpan<DescriptorSegment> Segments => _segments.AsSpan(0, Count);

    public ReadOnlySpan<DescriptorSegment> ReadableSegments => _segments.AsSpan(0, ReadableCount);

    public ReadOnlySpan<DescriptorSegment> WritableSegments => _segments.AsSpan(ReadableCount, Count - ReadableCount);

    /// <summary>The guest memory the chain's addresses refer to.</summary>
    public GuestMemory Memory => _memory ?? throw new InvalidOperationException("The chain has not been popped from a queue.");

    internal void Begin(ushort head, GuestMemory memory)
    {
        Head = head;
        _memory = memory;
        Count = 0;
        ReadableCount = 0;
        ReadableLength = 0;
        WritableLength = 0;
    }

    /// <summary>Appends a segment already checked to be inside guest RAM; enforces the layout rules.</summary>
    internal void Add(int queueIndex, ulong address, uint length, bool writable)
    {
        if (length == 0)
        {
            // An empty buffer carries nothing; ignoring it keeps its address out of every check.
            return;
        }

        if (Count == _segments.Length)
        {
            throw new VirtqueueException(queueIndex, VirtqueueError.ChainTooLong, $"more than {_segments.Length} buffers");
        }

        if (!writable && Count != ReadableCount)
        {
            throw new VirtqueueException(queueIndex, VirtqueueError.ReadableAfterWritable, $"buffer {Count} is device-readable after a device-writable one");
        }

        _segments[Count++] = new DescriptorSegment(address, length, writable);
        if (writable)
        {
            WritableLength += length;
        }
        else
        {
            ReadableCount++;
            ReadableLength += length;
        }

        if (ReadableLength + WritableLength > uint.MaxValue)
        {
            throw new VirtqueueException(queueIndex, VirtqueueError.ChainTooLarge, "the chain is longer than 4 GiB");
        }
    }

    /// <summary>
    /// Copies device-readable bytes starting <paramref name="offset"/> bytes into the readable
    /// part; returns how many were copied (fewer when the chain ends first).
    /// </summary>
    public int CopyFromReadable(long offset, Span<byte> destination)
    {
        int copied = 0;
        foreach (GuestRange range in EnumerateReadable(offset, destination.Length))
        {
            Memory.GetReadSpan(range.Address, range.Length).CopyTo(destination[copied..]);
            copied += range.Length;
        }

        return copied;
    }

    /// <summary>
    /// Copies bytes into the device-writable part starting <paramref name="offset"/> bytes in;
    /// returns how many were written (fewer when the chain ends first).
    /// </summary>
    public int CopyToWritable(long offset, ReadOnlySpan<byte> source)
    {
        int written = 0;
        foreach (GuestRange range in EnumerateWritable(offset, source.Length))
        {
            source.Slice(written, range.Length).CopyTo(Memory.GetWriteSpan(range.Address, range.Length));
            written += range.Length;
        }

        return written;
    }

    /// <summary>The guest ranges holding readable bytes [offset, offset + length), in pieces of at most <paramref name="maxPiece"/> bytes.</summary>
    public GuestRangeEnumerator EnumerateReadable(long offset, long length, int maxPiece = int.MaxValue)
        => new(_segments.AsSpan(0, ReadableCount), offset, length, maxPiece);

    /// <summary>The guest ranges holding writable bytes [offset, offset + length), in pieces of at most <paramref name="maxPiece"/> bytes.</summary>
    public GuestRangeEnumerator EnumerateWritable(long offset, long length, int maxPiece = int.MaxValue)
        => new(_segments.AsSpan(ReadableCount, Count - ReadableCount), offset, length, maxPiece);
}

/// <summary>A piece of guest RAM, at most <see cref="int.MaxValue"/> bytes, so it can become a span.</summary>
public readonly record struct GuestRange(ulong Address, int Length);

/// <summary>Walks a byte window of a run of segments as guest ranges, without allocating.</summary>
public ref struct GuestRangeEnumerator
{
    private readonly ReadOnlySpan<DescriptorSegment> _segments;
    private readonly int _maxPiece;
    private int _segment;
    private long _skip;
    private long _remaining;
    private ulong _segmentConsumed;

    internal GuestRangeEnumerator(ReadOnlySpan<DescriptorSegment> segments, long offset, long length, int maxPiece)
    {
        _segments = segments;
        _maxPiece = Math.Max(1, maxPiece);
        _skip = Math.Max(0, offset);
        _remaining = Math.Max(0, length);
        _segment = 0;
        _segmentConsumed = 0;
        Current = default;
    }

    public GuestRange Current { get; private set; }

    public readonly GuestRangeEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (_remaining > 0 && _segment < _segments.Length)
        {
            DescriptorSegment segment = _segments[_segment];
            ulong left = segment.Length - _segmentConsumed;
            if (_skip > 0)
            {
                ulong skipped = Math.Min(left, (ulong)_skip);
                _skip -= (long)skipped;
                _segmentConsumed += skipped;
                left -= skipped;
            }

            if (left == 0)
            {
                _segment++;
                _segmentConsumed = 0;
                continue;
            }

            int piece = (int)Math.Min(Math.Min(left, (ulong)_remaining), (ulong)_maxPiece);
            Current = new GuestRange(segment.Address + _segmentConsumed, piece);
            _segmentConsumed += (ulong)piece;
            _remaining -= piece;
            return true;
        }

        return false;
    }
}
