using System.Buffers;

namespace Vessel.Network.User;

/// <summary>
/// A bounded circular byte buffer for one direction of a TCP connection. Its storage is rented
/// from the shared pool only while it holds data, so idle connections cost no buffer memory.
/// Bytes may also be written ahead of the readable part (<see cref="WriteAt"/>): that is where
/// out-of-order TCP data waits until the gap before it is filled.
/// </summary>
internal sealed class ByteRing(int capacity)
{
    private byte[]? _buffer;
    private int _head;

    public int Capacity { get; } = capacity;

    /// <summary>Readable bytes, starting at the head.</summary>
    public int Count { get; private set; }

    public int Free => Capacity - Count;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much did.</summary>
    public int Append(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        WriteAt(Count, data[..n]);
        Count += n;
        return n;
    }

    /// <summary>Copies data to <paramref name="offset"/> bytes past the head without making it readable.</summary>
    public void WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        byte[] buffer = EnsureBuffer();
        int start = (_head + offset) % Capacity;
        int first = Math.Min(data.Length, Capacity - start);
        data[..first].CopyTo(buffer.AsSpan(start));
        data[first..].CopyTo(buffer);
    }

    /// <summary>Makes bytes written with <see cref="WriteAt"/> just past the readable part readable.</summary>
    public void Commit(int count) => Count += count;

    /// <summary>Copies readable bytes starting <paramref name="offset"/> past the head.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        byte[] buffer = _buffer!;
        int start = (_head + offset) % Capacity;
        int first = Math.Min(destination.Length, Capacity - start);
        buffer.AsSpan(start, first).CopyTo(destination);
        buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>The readable bytes as up to two spans (the second one after the wrap).</summary>
    public (ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second) Readable()
    {
        if (Count == 0)
        {
            return default;
        }

        int first = Math.Min(Count, Capacity - _head);
        return (_buffer.AsMemory(_head, first), _buffer.AsMemory(0, Count - first));
    }

    /// <summary>The first free region after the readable bytes (fill it, then <see cref="Commit"/>).</summary>
    public Span<byte> FreeSpan()
    {
        if (Free == 0)
        {
            return default;
        }

        byte[] buffer = EnsureBuffer();
        int tail = (_head + Count) % Capacity;
        int length = tail >= _head && Count < Capacity ? Math.Min(Capacity - tail, Free) : Free;
        return buffer.AsSpan(tail, length);
    }

    /// <summary>Drops readable bytes from the head.</summary>
    public void Consume(int count)
    {
        _head = (_head + count) % Capacity;
        Count -= count;
    }

    /// <summary>Gives the storage back to the pool when nothing (not even data ahead) is held.</summary>
    public void ReleaseIfEmpty()
    {
        if (Count == 0 && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _head = 0;
        }
    }

    public void Release()
    {
        Count = 0;
        ReleaseIfEmpty();
    }

    private byte[] EnsureBuffer()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Capacity);
            _head = 0;
        }

        return _buffer;
    }
}
