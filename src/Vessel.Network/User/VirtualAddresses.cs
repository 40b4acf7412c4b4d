using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The addresses of the virtual network the NAT pretends to be, QEMU's by default: network
/// 10.0.2.0/24, gateway and host 10.0.2.2, DNS 10.0.2.3, guest (first DHCP address) 10.0.2.15.
/// </summary>
internal sealed class VirtualAddresses
{
    public VirtualAddresses(UserNetworkOptions options)
    {
        Mask = Ipv4Address.MaskOf(options.PrefixLength);
        Network = new Ipv4Address(options.Network.Value & Mask.Value);
        SubnetBroadcast = new Ipv4Address(Network.Value | ~Mask.Value);
        Gateway = options.Host ?? Network.Add(2);
        Dns = options.Dns ?? Network.Add(3);
        DhcpStart = options.DhcpStart ?? Network.Add(15);
    }

    public Ipv4Address Network { get; }

    public Ipv4Address Mask { get; }

    public Ipv4Address SubnetBroadcast { get; }

    /// <summary>The router the guest sees; traffic to it goes to the host's loopback.</summary>
    public Ipv4Address Gateway { get; }

    public Ipv4Address Dns { get; }

    public Ipv4Address DhcpStart { get; }

    public bool IsInSubnet(Ipv4Address address) => address.IsInSubnet(Network, Mask);

    /// <summary>True for the NAT's own addresses (it answers ARP and ping for them).</summary>
    public bool IsVirtualHost(Ipv4Address address) => address == Gateway || address == Dns;

    /// <summary>
    /// Where a guest's TCP connection or UDP datagram to <paramref name="destination"/> goes on
    /// the host: the gateway means the host itself (127.0.0.1); other addresses in the virtual
    /// subnet do not exist; the rest of the world is reached as it is. Returns false to drop.
    /// </summary>
    public bool TryMapToHost(Ipv4Address destination, out Ipv4Address host)
    {
        host = destination;
        if (destination == Gateway)
        {
            host = Ipv4Address.Loopback;
            return true;
        }

        return !IsInSubnet(destination) && !destination.IsBroadcast && !destination.IsMulticast && !destination.IsAny && !destination.IsLoopback;
    }

    /// <summary>The address the guest sees for a host peer: the host's loopback appears as the gateway.</summary>
    public Ipv4Address MapFromHost(Ipv4Address host) => host.IsLoopback ? Gateway : host;
}
