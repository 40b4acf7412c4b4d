namespace Vessel.Machine.Devices;

/// <summary>
/// A fixed-capacity ring of bytes, not thread-safe: the UART's receive FIFO and host input
/// queue, and virtio-console's pending input. Bulk operations copy at most two runs (the
/// ring wraps once), so a burst of pasted input is not moved byte by byte.
/// </summary>
internal sealed class ByteFifo
{
    private readonly byte[] _buffer;
    private int _head;

    public ByteFifo(int capacity)
    {
        _buffer = new byte[capacity];
    }

    public int Capacity => _buffer.Length;

    public int Count { get; private set; }

    public int Free => _buffer.Length - Count;

    public bool IsEmpty => Count == 0;

    public bool IsFull => Count == _buffer.Length;

    public void Push(byte value)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("The FIFO is full.");
        }

        _buffer[(_head + Count) % _buffer.Length] = value;
        Count++;
    }

    public byte Pop()
    {
        if (IsEmpty)
        {
            throw new InvalidOperationException("The FIFO is empty.");
        }

        byte value = _buffer[_head];
        _head = (_head + 1) % _buffer.Length;
        Count--;
        return value;
    }

    /// <summary>Appends as many bytes of <paramref name="data"/> as fit; returns how many.</summary>
    public int PushMany(ReadOnlySpan<byte> data)
    {
        int total = Math.Min(data.Length, Free);
        int written = 0;
        while (written < total)
        {
            int end = (_head + Count) % _buffer.Length;
            int run = Math.Min(total - written, _buffer.Length - end);
            data.Slice(written, run).CopyTo(_buffer.AsSpan(end, run));
            written += run;
            Count += run;
        }

        return total;
    }

    /// <summary>Removes up to <c>destination.Length</c> bytes into <paramref name="destination"/>, oldest first; returns how many.</summary>
    public int PopMany(Span<byte> destination)
    {
        int total = Math.Min(destination.Length, Count);
        int read = 0;
        while (read < total)
        {
            int run = Math.Min(total - read, _buffer.Length - _head);
            _buffer.AsSpan(_head, run).CopyTo(destination[read..]);
            read += run;
            _head = (_head + run) % _buffer.Length;
            Count -= run;
        }

        return total;
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }

    /// <summary>The contents, oldest first (for snapshots).</summary>
    public byte[] ToArray()
    {
        var result = new byte[Count];
        int first = Math.Min(Count, _buffer.Length - _head);
        _buffer.AsSpan(_head, first).CopyTo(result);
        _buffer.AsSpan(0, Count - first).CopyTo(result.AsSpan(first));
        return result;
    }

    /// <summary>Replaces the contents (restoring a snapshot); extra bytes beyond the capacity are dropped.</summary>
    public void Load(ReadOnlySpan<byte> contents)
    {
        Clear();
        PushMany(contents);
    }
}
