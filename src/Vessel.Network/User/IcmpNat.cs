using System.Buffers.Binary;
using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// Guest pings. Echo requests to the NAT's own addresses (gateway, DNS) are answered here.
/// Echo requests to other hosts go out through unprivileged ICMP datagram sockets
/// (<c>socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)</c>) when the host allows them
/// (<c>net.ipv4.ping_group_range</c>); when it does not, they are dropped.
/// </summary>
internal sealed class IcmpNat : ITimerHandler
{
    private const int MaxFlows = 64;
    private const long IdleTimeoutMs = 10_000;

    private readonly EventLoop _loop;
    private readonly GuestLink _link;
    private readonly VirtualAddresses _addresses;
    private readonly IdleFlowTable<(Ipv4Address Guest, Ipv4Address Peer, ushort Id), EchoFlow> _flows = new(IdleTimeoutMs);
    private readonly LoopTimer _sweep;

    public IcmpNat(EventLoop loop, GuestLink link, VirtualAddresses addresses, bool restrict = false)
    {
        HostPingAvailable = !restrict;
        _loop = loop;
        _link = link;
        _addresses = addresses;
        _sweep = new LoopTimer(this);
    }

    /// <summary>False once the host refused an ICMP datagram socket (or under restrict=on); outside pings are then dropped.</summary>
    public bool HostPingAvailable { get; private set; }

    public void OnMessage(Ipv4Address source, Ipv4Address destination, IcmpMessage message, MacAddress sourceMac)
    {
        if (message.Type != IcmpMessage.TypeEchoRequest || message.Code != 0)
        {
            return;
        }

        if (_addresses.IsVirtualHost(destination))
        {
            Span<byte> reply = _link.Frame.AsSpan(GuestLink.TransportOffset, message.Bytes.Length);
            message.Bytes.CopyTo(reply);
            IcmpMessage.WriteEcho(reply, IcmpMessage.TypeEchoReply, message.Identifier, message.SequenceNumber);
            _link.SendIpv4(sourceMac, IpProtocol.Icmp, destination, source, reply.Length);
            return;
        }

        if (!HostPingAvailable || !_addresses.TryMapToHost(destination, out Ipv4Address host))
        {
            return;
        }

        var key = (source, destination, message.Identifier);
        if (!_flows.TryGetValue(key, out EchoFlow? flow))
        {
            if (_flows.Count >= MaxFlows)
            {
                return;
            }

            Socket socket;
            try
            {
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp) { Blocking = false };
            }
            catch (SocketException)
            {
                HostPingAvailable = false;
                return;
            }

            flow = new EchoFlow(this, socket, source, destination, message.Identifier, sourceMac);
            _flows.Add(key, flow);
            if (!_sweep.IsArmed)
            {
                _loop.Arm(_sweep, EventLoop.Now + IdleTimeoutMs);
            }
        }

        flow.LastActive = EventLoop.Now;
        Datagram.Send(flow.Socket, message.Bytes, host, 0);
    }

    public void OnTimer(long now)
    {
        if (_flows.CloseIdle(now))
        {
            _loop.Arm(_sweep, now + IdleTimeoutMs);
        }
    }

    public void CloseAll() => _flows.CloseAll();

    /// <summary>One guest ping session (identifier) to one peer, with its ICMP datagram socket.</summary>
    private sealed class EchoFlow : IPollHandler, IIdleFlow
    {
        private readonly IcmpNat _nat;
        private readonly Ipv4Address _guest;
        private readonly Ipv4Address _peer;
        private readonly ushort _identifier;
        private readonly MacAddress _guestMac;
        private readonly int _registration;

        public EchoFlow(IcmpNat nat, Socket socket, Ipv4Address guest, Ipv4Address peer, ushort identifier, MacAddress guestMac)
        {
            _nat = nat;
            Socket = socket;
            _guest = guest;
            _peer = peer;
            _identifier = identifier;
            _guestMac = guestMac;
            _registration = nat._loop.Add(Datagram.Fd(socket), this, LibC.EpollIn);
        }

        public Socket Socket { get; }

        public long LastActive { get; set; }

        public void OnPollEvents(uint events)
        {
            GuestLink link = _nat._link;
            while (true)
            {
                Span<byte> reply = link.Frame.AsSpan(GuestLink.TransportOffset);
                int length = Datagram.Receive(Socket, reply, out _, out _);
                if (length < IcmpMessage.HeaderLength)
                {
                    return;
                }

                reply = reply[..length];
                if (reply[0] != IcmpMessage.TypeEchoReply)
                {
                    continue;
                }

                // The kernel replaced the identifier with the socket's own; give the guest back its.
                ushort sequence = BinaryPrimitives.ReadUInt16BigEndian(reply[6..]);
                IcmpMessage.WriteEcho(reply, IcmpMessage.TypeEchoReply, _identifier, sequence);
                link.SendIpv4(_guestMac, IpProtocol.Icmp, _peer, _guest, length);
            }
        }

        public void Close()
        {
            _nat._loop.Remove(_registration);
            Socket.Dispose();
        }
    }
}
