namespace Vessel.Machine.Virtio.Console;

/// <summary>A bounded FIFO of bytes, not thread-safe: the console's pending input.</summary>
internal sealed class ByteRing(int capacity)
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _start;

    public int Count { get; private set; }

    public int Capacity => _buffer.Length;

    public int Free => _buffer.Length - Count;

    /// <summary>Appends as many bytes as fit; returns how many.</summary>
    public int Enqueue(ReadOnlySpan<byte> data)
    {
        int total = Math.Min(data.Length, Free);
        int written = 0;
        while (written < total)
        {
            int end = (_start + Count) % _buffer.Length;
            int run = Math.Min(total - written, _buffer.Length - end);
            data.Slice(written, run).CopyTo(_buffer.AsSpan(end, run));
            written += run;
            Count += run;
        }

        return total;
    }

    /// <summary>Removes up to <c>destination.Length</c> bytes into <paramref name="destination"/>; returns how many.</summary>
    public int Dequeue(Span<byte> destination)
    {
        int total = Math.Min(destination.Length, Count);
        int read = 0;
        while (read < total)
        {
            int run = Math.Min(total - read, _buffer.Length - _start);
            _buffer.AsSpan(_start, run).CopyTo(destination[read..]);
            read += run;
            _start = (_start + run) % _buffer.Length;
            Count -= run;
        }

        if (Count == 0)
        {
            _start = 0;
        }

        return total;
    }

    public byte[] ToArray()
    {
        byte[] copy = new byte[Count];
        for (int i = 0; i < Count; i++)
        {
            copy[i] = _buffer[(_start + i) % _buffer.Length];
        }

        return copy;
    }

    public void Clear()
    {
        _start = 0;
        Count = 0;
    }
}
