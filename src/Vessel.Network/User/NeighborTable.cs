using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The guest-side hosts the NAT has heard from (IPv4 address to MAC), learned from ARP and from
/// the source of every IPv4 frame. Bounded: the virtual subnet is small and a guest claiming
/// thousands of addresses only evicts its own entries.
/// </summary>
internal sealed class NeighborTable(VirtualAddresses addresses)
{
    private const int MaxEntries = 64;

    private readonly Dictionary<Ipv4Address, MacAddress> _entries = [];

    /// <summary>The last guest MAC seen, for replies to a guest that has no address yet.</summary>
    public MacAddress LastSeen { get; private set; }

    public void Learn(Ipv4Address address, MacAddress mac)
    {
        if (mac.IsMulticast || mac.IsZero)
        {
            return;
        }

        LastSeen = mac;
        if (!addresses.IsInSubnet(address) || addresses.IsVirtualHost(address) || address == addresses.Network || address == addresses.SubnetBroadcast)
        {
            return;
        }

        if (!_entries.ContainsKey(address) && _entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[address] = mac;
    }

    public bool TryGet(Ipv4Address address, out MacAddress mac) => _entries.TryGetValue(address, out mac);
}
