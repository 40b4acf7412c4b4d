using System.Net;
using Vessel.Network.Packets;
using Vessel.Network.User;

namespace Vessel.Network;

/// <summary>
/// Settings of the user-mode NAT (<c>--net user,...</c>). The defaults are QEMU's addresses and
/// limits that keep a hostile guest from using unbounded host memory.
/// </summary>
public sealed record UserNetworkOptions : NetworkOptions
{
    public Ipv4Address Network { get; init; } = new(10, 0, 2, 0);

    public int PrefixLength { get; init; } = 24;

    /// <summary>The gateway/host address; defaults to the network's .2.</summary>
    public Ipv4Address? Host { get; init; }

    /// <summary>The DNS server address the guest is given; defaults to the network's .3.</summary>
    public Ipv4Address? Dns { get; init; }

    /// <summary>The first address DHCP hands out; defaults to the network's .15.</summary>
    public Ipv4Address? DhcpStart { get; init; }

    public IReadOnlyList<PortForward> PortForwards { get; init; } = [];

    /// <summary>
    /// QEMU's <c>restrict=on</c>: the guest reaches neither the host nor the outside (no NAT, no
    /// DNS relay); only DHCP, ARP, pings of the gateway and port forwards work.
    /// </summary>
    public bool Restrict { get; init; }

    /// <summary>
    /// Where DNS queries to the virtual DNS address go; null reads the host's /etc/resolv.conf
    /// (falling back to 127.0.0.1:53 when it names no IPv4 server).
    /// </summary>
    public IReadOnlyList<IPEndPoint>? DnsServers { get; init; }

    /// <summary>TCP connections beyond this many are refused with a reset.</summary>
    public int MaxTcpConnections { get; init; } = 512;

    /// <summary>Buffer per direction per TCP connection (held only while data waits).</summary>
    public int TcpBufferSize { get; init; } = 256 * 1024;

    /// <summary>How long a connection closed by the host side lingers in TIME_WAIT.</summary>
    public TimeSpan TcpTimeWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a connection attempt to a host may take before the guest gets a reset.</summary>
    public TimeSpan TcpConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxUdpFlows { get; init; } = 256;

    public TimeSpan UdpIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Frames the guest may have queued for the NAT thread before more are dropped.</summary>
    public int MaxQueuedFrames { get; init; } = 1024;

    /// <summary>Checks the addresses fit together; throws <see cref="NetworkOptionsException"/>.</summary>
    public void Validate()
    {
        if (PrefixLength is < 1 or > 28)
        {
            throw new NetworkOptionsException($"net={Network}/{PrefixLength} is too small or too large for a virtual network (prefix length 1 to 28)");
        }

        var addresses = new VirtualAddresses(this);
        if (addresses.Network != Network)
        {
            throw new NetworkOptionsException($"net={Network}/{PrefixLength} has host bits set (did you mean {addresses.Network}/{PrefixLength}?)");
        }

        Check("host", addresses.Gateway);
        Check("dns", addresses.Dns);
        Check("dhcpstart", addresses.DhcpStart);
        if (addresses.Gateway == addresses.Dns || addresses.Gateway == addresses.DhcpStart || addresses.Dns == addresses.DhcpStart)
        {
            throw new NetworkOptionsException("the host, dns and dhcpstart addresses of --net user must differ");
        }

        foreach (PortForward forward in PortForwards)
        {
            if (forward.GuestAddress is { } guest && !addresses.IsInSubnet(guest))
            {
                throw new NetworkOptionsException($"hostfwd guest address {guest} is not in the virtual network {addresses.Network}/{PrefixLength}");
            }
        }

        void Check(string name, Ipv4Address address)
        {
            if (!addresses.IsInSubnet(address) || address == addresses.Network || address == addresses.SubnetBroadcast)
            {
                throw new NetworkOptionsException($"{name}={address} is not a host address in the virtual network {addresses.Network}/{PrefixLength}");
            }
        }
    }
}
