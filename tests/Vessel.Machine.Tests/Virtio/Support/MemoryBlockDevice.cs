using Vessel.Storage;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>An in-memory disk that records what the device asked of it.</summary>
public sealed class MemoryBlockDevice(int length, bool readOnly = false) : IBlockDevice
{
    private readonly Lock _lock = new();

    public byte[] Data { get; } = new byte[length];

    public long Length => Data.Length;

    public bool IsReadOnly { get; } = readOnly;

    public int Flushes { get; private set; }

    public List<(long Offset, long Length)> Discards { get; } = [];

    public List<(long Offset, long Length, bool MayUnmap)> WriteZeroesCalls { get; } = [];

    /// <summary>When set, every read and write fails as a host disk would.</summary>
    public bool FailIo { get; set; }

    /// <summary>When set, writes block until it is released (to observe a request in flight).</summary>
    public ManualResetEventSlim? WriteGate { get; set; }

    /// <summary>When set, each read records the calling thread's allocated bytes here (to show the device allocates nothing between requests).</summary>
    public long[]? AllocationProbe
    {
        get;
        set
        {
            field = value;
            ProbeCount = 0;
        }
    }

    public int ProbeCount { get; private set; }

    public void Read(long offset, Span<byte> buffer)
    {
        if (AllocationProbe is { } probe && ProbeCount < probe.Length)
        {
            probe[ProbeCount++] = GC.GetAllocatedBytesForCurrentThread();
        }

        lock (_lock)
        {
            ThrowIfFailing();
            Data.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        WriteGate?.Wait(TimeSpan.FromSeconds(30));
        lock (_lock)
        {
            ThrowIfFailing();
            if (IsReadOnly)
            {
                throw new InvalidOperationException("The device wrote to a read-only disk.");
            }

            buffer.CopyTo(Data.AsSpan((int)offset));
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            Flushes++;
        }
    }

    public void Discard(long offset, long length)
    {
        lock (_lock)
        {
            Discards.Add((offset, length));
            Data.AsSpan((int)offset, (int)length).Fill(0xdd);
        }
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        lock (_lock)
        {
            WriteZeroesCalls.Add((offset, length, mayUnmap));
            Data.AsSpan((int)offset, (int)length).Clear();
        }
    }

    public void Dispose()
    {
    }

    private void ThrowIfFailing()
    {
        if (FailIo)
        {
            throw new IOException("Simulated host disk failure.");
        }
    }
}
