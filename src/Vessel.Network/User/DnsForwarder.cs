using System.Net;
using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The virtual DNS server (10.0.2.3:53): relays each query to the host's resolver with a fresh
/// transaction ID (one socket for all guests' queries) and sends the answer back as if from
/// the virtual address. Unanswered queries are forgotten after a few seconds; at most a fixed
/// number are outstanding.
/// </summary>
internal sealed class DnsForwarder : IPollHandler, ITimerHandler, ILinkWaiter
{
    private const int MaxPending = 512;
    private const long QueryTimeoutMs = 10_000;

    private readonly EventLoop _loop;
    private readonly GuestLink _link;
    private readonly VirtualAddresses _addresses;
    private readonly IReadOnlyList<IPEndPoint> _servers;
    private readonly Dictionary<ushort, PendingQuery> _pending = [];
    private readonly List<ushort> _expired = [];
    private readonly LoopTimer _timer;
    private Socket? _socket;
    private int _registration = -1;
    private ushort _nextId = (ushort)Random.Shared.Next();
    private int _nextServer;

    public DnsForwarder(EventLoop loop, GuestLink link, VirtualAddresses addresses, IReadOnlyList<IPEndPoint> servers)
    {
        _loop = loop;
        _link = link;
        _addresses = addresses;
        _servers = servers.Where(s => s.AddressFamily == AddressFamily.InterNetwork).ToArray();
        _timer = new LoopTimer(this);
    }

    public IPEndPoint? PrimaryServer => _servers.Count > 0 ? _servers[0] : null;

    /// <summary>The host's resolvers from /etc/resolv.conf, or 127.0.0.1:53 when it names no IPv4 server.</summary>
    public static IReadOnlyList<IPEndPoint> ReadHostResolvers(string path = "/etc/resolv.conf")
    {
        var servers = new List<IPEndPoint>();
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2 && words[0] == "nameserver"
                    && IPAddress.TryParse(words[1], out IPAddress? address)
                    && address.AddressFamily == AddressFamily.InterNetwork)
                {
                    servers.Add(new IPEndPoint(address, DnsHeader.Port));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No resolver configuration: use the fallback below.
        }

        if (servers.Count == 0)
        {
            servers.Add(new IPEndPoint(IPAddress.Loopback, DnsHeader.Port));
        }

        return servers;
    }

    public void OnQuery(Ipv4Address guest, ushort guestPort, MacAddress guestMac, Span<byte> message)
    {
        if (!DnsHeader.TryParse(message, out DnsHeader header) || header.IsResponse || _servers.Count == 0)
        {
            return;
        }

        if (_pending.Count >= MaxPending || !EnsureSocket())
        {
            return;
        }

        ushort id = _nextId++;
        while (_pending.ContainsKey(id))
        {
            id = _nextId++;
        }

        _pending.Add(id, new PendingQuery(guest, guestPort, guestMac, header.Id, EventLoop.Now + QueryTimeoutMs));
        header.Id = id;
        // Successive queries rotate over the resolvers, so a guest's retry reaches another one.
        IPEndPoint server = _servers[_nextServer++ % _servers.Count];
        Datagram.Send(_socket!, message, Ipv4Address.FromIPAddress(server.Address), (ushort)server.Port);
        if (!_timer.IsArmed)
        {
            _loop.Arm(_timer, EventLoop.Now + QueryTimeoutMs);
        }
    }

    public void OnPollEvents(uint events)
    {
        while (true)
        {
            if (_link.IsCongested)
            {
                _loop.Modify(_registration, 0);
                _link.WaitForSpace(this);
                return;
            }

            const int dataOffset = GuestLink.TransportOffset + UdpDatagram.HeaderLength;
            Span<byte> message = _link.Frame.AsSpan(dataOffset);
            int length = Datagram.Receive(_socket!, message, out Ipv4Address from, out ushort fromPort);
            if (length < 0)
            {
                return;
            }

            message = message[..length];
            if (!IsServer(from, fromPort) || !DnsHeader.TryParse(message, out DnsHeader header) || !header.IsResponse
                || !_pending.Remove(header.Id, out PendingQuery query))
            {
                continue;
            }

            header.Id = query.OriginalId;
            Span<byte> datagram = _link.Frame.AsSpan(GuestLink.TransportOffset, UdpDatagram.HeaderLength + length);
            UdpDatagram.Write(datagram, DnsHeader.Port, query.GuestPort, _addresses.Dns, query.Guest);
            _link.SendIpv4(query.GuestMac, IpProtocol.Udp, _addresses.Dns, query.Guest, datagram.Length);
        }
    }

    public void OnLinkSpace()
    {
        if (_registration >= 0)
        {
            _loop.Modify(_registration, LibC.EpollIn);
        }
    }

    public void OnTimer(long now)
    {
        foreach ((ushort id, PendingQuery query) in _pending)
        {
            if (now >= query.Expires)
            {
                _expired.Add(id);
            }
        }

        foreach (ushort id in _expired)
        {
            _pending.Remove(id);
        }

        _expired.Clear();
        if (_pending.Count > 0)
        {
            _loop.Arm(_timer, now + QueryTimeoutMs);
        }
    }

    public void Close()
    {
        if (_registration >= 0)
        {
            _loop.Remove(_registration);
            _registration = -1;
        }

        _socket?.Dispose();
        _socket = null;
    }

    private bool EnsureSocket()
    {
        if (_socket is not null)
        {
            return true;
        }

        try
        {
            _socket = Datagram.OpenUdp();
            _registration = _loop.Add(Datagram.Fd(_socket), this, LibC.EpollIn);
            return true;
        }
        catch (Exception e) when (e is SocketException or NetworkBackendException)
        {
            _socket?.Dispose();
            _socket = null;
            return false;
        }
    }

    private bool IsServer(Ipv4Address address, ushort port)
    {
        foreach (IPEndPoint server in _servers)
        {
            if (server.Port == port && Ipv4Address.FromIPAddress(server.Address) == address)
            {
                return true;
            }
        }

        return false;
    }

    private readonly record struct PendingQuery(Ipv4Address Guest, ushort GuestPort, MacAddress GuestMac, ushort OriginalId, long Expires);
}
