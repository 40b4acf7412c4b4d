using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The NAT's side of the virtual wire to the guest: builds frames in one reusable buffer and
/// offers them to the NIC. When the NIC has no receive buffers, a bounded number of frames
/// wait here in order; producers that can hold their data back (TCP connections, UDP sockets
/// left unread) check <see cref="IsCongested"/> and register with <see cref="WaitForSpace"/>.
/// </summary>
internal sealed class GuestLink
{
    /// <summary>The guest's MTU: IPv4 packets larger than this are fragmented.</summary>
    public const int Mtu = 1500;

    /// <summary>Where a transport header starts in <see cref="Frame"/>.</summary>
    public const int TransportOffset = EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength;

    private const int MaxPendingFrames = 256;

    private readonly Queue<(byte[] Buffer, int Length)> _pending = new();
    private readonly Stack<byte[]> _spareBuffers = new();
    private readonly List<ILinkWaiter> _waiters = [];
    private readonly List<ILinkWaiter> _waking = [];
    private readonly byte[] _fragment = new byte[EthernetFrame.HeaderLength + Mtu];
    private IFrameReceiver? _receiver;
    private int _spaceSignalled;
    private ushort _nextIdentification;

    /// <summary>Packets that need no fragmenting carry identification 0 (the deterministic mode).</summary>
    public bool DeterministicIdentification { get; set; }

    public GuestLink(MacAddress gatewayMac) => GatewayMac = gatewayMac;

    /// <summary>The build buffer: Ethernet, IPv4, transport headers and data of one packet of up to 64 KiB.</summary>
    public byte[] Frame { get; } = new byte[EthernetFrame.HeaderLength + 65535];

    public MacAddress GatewayMac { get; }

    public bool IsCongested => _pending.Count > 0;

    public long FramesDropped { get; private set; }

    public void Attach(IFrameReceiver receiver) => _receiver = receiver;

    /// <summary>The NIC has room again (any thread): remember it so a refusal racing with it is retried.</summary>
    public void SignalSpace() => Volatile.Write(ref _spaceSignalled, 1);

    public void WaitForSpace(ILinkWaiter waiter)
    {
        if (!_waiters.Contains(waiter))
        {
            _waiters.Add(waiter);
        }
    }

    public void StopWaiting(ILinkWaiter waiter) => _waiters.Remove(waiter);

    /// <summary>
    /// Sends the IPv4 packet whose transport part (<paramref name="transportLength"/> bytes) is
    /// already in <see cref="Frame"/> at <see cref="TransportOffset"/>, fragmenting it when it
    /// exceeds the MTU and <paramref name="dontFragment"/> is not set (then it is dropped).
    /// </summary>
    public void SendIpv4(MacAddress destinationMac, byte protocol, Ipv4Address source, Ipv4Address destination, int transportLength, bool dontFragment = false)
    {
        bool fits = Ipv4Packet.MinHeaderLength + transportLength <= Mtu;

        // The identification only matters to reassembly. A packet that fits is never fragmented
        // on this point-to-point link, so in the deterministic mode it gets 0 (as RFC 6864
        // allows for atomic datagrams) instead of a counter whose value would depend on the
        // NAT's history, which a restored guest's NAT does not share.
        ushort id = fits && DeterministicIdentification ? (ushort)0 : _nextIdentification++;
        if (fits)
        {
            Span<byte> frame = Frame.AsSpan(0, TransportOffset + transportLength);
            EthernetFrame.Write(frame, destinationMac, GatewayMac, EtherType.Ipv4);
            Ipv4Packet.WriteHeader(frame[EthernetFrame.HeaderLength..], protocol, source, destination, transportLength, id, dontFragment);
            Transmit(frame);
            return;
        }

        if (dontFragment)
        {
            FramesDropped++;
            return;
        }

        const int maxFragmentData = (Mtu - Ipv4Packet.MinHeaderLength) & ~7;
        for (int offset = 0; offset < transportLength; offset += maxFragmentData)
        {
            int length = Math.Min(maxFragmentData, transportLength - offset);
            bool more = offset + length < transportLength;
            Span<byte> frame = _fragment.AsSpan(0, TransportOffset + length);
            EthernetFrame.Write(frame, destinationMac, GatewayMac, EtherType.Ipv4);
            Ipv4Packet.WriteHeader(frame[EthernetFrame.HeaderLength..], protocol, source, destination, length, id, false, offset, more);
            Frame.AsSpan(TransportOffset + offset, length).CopyTo(frame[TransportOffset..]);
            Transmit(frame);
        }
    }

    /// <summary>Offers a whole frame to the guest, or queues a copy while the NIC is full (drops beyond the bound).</summary>
    public void Transmit(ReadOnlySpan<byte> frame)
    {
        if (_pending.Count == 0 && Offer(frame))
        {
            return;
        }

        if (_pending.Count >= MaxPendingFrames)
        {
            FramesDropped++;
            return;
        }

        byte[] copy = _spareBuffers.Count > 0 && _spareBuffers.Peek().Length >= frame.Length
            ? _spareBuffers.Pop()
            : new byte[Math.Max(frame.Length, 2048)];
        frame.CopyTo(copy);
        _pending.Enqueue((copy, frame.Length));
    }

    /// <summary>Delivers queued frames while the NIC takes them; then lets waiting producers go on. Loop thread.</summary>
    public void Flush()
    {
        while (_pending.Count > 0)
        {
            (byte[] buffer, int length) = _pending.Peek();
            if (!Offer(buffer.AsSpan(0, length)))
            {
                return;
            }

            _pending.Dequeue();
            if (_spareBuffers.Count < MaxPendingFrames)
            {
                _spareBuffers.Push(buffer);
            }
        }

        if (_waiters.Count == 0)
        {
            return;
        }

        _waking.AddRange(_waiters);
        _waiters.Clear();
        foreach (ILinkWaiter waiter in _waking)
        {
            if (IsCongested)
            {
                _waiters.Add(waiter);
            }
            else
            {
                waiter.OnLinkSpace();
            }
        }

        _waking.Clear();
    }

    private bool Offer(ReadOnlySpan<byte> frame)
    {
        if (_receiver is null)
        {
            FramesDropped++;
            return true; // nobody attached: frames go nowhere, as on an unplugged cable
        }

        while (true)
        {
            Volatile.Write(ref _spaceSignalled, 0);
            if (_receiver.TryReceive(frame))
            {
                return true;
            }

            // The NIC may have freed space between refusing and our clearing of the flag; if
            // it said so meanwhile, try once more instead of waiting for a signal already spent.
            if (Volatile.Read(ref _spaceSignalled) == 0)
            {
                return false;
            }
        }
    }
}
