using System.Buffers;

namespace Vessel.Network.User;

/// <summary>
/// Frames the guest transmitted, on their way from the NIC's thread to the network's loop
/// thread. Bounded: when the loop falls behind, further frames are dropped (as a full NIC
/// queue would), never blocking the sender. Buffers are recycled.
/// </summary>
internal sealed class FrameQueue(int capacity)
{
    private const int SmallFrame = 2048;

    private readonly object _lock = new();
    private readonly Queue<(byte[] Buffer, int Length)> _frames = new();
    private readonly Stack<byte[]> _spare = new();
    private readonly List<(byte[] Buffer, int Length)> _draining = [];

    public long Dropped { get; private set; }

    /// <summary>Copies a frame in; false when the queue is full (the frame is dropped).</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if (_frames.Count >= capacity)
            {
                Dropped++;
                return false;
            }

            byte[] buffer = frame.Length <= SmallFrame && _spare.Count > 0
                ? _spare.Pop()
                : frame.Length <= SmallFrame ? new byte[SmallFrame] : ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(buffer);
            _frames.Enqueue((buffer, frame.Length));
            return true;
        }
    }

    /// <summary>Takes every queued frame at once (loop thread); give them back with <see cref="Recycle"/>.</summary>
    public List<(byte[] Buffer, int Length)> DrainAll()
    {
        List<(byte[] Buffer, int Length)> batch = _draining;
        batch.Clear();
        lock (_lock)
        {
            while (_frames.Count > 0)
            {
                batch.Add(_frames.Dequeue());
            }
        }

        return batch;
    }

    /// <summary>Gives back the buffers of a drained batch.</summary>
    public void Recycle(List<(byte[] Buffer, int Length)> batch)
    {
        lock (_lock)
        {
            foreach ((byte[] buffer, _) in batch)
            {
                if (buffer.Length != SmallFrame)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                else if (_spare.Count < capacity)
                {
                    _spare.Push(buffer);
                }
            }
        }

        batch.Clear();
    }
}
