using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// One guest UDP source (address and port) with its own host socket, so that replies from any
/// peer find their way back (endpoint-independent mapping, like QEMU's slirp).
/// </summary>
internal sealed class UdpFlow : IPollHandler, ILinkWaiter, IIdleFlow
{
    private const int MaxDatagramsPerWakeup = 64;

    private readonly UdpNat _nat;
    private readonly Socket _socket;
    private readonly int _registration;

    public UdpFlow(UdpNat nat, Ipv4Address guestAddress, ushort guestPort, MacAddress guestMac)
    {
        _nat = nat;
        GuestAddress = guestAddress;
        GuestPort = guestPort;
        GuestMac = guestMac;
        _socket = Datagram.OpenUdp();
        try
        {
            _registration = nat.Loop.Add(Datagram.Fd(_socket), this, LibC.EpollIn);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    public Ipv4Address GuestAddress { get; }

    public ushort GuestPort { get; }

    public MacAddress GuestMac { get; set; }

    public long LastActive { get; set; } = EventLoop.Now;

    public bool Send(ReadOnlySpan<byte> data, Ipv4Address host, ushort port)
    {
        LastActive = EventLoop.Now;
        return Datagram.Send(_socket, data, host, port);
    }

    public void OnPollEvents(uint events)
    {
        GuestLink link = _nat.Link;
        for (int i = 0; i < MaxDatagramsPerWakeup; i++)
        {
            if (link.IsCongested)
            {
                // Leave datagrams in the socket (the kernel drops the excess) until the guest
                // takes frames again.
                _nat.Loop.Modify(_registration, 0);
                link.WaitForSpace(this);
                return;
            }

            Span<byte> data = link.Frame.AsSpan(GuestLink.TransportOffset + UdpDatagram.HeaderLength);
            int length = Datagram.Receive(_socket, data, out Ipv4Address from, out ushort fromPort);
            if (length < 0)
            {
                return;
            }

            LastActive = EventLoop.Now;
            _nat.DeliverToGuest(this, _nat.Addresses.MapFromHost(from), fromPort, length);
        }
    }

    public void OnLinkSpace() => _nat.Loop.Modify(_registration, LibC.EpollIn);

    public void Close()
    {
        _nat.Loop.Remove(_registration);
        _nat.Link.StopWaiting(this);
        _socket.Dispose();
    }
}
