namespace Vessel.Network;

/// <summary>
/// Where a virtual NIC's Ethernet frames go and come from: the built-in user-mode NAT, a TAP
/// device, or a virtual switch port. Frames are whole Ethernet frames without the virtio-net
/// header and without the FCS.
/// </summary>
public interface INetworkBackend : IDisposable
{
    /// <summary>
    /// Connects the NIC that receives this backend's frames. Called once, before
    /// <see cref="Start"/>.
    /// </summary>
    void Attach(IFrameReceiver receiver);

    /// <summary>Starts delivering frames to the receiver (threads, sockets).</summary>
    void Start();

    /// <summary>A frame the guest transmitted. Must not block for long; called from the NIC's TX path.</summary>
    void Send(ReadOnlySpan<byte> frame);

    /// <summary>
    /// The receiver has room again after refusing a frame; the backend delivers what it held
    /// back.
    /// </summary>
    void NotifyReceiveSpace();
}

/// <summary>The NIC side of a backend: takes frames for the guest.</summary>
public interface IFrameReceiver
{
    /// <summary>
    /// Offers one frame to the guest. Returns false when the guest has no receive buffers; the
    /// backend keeps the frame (or drops it, for datagrams) and waits for
    /// <see cref="INetworkBackend.NotifyReceiveSpace"/>.
    /// </summary>
    bool TryReceive(ReadOnlySpan<byte> frame);
}
