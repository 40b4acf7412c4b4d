using System.Collections.Concurrent;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>The test's NIC: collects frames from a backend; can be told to refuse them (no RX buffers).</summary>
public sealed class FrameCollector : IFrameReceiver
{
    private readonly BlockingCollection<byte[]> _frames = new();
    private volatile bool _refusing;

    public int Refused;

    public bool Refusing
    {
        get => _refusing;
        set => _refusing = value;
    }

    public bool TryReceive(ReadOnlySpan<byte> frame)
    {
        if (_refusing)
        {
            Interlocked.Increment(ref Refused);
            return false;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        _frames.Add(frame.ToArray());
        // What this test NIC allocates on the backend's thread, so that allocation checks of
        // the backend can leave it out.
        Interlocked.Add(ref _allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        return true;
    }

    private long _allocated;

    public long AllocatedBytes => Interlocked.Read(ref _allocated);

    /// <summary>The next frame, or null after the timeout.</summary>
    public byte[]? Next(TimeSpan timeout) => _frames.TryTake(out byte[]? frame, timeout) ? frame : null;

    public int Count => _frames.Count;
}
