namespace Vessel.Network;

/// <summary>
/// Where a virtual NIC's Ethernet frames go and come from: the built-in user-mode NAT, a TAP
/// device, or a link to another VM. Frames are whole Ethernet frames without the virtio-net
/// header and without the FCS, with complete checksums (no offloads: a NIC that accepts
/// checksum or segmentation offload from its guest must finish the work before
/// <see cref="Send"/>).
/// </summary>
/// <remarks>
/// Threads: every backend runs its own thread. <see cref="Send"/> and
/// <see cref="NotifyReceiveSpace"/> may be called from any thread (the NIC's TX path, its
/// queue notifications); <see cref="IFrameReceiver.TryReceive"/> is called on the backend's
/// thread, one frame at a time.
/// </remarks>
public interface INetworkBackend : IDisposable
{
    /// <summary>
    /// Connects the NIC that receives this backend's frames. Called once, before
    /// <see cref="Start"/>.
    /// </summary>
    void Attach(IFrameReceiver receiver);

    /// <summary>Starts delivering frames to the receiver (threads, sockets).</summary>
    void Start();

    /// <summary>
    /// A frame the guest transmitted. Never blocks: the frame is copied (queued or written to
    /// a non-blocking descriptor) before this returns, or dropped when the backend is
    /// overloaded, as a full NIC queue or cable would; the guest's TCP recovers.
    /// </summary>
    void Send(ReadOnlySpan<byte> frame);

    /// <summary>
    /// The receiver has room again after refusing a frame; the backend delivers what it held
    /// back. Cheap and harmless when nothing was refused, so a NIC may call it whenever the
    /// guest adds receive buffers.
    /// </summary>
    void NotifyReceiveSpace();

    /// <summary>
    /// The guest was brought back to a saved moment: connections the backend tracks for it (the
    /// user-mode NAT's TCP connections) no longer match the guest's, so they are reset, each
    /// host peer seeing a reset; the guest's own segments for them are then answered with RST
    /// and new connections work. Backends that track nothing (a TAP, a cable) ignore it.
    /// </summary>
    void ResetConnections()
    {
    }

    /// <summary>
    /// The guest has just arrived (a migration's destination, now running): tell the guest's
    /// side what a new host's backend does not know yet, as QEMU's announce-self does for its
    /// network — the user-mode NAT asks the guest's address again (ARP) and sends the SYNs of
    /// forwarded connections that came in while the guest was still on its way at once, instead
    /// of at their next retransmission seconds later. Backends with nothing to tell ignore it.
    /// </summary>
    void Announce()
    {
    }

    /// <summary>
    /// The deterministic mode: from now on, what the backend answers by itself to a frame of the
    /// guest's (the NAT's ARP, DHCP and gateway replies) reaches the guest before
    /// <see cref="Send"/> returns, and frames held back reach it before
    /// <see cref="NotifyReceiveSpace"/> returns, so they arrive at the same guest instruction in
    /// every run. What comes from outside (host sockets, other VMs) stays input, arriving when it
    /// does. Backends with nothing of their own to say ignore it.
    /// </summary>
    void UseSynchronousReplies()
    {
    }
}

/// <summary>The NIC side of a backend: takes frames for the guest.</summary>
public interface IFrameReceiver
{
    /// <summary>
    /// Offers one frame to the guest (the span is valid only during the call). Returns false
    /// when the guest has no receive buffers; the backend keeps the frame and stops producing
    /// more until <see cref="INetworkBackend.NotifyReceiveSpace"/>.
    /// </summary>
    bool TryReceive(ReadOnlySpan<byte> frame);
}
