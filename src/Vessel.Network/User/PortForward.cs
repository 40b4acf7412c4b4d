using System.Net;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// One <c>hostfwd=</c> rule: connections (or datagrams) to <see cref="HostAddress"/>:<see cref="HostPort"/>
/// on the host reach <see cref="GuestAddress"/>:<see cref="GuestPort"/> in the guest. A null guest
/// address means the first DHCP address, as in QEMU.
/// </summary>
public sealed record PortForward(ForwardProtocol Protocol, IPAddress HostAddress, int HostPort, Ipv4Address? GuestAddress, int GuestPort)
{
    public override string ToString() =>
        $"{(Protocol == ForwardProtocol.Tcp ? "tcp" : "udp")}:{HostAddress}:{HostPort}-{GuestAddress?.ToString() ?? string.Empty}:{GuestPort}";
}
