using System.Net;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The built-in user-mode network (QEMU's <c>-netdev user</c>): the guest sees a router, a
/// DHCP server and a DNS server on a private subnet, and every connection it makes becomes an
/// ordinary socket of this process, so no privileges are needed. Port forwards let host
/// clients reach guest servers.
/// </summary>
/// <remarks>
/// One thread runs the whole stack. <see cref="Send"/> only copies the frame into a queue and
/// wakes that thread, so the NIC's TX path never waits for the network.
/// </remarks>
public sealed class UserNetwork : INetworkBackend
{
    private readonly EventLoop _loop;
    private int _resetRequested;
    private int _announceRequested;
    private readonly FrameQueue _input;
    private readonly GuestLink _link;
    private readonly VirtualAddresses _addresses;
    private readonly NeighborTable _neighbors;
    private readonly DhcpServer _dhcp;
    private readonly DnsForwarder _dns;
    private readonly UdpNat _udp;
    private readonly IcmpNat _icmp;
    private readonly TcpNat _tcp;
    private readonly PortForwarder _forwarder;
    private readonly Ipv4Reassembler _reassembler = new();
    private int _disposed;
    private bool _started;

    // Synchronous replies (deterministic mode): callers number their requests; the loop publishes
    // the last number it has fully served (frames processed, replies delivered).
    private readonly object _servedGate = new();
    private volatile bool _synchronous;
    private long _requested;
    private long _served;
    private long _servingUpTo;

    /// <summary>Creates the network and opens the port forward listeners (throws <see cref="NetworkException"/> on a busy port).</summary>
    public UserNetwork(UserNetworkOptions? options = null)
    {
        options ??= new UserNetworkOptions();
        options.Validate();
        Options = options;
        _addresses = new VirtualAddresses(options);
        _forwarder = new PortForwarder(options.PortForwards, _addresses, options);
        try
        {
            _loop = new EventLoop("vessel-net-user");
        }
        catch
        {
            _forwarder.Close();
            throw;
        }

        // The NAT's own MAC, as slirp makes it: 52:55 followed by the gateway's IPv4 address.
        GatewayMac = MacAddress.FromUInt64((0x5255UL << 32) | _addresses.Gateway.Value);
        _input = new FrameQueue(options.MaxQueuedFrames);
        _link = new GuestLink(GatewayMac);
        _neighbors = new NeighborTable(_addresses);
        _dhcp = new DhcpServer(_addresses, _link);
        _dns = new DnsForwarder(_loop, _link, _addresses, options.DnsServers ?? DnsForwarder.ReadHostResolvers());
        _udp = new UdpNat(_loop, _link, _addresses, options);
        _icmp = new IcmpNat(_loop, _link, _addresses, options.Restrict);
        _tcp = new TcpNat(_loop, _link, _addresses, options, () => _dns.PrimaryServer);
        _loop.Woken = ProcessInput;
        _loop.IterationEnd = FlushOutput;
    }

    public UserNetworkOptions Options { get; }

    /// <summary>The MAC address the NAT answers with for the gateway and DNS addresses.</summary>
    public MacAddress GatewayMac { get; }

    /// <summary>The host end points of the port forwards, in rule order (useful when a rule asked for port 0).</summary>
    public IReadOnlyList<IPEndPoint> ForwardedEndPoints => _forwarder.BoundEndPoints;

    /// <summary>Frames from the guest dropped because the NAT thread had fallen behind.</summary>
    public long DroppedInputFrames => _input.Dropped;

    /// <summary>Where internal errors of the stack are reported (stderr by default; tests collect them).</summary>
    public Action<Exception> UnhandledException
    {
        get => _loop.UnhandledException;
        set => _loop.UnhandledException = value;
    }

    internal int TcpConnectionCount => _tcp.Count;

    internal long LoopAllocatedBytes => _loop.AllocatedBytes;

    internal string DescribeTcp() => _tcp.Describe();

    internal int UdpFlowCount => _udp.Count;

    public void Attach(IFrameReceiver receiver) => _link.Attach(receiver);

    public void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        _tcp.ResolveGuest = GuestMacFor;
        _forwarder.Start(_loop, _link, _tcp, GuestMacFor);
        _loop.Start();
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        // The number is taken after the frame is queued: a loop pass that counts it has it.
        bool queued = _input.TryEnqueue(frame);
        long request = _synchronous ? Interlocked.Increment(ref _requested) : 0;
        if (queued || request != 0)
        {
            _loop.Wake();
        }

        WaitUntilServed(request);
    }

    public void UseSynchronousReplies()
    {
        _link.DeterministicIdentification = true;
        _synchronous = true;
    }

    /// <summary>In synchronous mode, waits until the loop has served request <paramref name="request"/> (0: no wait).</summary>
    private void WaitUntilServed(long request)
    {
        if (request == 0 || _loop.IsLoopThread)
        {
            return;
        }

        lock (_servedGate)
        {
            // Bounded: a loop that died must not hang the guest forever.
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (_served < request && Volatile.Read(ref _disposed) == 0 && DateTime.UtcNow < deadline)
            {
                Monitor.Wait(_servedGate, TimeSpan.FromMilliseconds(100));
            }
        }
    }

    public void ResetConnections()
    {
        // Done on the loop thread, which owns the connection table.
        Volatile.Write(ref _resetRequested, 1);
        _loop.Wake();
    }

    public void Announce()
    {
        // Done on the loop thread, which owns the connection table.
        Volatile.Write(ref _announceRequested, 1);
        _loop.Wake();
    }

    public void NotifyReceiveSpace()
    {
        _link.SignalSpace();
        long request = _synchronous ? Interlocked.Increment(ref _requested) : 0;
        _loop.Wake();
        WaitUntilServed(request);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _loop.Stop(); // joins the loop thread first: nothing below races with it
        _tcp.AbortAll();
        _udp.CloseAll();
        _icmp.CloseAll();
        _dns.Close();
        _forwarder.Close();
        _reassembler.Clear();
        _loop.Dispose();
    }

    private void ProcessInput()
    {
        _servingUpTo = Interlocked.Read(ref _requested);
        if (Interlocked.Exchange(ref _resetRequested, 0) != 0)
        {
            _tcp.AbortAll();
        }

        if (Interlocked.Exchange(ref _announceRequested, 0) != 0)
        {
            _tcp.RetryConnecting();
        }

        _link.Flush();
        List<(byte[] Buffer, int Length)> batch = _input.DrainAll();
        foreach ((byte[] buffer, int length) in batch)
        {
            ProcessFrame(buffer.AsSpan(0, length));
        }

        _input.Recycle(batch);
    }

    private void FlushOutput()
    {
        _tcp.FlushDirty();
        if (_synchronous && _servingUpTo > _served)
        {
            _link.Flush();
            lock (_servedGate)
            {
                _served = _servingUpTo;
                Monitor.PulseAll(_servedGate);
            }
        }
    }

    /// <summary>One frame from the guest. Everything is checked; anything malformed is dropped.</summary>
    private void ProcessFrame(Span<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out EthernetFrame ethernet))
        {
            return;
        }

        MacAddress source = ethernet.Source;
        MacAddress destination = ethernet.Destination;
        if (source.IsMulticast || (destination != GatewayMac && !destination.IsBroadcast))
        {
            return;
        }

        switch (ethernet.EtherType)
        {
            case EtherType.Arp:
                ProcessArp(ethernet.Payload, source);
                break;
            case EtherType.Ipv4:
                ProcessIpv4(ethernet.Payload, source);
                break;
        }
    }

    private void ProcessArp(Span<byte> payload, MacAddress source)
    {
        if (!ArpPacket.TryParse(payload, out ArpPacket arp))
        {
            return;
        }

        Ipv4Address sender = arp.SenderProtocol;
        if (!sender.IsAny)
        {
            bool known = _neighbors.TryGet(sender, out MacAddress before) && before == arp.SenderHardware;
            _neighbors.Learn(sender, arp.SenderHardware);
            if (!known)
            {
                _tcp.OnGuestFound(sender, arp.SenderHardware);
            }
        }

        Ipv4Address target = arp.TargetProtocol;
        if (arp.Operation != ArpPacket.OperationRequest || !_addresses.IsVirtualHost(target))
        {
            return;
        }

        Span<byte> reply = _link.Frame.AsSpan(0, EthernetFrame.HeaderLength + ArpPacket.Length);
        EthernetFrame.Write(reply, source, GatewayMac, EtherType.Arp);
        ArpPacket.Write(reply[EthernetFrame.HeaderLength..], ArpPacket.OperationReply, GatewayMac, target, arp.SenderHardware, sender);
        _link.Transmit(reply);
    }

    private void ProcessIpv4(Span<byte> bytes, MacAddress sourceMac)
    {
        if (!Ipv4Packet.TryParse(bytes, out Ipv4Packet packet))
        {
            return;
        }

        Ipv4Address source = packet.Source;
        if (source.IsMulticast || source.IsBroadcast || source.IsLoopback)
        {
            return;
        }

        if (!source.IsAny)
        {
            _neighbors.Learn(source, sourceMac);
        }

        if (!packet.IsFragment)
        {
            ProcessTransport(packet, sourceMac);
            return;
        }

        if (_reassembler.TryAdd(packet, EventLoop.Now, out byte[]? buffer, out int length))
        {
            try
            {
                ProcessTransport(Ipv4Packet.Wrap(buffer.AsSpan(0, length)), sourceMac);
            }
            finally
            {
                Ipv4Reassembler.Return(buffer!);
            }
        }
    }

    private void ProcessTransport(Ipv4Packet packet, MacAddress sourceMac)
    {
        Ipv4Address source = packet.Source;
        Ipv4Address destination = packet.Destination;
        switch (packet.Protocol)
        {
            case IpProtocol.Tcp:
                if (!source.IsAny && !destination.IsBroadcast && !destination.IsMulticast
                    && TcpSegment.TryParse(packet.Payload, source, destination, out TcpSegment segment))
                {
                    _tcp.OnSegment(source, destination, segment, sourceMac);
                }

                break;
            case IpProtocol.Udp:
                if (UdpDatagram.TryParse(packet.Payload, source, destination, out UdpDatagram datagram))
                {
                    ProcessUdp(source, destination, datagram, sourceMac);
                }

                break;
            case IpProtocol.Icmp:
                if (!source.IsAny && IcmpMessage.TryParse(packet.Payload, out IcmpMessage message))
                {
                    _icmp.OnMessage(source, destination, message, sourceMac);
                }

                break;
        }
    }

    private void ProcessUdp(Ipv4Address source, Ipv4Address destination, UdpDatagram datagram, MacAddress sourceMac)
    {
        if (datagram.DestinationPort == DhcpMessage.ServerPort
            && (destination.IsBroadcast || destination == _addresses.Gateway || destination == _addresses.SubnetBroadcast))
        {
            _dhcp.OnRequest(datagram.Data);
            return;
        }

        if (source.IsAny || destination.IsBroadcast || destination.IsMulticast)
        {
            return;
        }

        if (destination == _addresses.Dns)
        {
            if (datagram.DestinationPort == DnsHeader.Port && !Options.Restrict)
            {
                _dns.OnQuery(source, datagram.SourcePort, sourceMac, datagram.Data);
            }

            return;
        }

        if (destination == _addresses.Gateway && _forwarder.TryForwardFromGuest(datagram.DestinationPort, datagram.SourcePort, datagram.Data))
        {
            return;
        }

        if (!Options.Restrict)
        {
            _udp.OnDatagram(source, destination, datagram, sourceMac);
        }
    }

    /// <summary>
    /// The MAC to send to a guest address the NAT initiates traffic to (port forwards). When it
    /// is unknown, an ARP request goes out so that a retransmission finds it.
    /// </summary>
    private MacAddress GuestMacFor(Ipv4Address address)
    {
        if (_neighbors.TryGet(address, out MacAddress mac))
        {
            return mac;
        }

        Span<byte> request = _link.Frame.AsSpan(0, EthernetFrame.HeaderLength + ArpPacket.Length);
        EthernetFrame.Write(request, MacAddress.Broadcast, GatewayMac, EtherType.Arp);
        ArpPacket.Write(request[EthernetFrame.HeaderLength..], ArpPacket.OperationRequest, GatewayMac, _addresses.Gateway, MacAddress.Zero, address);
        _link.Transmit(request);
        return _neighbors.LastSeen.IsZero ? MacAddress.Broadcast : _neighbors.LastSeen;
    }
}
