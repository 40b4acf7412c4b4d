namespace Vessel.Vmm.Console;

/// <summary>The last <see cref="Capacity"/> bytes of the guest's console output, for a client that attaches later.</summary>
internal sealed class ConsoleHistory
{
    /// <summary>1 MiB: what the management console's WebSocket replays to a browser that opens it.</summary>
    public const int DefaultCapacity = 1 << 20;

    private readonly byte[] _ring;
    private long _written;

    public ConsoleHistory(int capacity = DefaultCapacity)
    {
        _ring = new byte[capacity];
    }

    public int Capacity => _ring.Length;

    /// <summary>Appends output, forgetting the oldest beyond the capacity. Not thread-safe: the caller locks.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length >= _ring.Length)
        {
            data = data[^_ring.Length..];
        }

        int start = (int)(_written % _ring.Length);
        int first = Math.Min(data.Length, _ring.Length - start);
        data[..first].CopyTo(_ring.AsSpan(start));
        data[first..].CopyTo(_ring);
        _written += data.Length;
    }

    /// <summary>What is kept, oldest first. Not thread-safe: the caller locks.</summary>
    public byte[] Snapshot()
    {
        int length = (int)Math.Min(_written, _ring.Length);
        byte[] copy = new byte[length];
        int start = (int)((_written - length) % _ring.Length);
        int first = Math.Min(length, _ring.Length - start);
        _ring.AsSpan(start, first).CopyTo(copy);
        _ring.AsSpan(0, length - first).CopyTo(copy.AsSpan(first));
        return copy;
    }
}
