using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// Guest UDP to the outside world: one host socket per guest source port, closed after an idle
/// time, at most a fixed number of them (datagrams of further sources are dropped until one
/// expires).
/// </summary>
internal sealed class UdpNat : ITimerHandler
{
    private const long SweepIntervalMs = 1000;

    private readonly IdleFlowTable<(Ipv4Address Address, ushort Port), UdpFlow> _flows;
    private readonly LoopTimer _sweep;
    private readonly int _maxFlows;

    public UdpNat(EventLoop loop, GuestLink link, VirtualAddresses addresses, UserNetworkOptions options)
    {
        Loop = loop;
        Link = link;
        Addresses = addresses;
        _maxFlows = options.MaxUdpFlows;
        _flows = new((long)options.UdpIdleTimeout.TotalMilliseconds);
        _sweep = new LoopTimer(this);
    }

    public EventLoop Loop { get; }

    public GuestLink Link { get; }

    public VirtualAddresses Addresses { get; }

    public int Count => _flows.Count;

    public void OnDatagram(Ipv4Address source, Ipv4Address destination, UdpDatagram datagram, MacAddress sourceMac)
    {
        if (!Addresses.TryMapToHost(destination, out Ipv4Address host) || datagram.DestinationPort == 0)
        {
            return;
        }

        var key = (source, datagram.SourcePort);
        if (!_flows.TryGetValue(key, out UdpFlow? flow))
        {
            if (_flows.Count >= _maxFlows)
            {
                return;
            }

            try
            {
                flow = new UdpFlow(this, source, datagram.SourcePort, sourceMac);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or NetworkBackendException)
            {
                return; // out of descriptors or ports: the datagram is lost, as UDP allows
            }

            _flows.Add(key, flow);
            if (!_sweep.IsArmed)
            {
                Loop.Arm(_sweep, EventLoop.Now + SweepIntervalMs);
            }
        }

        flow.GuestMac = sourceMac;
        flow.Send(datagram.Data, host, datagram.DestinationPort);
    }

    /// <summary>Sends the datagram whose data (<paramref name="length"/> bytes) is already in the link's frame buffer.</summary>
    public void DeliverToGuest(UdpFlow flow, Ipv4Address from, ushort fromPort, int length)
    {
        Span<byte> datagram = Link.Frame.AsSpan(GuestLink.TransportOffset, UdpDatagram.HeaderLength + length);
        UdpDatagram.Write(datagram, fromPort, flow.GuestPort, from, flow.GuestAddress);
        Link.SendIpv4(flow.GuestMac, IpProtocol.Udp, from, flow.GuestAddress, datagram.Length);
    }

    public void OnTimer(long now)
    {
        if (_flows.CloseIdle(now))
        {
            Loop.Arm(_sweep, now + SweepIntervalMs);
        }
    }

    public void CloseAll() => _flows.CloseAll();
}
