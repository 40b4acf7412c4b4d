using System.Net;
using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The <c>hostfwd=</c> rules: host listeners whose connections become NAT-initiated guest TCP
/// connections (from the gateway address and a port of the NAT's choosing), and host UDP
/// sockets whose clients each get a virtual source port so the guest's replies find them.
/// Listeners are opened when the network is created, so a busy port is reported at once.
/// </summary>
internal sealed class PortForwarder : ITimerHandler
{
    private const ushort FirstVirtualPort = 49152;
    private const int MaxUdpClients = 256;

    private readonly List<Listener> _listeners = [];
    private readonly Dictionary<ushort, UdpClient> _udpByVirtualPort = [];
    private readonly Dictionary<(Listener, Ipv4Address, ushort), ushort> _udpByClient = [];
    private readonly List<ushort> _expired = [];
    private readonly VirtualAddresses _addresses;
    private readonly LoopTimer _sweep;
    private readonly long _udpIdleMs;
    private EventLoop? _loop;
    private GuestLink? _link;
    private TcpNat? _tcp;
    private Func<Ipv4Address, MacAddress>? _resolveGuest;
    private ushort _nextVirtualPort = FirstVirtualPort;

    public PortForwarder(IReadOnlyList<PortForward> rules, VirtualAddresses addresses, UserNetworkOptions options)
    {
        _addresses = addresses;
        _udpIdleMs = (long)options.UdpIdleTimeout.TotalMilliseconds;
        _sweep = new LoopTimer(this);
        try
        {
            foreach (PortForward rule in rules)
            {
                _listeners.Add(new Listener(this, rule, Open(rule)));
            }
        }
        catch
        {
            Close();
            throw;
        }
    }

    /// <summary>The host end points actually bound, in rule order (a rule with port 0 gets an ephemeral port).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints => _listeners.Select(l => (IPEndPoint)l.Socket.LocalEndPoint!).ToArray();

    public void Start(EventLoop loop, GuestLink link, TcpNat tcp, Func<Ipv4Address, MacAddress> resolveGuest)
    {
        _loop = loop;
        _link = link;
        _tcp = tcp;
        _resolveGuest = resolveGuest;
        foreach (Listener listener in _listeners)
        {
            listener.Registration = loop.Add(Datagram.Fd(listener.Socket), listener, LibC.EpollIn);
        }
    }

    /// <summary>A guest datagram to the gateway: if it answers a forwarded UDP client, send it there.</summary>
    public bool TryForwardFromGuest(ushort destinationPort, ushort sourcePort, ReadOnlySpan<byte> data)
    {
        if (!_udpByVirtualPort.TryGetValue(destinationPort, out UdpClient? client) || client.Listener.GuestPort != sourcePort)
        {
            return false;
        }

        client.LastActive = EventLoop.Now;
        Datagram.Send(client.Listener.Socket, data, client.Address, client.Port);
        return true;
    }

    public void OnTimer(long now)
    {
        foreach ((ushort port, UdpClient client) in _udpByVirtualPort)
        {
            if (now - client.LastActive >= _udpIdleMs)
            {
                _expired.Add(port);
            }
        }

        foreach (ushort port in _expired)
        {
            _udpByVirtualPort.Remove(port, out UdpClient? client);
            _udpByClient.Remove((client!.Listener, client.Address, client.Port));
        }

        _expired.Clear();
        if (_udpByVirtualPort.Count > 0)
        {
            _loop!.Arm(_sweep, now + 1000);
        }
    }

    public void Close()
    {
        foreach (Listener listener in _listeners)
        {
            if (listener.Registration >= 0)
            {
                _loop?.Remove(listener.Registration);
            }

            listener.Socket.Dispose();
        }

        _listeners.Clear();
    }

    private static Socket Open(PortForward rule)
    {
        bool tcp = rule.Protocol == ForwardProtocol.Tcp;
        var socket = tcp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (tcp)
            {
                // As QEMU does: a restarted VM can listen again while old connections linger.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(new IPEndPoint(rule.HostAddress, rule.HostPort));
            if (tcp)
            {
                socket.Listen(64);
            }

            socket.Blocking = false;
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string what = $"{(tcp ? "TCP" : "UDP")} port {rule.HostPort}";
            throw new NetworkBackendException(e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"host {what} is already in use (hostfwd={rule})",
                SocketError.AddressNotAvailable => $"cannot forward {rule.HostAddress}:{rule.HostPort}: {rule.HostAddress} is not an address of this host",
                SocketError.AccessDenied => $"no permission to listen on host {what} (ports below 1024 need root)",
                _ => $"cannot listen on host {what} for hostfwd={rule}: {e.Message}",
            });
        }
    }

    private Ipv4Address GuestAddressOf(Listener listener) => listener.Rule.GuestAddress ?? _addresses.DhcpStart;

    private ushort AllocateVirtualPort()
    {
        for (int tries = 0; tries < 16384; tries++)
        {
            ushort port = _nextVirtualPort;
            _nextVirtualPort = _nextVirtualPort == ushort.MaxValue ? FirstVirtualPort : (ushort)(_nextVirtualPort + 1);
            if (!_udpByVirtualPort.ContainsKey(port) && !_tcp!.IsPortInUse(port))
            {
                return port;
            }
        }

        return 0;
    }

    private void OnAccept(Listener listener)
    {
        Socket accepted;
        try
        {
            accepted = listener.Socket.Accept();
        }
        catch (SocketException)
        {
            return; // the client gave up before we accepted
        }

        accepted.Blocking = false;
        accepted.NoDelay = true;
        Ipv4Address guest = GuestAddressOf(listener);
        ushort virtualPort = AllocateVirtualPort();
        if (virtualPort == 0 || !_tcp!.OpenForwarded(accepted, guest, (ushort)listener.Rule.GuestPort, virtualPort, _resolveGuest!(guest)))
        {
            accepted.LingerState = new LingerOption(true, 0);
            accepted.Dispose(); // over the connection limit: the client sees a reset
        }
    }

    private void OnUdpReadable(Listener listener)
    {
        GuestLink link = _link!;
        for (int i = 0; i < 64; i++)
        {
            if (link.IsCongested)
            {
                _loop!.Modify(listener.Registration, 0);
                link.WaitForSpace(listener);
                return;
            }

            Span<byte> data = link.Frame.AsSpan(GuestLink.TransportOffset + UdpDatagram.HeaderLength);
            int length = Datagram.Receive(listener.Socket, data, out Ipv4Address from, out ushort fromPort);
            if (length < 0)
            {
                return;
            }

            var clientKey = (listener, from, fromPort);
            if (!_udpByClient.TryGetValue(clientKey, out ushort virtualPort))
            {
                if (_udpByVirtualPort.Count >= MaxUdpClients || (virtualPort = AllocateVirtualPort()) == 0)
                {
                    continue;
                }

                _udpByClient.Add(clientKey, virtualPort);
                _udpByVirtualPort.Add(virtualPort, new UdpClient(listener, from, fromPort));
                if (!_sweep.IsArmed)
                {
                    _loop!.Arm(_sweep, EventLoop.Now + 1000);
                }
            }

            _udpByVirtualPort[virtualPort].LastActive = EventLoop.Now;
            Ipv4Address guest = GuestAddressOf(listener);
            Span<byte> datagram = link.Frame.AsSpan(GuestLink.TransportOffset, UdpDatagram.HeaderLength + length);
            UdpDatagram.Write(datagram, virtualPort, (ushort)listener.Rule.GuestPort, _addresses.Gateway, guest);
            link.SendIpv4(_resolveGuest!(guest), IpProtocol.Udp, _addresses.Gateway, guest, datagram.Length);
        }
    }

    private sealed class Listener(PortForwarder owner, PortForward rule, Socket socket) : IPollHandler, ILinkWaiter
    {
        public PortForward Rule { get; } = rule;

        public Socket Socket { get; } = socket;

        public int GuestPort => Rule.GuestPort;

        public int Registration { get; set; } = -1;

        public void OnPollEvents(uint events)
        {
            if (Rule.Protocol == ForwardProtocol.Tcp)
            {
                owner.OnAccept(this);
            }
            else
            {
                owner.OnUdpReadable(this);
            }
        }

        public void OnLinkSpace()
        {
            if (Registration >= 0)
            {
                owner._loop!.Modify(Registration, LibC.EpollIn);
            }
        }
    }

    private sealed class UdpClient(Listener listener, Ipv4Address address, ushort port)
    {
        public Listener Listener { get; } = listener;

        public Ipv4Address Address { get; } = address;

        public ushort Port { get; } = port;

        public long LastActive { get; set; } = EventLoop.Now;
    }
}
