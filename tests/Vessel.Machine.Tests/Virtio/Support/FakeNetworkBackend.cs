using Vessel.Network;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>A network backend that records frames sent by the guest and lets the test deliver frames to it.</summary>
public sealed class FakeNetworkBackend : INetworkBackend
{
    private readonly Lock _lock = new();
    private readonly List<byte[]> _sent = [];
    private int _receiveSpaceNotifications;

    public IFrameReceiver? Receiver { get; private set; }

    public int ReceiveSpaceNotifications => Volatile.Read(ref _receiveSpaceNotifications);

    public IReadOnlyList<byte[]> Sent
    {
        get
        {
            lock (_lock)
            {
                return [.. _sent];
            }
        }
    }

    public void Attach(IFrameReceiver receiver) => Receiver = receiver;

    public void Start()
    {
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            _sent.Add(frame.ToArray());
        }
    }

    public void NotifyReceiveSpace() => Interlocked.Increment(ref _receiveSpaceNotifications);

    public void Dispose()
    {
    }
}
