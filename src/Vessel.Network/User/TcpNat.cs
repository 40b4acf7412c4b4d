using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The guest's TCP connections: finds the connection of each segment, opens a host socket for
/// each new SYN (refusing with RST beyond the connection limit or when the host refuses),
/// answers stray segments with RST, and opens guest-side connections for port forwards.
/// </summary>
internal sealed class TcpNat
{
    private readonly Dictionary<TcpFlowKey, TcpConnection> _connections = [];
    private readonly List<TcpConnection> _dirty = [];
    private readonly VirtualAddresses _addresses;
    private readonly Func<IPEndPoint?> _dnsServer;
    private readonly int _maxConnections;
    private readonly bool _restrict;

    public TcpNat(EventLoop loop, GuestLink link, VirtualAddresses addresses, UserNetworkOptions options, Func<IPEndPoint?> dnsServer)
    {
        Loop = loop;
        Link = link;
        _addresses = addresses;
        _dnsServer = dnsServer;
        _maxConnections = options.MaxTcpConnections;
        _restrict = options.Restrict;
        BufferSize = options.TcpBufferSize;
        TimeWaitMs = (long)options.TcpTimeWait.TotalMilliseconds;
        ConnectTimeoutMs = (long)options.TcpConnectTimeout.TotalMilliseconds;
    }

    public EventLoop Loop { get; }

    public GuestLink Link { get; }

    public int BufferSize { get; }

    public long TimeWaitMs { get; }

    public long ConnectTimeoutMs { get; }

    public int Count => _connections.Count;

    /// <summary>One line per connection, for diagnostics (racy when read off the loop thread).</summary>
    public string Describe() => string.Join(Environment.NewLine, _connections.Values.ToArray().Select(c => c.ToString()));

    /// <summary>Finds the MAC of a guest address the NAT sends to first (port forwards); set by the network.</summary>
    public Func<Ipv4Address, MacAddress>? ResolveGuest { get; set; }

    public bool IsPortInUse(ushort remotePort) => _connections.Keys.Any(k => k.RemotePort == remotePort && k.RemoteAddress == _addresses.Gateway);

    public void OnSegment(Ipv4Address source, Ipv4Address destination, TcpSegment segment, MacAddress sourceMac)
    {
        var key = new TcpFlowKey(source, segment.SourcePort, destination, segment.DestinationPort);
        TcpFlags flags = segment.Flags;
        if (_connections.TryGetValue(key, out TcpConnection? connection))
        {
            // A new SYN on the port pair of a connection in TIME_WAIT starts a new connection.
            if (connection.State == TcpState.TimeWait && (flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn)
            {
                connection.Abort();
            }
            else
            {
                connection.OnSegment(segment, sourceMac);
                return;
            }
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            return;
        }

        if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) != TcpFlags.Syn)
        {
            // No such connection (RFC 9293, 3.10.7.1).
            if ((flags & TcpFlags.Ack) != 0)
            {
                SendReset(key, sourceMac, segment.AcknowledgmentNumber, 0, TcpFlags.Rst);
            }
            else
            {
                uint length = (uint)segment.Data.Length + ((flags & TcpFlags.Syn) != 0 ? 1u : 0) + ((flags & TcpFlags.Fin) != 0 ? 1u : 0);
                SendReset(key, sourceMac, 0, segment.SequenceNumber + length, TcpFlags.Rst | TcpFlags.Ack);
            }

            return;
        }

        uint refuseAck = segment.SequenceNumber + 1;
        if (_restrict || _connections.Count >= _maxConnections || !TryMapDestination(destination, segment.DestinationPort, out IPEndPoint? target))
        {
            SendReset(key, sourceMac, 0, refuseAck, TcpFlags.Rst | TcpFlags.Ack);
            return;
        }

        Socket? socket = null;
        try
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false, NoDelay = true };
            try
            {
                socket.Connect(target);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // The usual outcome of a non-blocking connect: completion is reported by epoll.
            }

            connection = TcpConnection.FromGuestSyn(this, key, sourceMac, socket, segment);
            _connections.Add(key, connection);
        }
        catch (Exception e) when (e is SocketException or NetworkBackendException)
        {
            socket?.Dispose();
            SendReset(key, sourceMac, 0, refuseAck, TcpFlags.Rst | TcpFlags.Ack);
        }
    }

    /// <summary>A host client connected to a forwarded port: open the guest side.</summary>
    public bool OpenForwarded(Socket accepted, Ipv4Address guestAddress, ushort guestPort, ushort virtualPort, MacAddress guestMac)
    {
        var key = new TcpFlowKey(guestAddress, guestPort, _addresses.Gateway, virtualPort);
        if (_connections.Count >= _maxConnections || _connections.ContainsKey(key))
        {
            return false;
        }

        TcpConnection connection = TcpConnection.ToGuest(this, key, guestMac, accepted);
        _connections.Add(key, connection);
        return true;
    }

    public void MarkDirty(TcpConnection connection) => _dirty.Add(connection);

    /// <summary>Forwarded connections still waiting for the guest's answer send their SYN again now (the guest just arrived).</summary>
    public void RetryConnecting()
    {
        foreach (TcpConnection connection in _connections.Values)
        {
            connection.RetrySynNow();
        }
    }

    /// <summary>A guest address showed its MAC (it answered or sent ARP): its forwards still connecting go on at once.</summary>
    public void OnGuestFound(Ipv4Address address, MacAddress mac)
    {
        foreach (TcpConnection connection in _connections.Values)
        {
            if (connection.Key.GuestAddress == address)
            {
                connection.OnGuestFound(mac);
            }
        }
    }

    /// <summary>Sends what each touched connection has to send (data, coalesced ACKs).</summary>
    public void FlushDirty()
    {
        // Flushing may dirty more connections (link space, closes): loop until quiet.
        for (int i = 0; i < _dirty.Count; i++)
        {
            _dirty[i].Flush();
        }

        _dirty.Clear();
    }

    public void Remove(TcpConnection connection)
    {
        if (_connections.TryGetValue(connection.Key, out TcpConnection? existing) && existing == connection)
        {
            _connections.Remove(connection.Key);
        }
    }

    /// <summary>Resets every connection (the network is disposed, or the guest was restored to another moment); host peers see a reset.</summary>
    public void AbortAll()
    {
        foreach (TcpConnection connection in _connections.Values.ToArray())
        {
            connection.Abort();
        }
    }

    public void SendReset(TcpFlowKey key, MacAddress guestMac, uint seq, uint ack, TcpFlags flags)
    {
        Span<byte> segment = Link.Frame.AsSpan(GuestLink.TransportOffset, TcpSegment.MinHeaderLength);
        TcpSegment.WriteHeader(segment, key.RemotePort, key.GuestPort, seq, ack, flags, 0);
        TcpSegment.WriteChecksum(segment, key.RemoteAddress, key.GuestAddress);
        Link.SendIpv4(guestMac, IpProtocol.Tcp, key.RemoteAddress, key.GuestAddress, segment.Length, dontFragment: true);
    }

    private bool TryMapDestination(Ipv4Address destination, ushort port, [NotNullWhen(true)] out IPEndPoint? target)
    {
        target = null;
        if (destination == _addresses.Dns)
        {
            // DNS over TCP goes to the host's resolver; nothing else listens on the DNS address.
            IPEndPoint? server = port == DnsHeader.Port ? _dnsServer() : null;
            if (server is null)
            {
                return false;
            }

            target = server;
            return true;
        }

        if (!_addresses.TryMapToHost(destination, out Ipv4Address host))
        {
            return false;
        }

        target = new IPEndPoint(host.ToIPAddress(), port);
        return true;
    }
}
