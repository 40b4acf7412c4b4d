namespace Vessel.Machine.Devices;

/// <summary>A fixed-capacity ring of bytes (the UART's receive FIFO and the host input queue).</summary>
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
        int n = Math.Min(data.Length, Free);
        for (int i = 0; i < n; i++)
        {
            _buffer[(_head + Count + i) % _buffer.Length] = data[i];
        }

        Count += n;
        return n;
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
        for (int i = 0; i < Count; i++)
        {
            result[i] = _buffer[(_head + i) % _buffer.Length];
        }

        return result;
    }

    /// <summary>Replaces the contents (restoring a snapshot); extra bytes beyond the capacity are dropped.</summary>
    public void Load(ReadOnlySpan<byte> contents)
    {
        Clear();
        PushMany(contents);
    }
}
