using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The NAT's DHCP server (RFC 2131): hands out addresses from the first DHCP address on
/// (10.0.2.15 by default, 16 of them, one per client MAC) with the subnet mask, router, DNS
/// server and lease time; NAKs requests for addresses it cannot give; honours RELEASE and
/// DECLINE.
/// </summary>
internal sealed class DhcpServer
{
    public const uint LeaseSeconds = 86400;
    private const int PoolSize = 16;

    private readonly VirtualAddresses _addresses;
    private readonly GuestLink _link;
    private readonly Dictionary<MacAddress, Ipv4Address> _leases = [];
    private readonly HashSet<Ipv4Address> _declined = [];

    public DhcpServer(VirtualAddresses addresses, GuestLink link)
    {
        _addresses = addresses;
        _link = link;
    }

    /// <summary>Handles one request that arrived on UDP port 67; malformed ones are ignored.</summary>
    public void OnRequest(Span<byte> payload)
    {
        if (!DhcpMessage.TryParse(payload, out DhcpMessage request) || !request.RelayAgentAddress.IsAny)
        {
            return;
        }

        MacAddress client = request.ClientHardwareAddress;
        if (client.IsMulticast || client.IsZero)
        {
            return;
        }

        switch (request.MessageType)
        {
            case DhcpMessageType.Discover:
                if (TryChooseAddress(client, request, out Ipv4Address offer))
                {
                    Reply(request, DhcpMessageType.Offer, offer);
                }

                break;
            case DhcpMessageType.Request:
                OnDhcpRequest(request, client);
                break;
            case DhcpMessageType.Release:
                if (_leases.TryGetValue(client, out Ipv4Address released) && released == request.ClientAddress)
                {
                    _leases.Remove(client);
                }

                break;
            case DhcpMessageType.Decline:
                if (request.TryGetAddressOption(DhcpOption.RequestedIpAddress, out Ipv4Address declined) && IsPoolAddress(declined))
                {
                    _declined.Add(declined); // someone else uses it: never offer it again
                    _leases.Remove(client);
                }

                break;
            case DhcpMessageType.Inform:
                Reply(request, DhcpMessageType.Ack, Ipv4Address.Any);
                break;
        }
    }

    private void OnDhcpRequest(DhcpMessage request, MacAddress client)
    {
        if (request.TryGetAddressOption(DhcpOption.ServerIdentifier, out Ipv4Address server) && server != _addresses.Gateway)
        {
            return; // the client chose another server's offer
        }

        Ipv4Address wanted = request.TryGetAddressOption(DhcpOption.RequestedIpAddress, out Ipv4Address requested)
            ? requested
            : request.ClientAddress;
        if (IsPoolAddress(wanted) && !_declined.Contains(wanted) && !IsLeasedToOther(wanted, client))
        {
            _leases[client] = wanted;
            Reply(request, DhcpMessageType.Ack, wanted);
        }
        else
        {
            Reply(request, DhcpMessageType.Nak, Ipv4Address.Any);
        }
    }

    private bool TryChooseAddress(MacAddress client, DhcpMessage request, out Ipv4Address address)
    {
        if (_leases.TryGetValue(client, out address))
        {
            return true;
        }

        if (request.TryGetAddressOption(DhcpOption.RequestedIpAddress, out address)
            && IsPoolAddress(address) && !_declined.Contains(address) && !IsLeasedToOther(address, client))
        {
            return true;
        }

        for (uint i = 0; i < PoolSize; i++)
        {
            address = _addresses.DhcpStart.Add(i);
            if (IsPoolAddress(address) && !_declined.Contains(address) && !IsLeasedToOther(address, client))
            {
                return true;
            }
        }

        return false; // pool exhausted: stay silent, as a full server does
    }

    private bool IsPoolAddress(Ipv4Address address)
    {
        uint index = address.Value - _addresses.DhcpStart.Value;
        return index < PoolSize
            && _addresses.IsInSubnet(address)
            && address != _addresses.SubnetBroadcast
            && !_addresses.IsVirtualHost(address);
    }

    private bool IsLeasedToOther(Ipv4Address address, MacAddress client)
    {
        foreach ((MacAddress mac, Ipv4Address leased) in _leases)
        {
            if (leased == address && mac != client)
            {
                return true;
            }
        }

        return false;
    }

    private void Reply(DhcpMessage request, DhcpMessageType type, Ipv4Address yourAddress)
    {
        const int udpOffset = GuestLink.TransportOffset;
        const int dhcpOffset = udpOffset + UdpDatagram.HeaderLength;
        Span<byte> reply = _link.Frame.AsSpan(dhcpOffset, 576);
        DhcpMessage.WriteReplyHeader(reply, request, yourAddress, type == DhcpMessageType.Nak ? Ipv4Address.Any : _addresses.Gateway);
        var options = new DhcpOptionWriter(reply[DhcpMessage.OptionsOffset..]);
        options.WriteByte(DhcpOption.MessageType, (byte)type);
        options.WriteAddress(DhcpOption.ServerIdentifier, _addresses.Gateway);
        if (type == DhcpMessageType.Nak)
        {
            options.WriteBytes(DhcpOption.Message, "requested address not available"u8);
        }
        else
        {
            if (type != DhcpMessageType.Ack || !yourAddress.IsAny)
            {
                options.WriteUInt32(DhcpOption.LeaseTime, LeaseSeconds);
                options.WriteUInt32(DhcpOption.RenewalTime, LeaseSeconds / 2);
                options.WriteUInt32(DhcpOption.RebindingTime, LeaseSeconds * 7 / 8);
            }

            options.WriteAddress(DhcpOption.SubnetMask, _addresses.Mask);
            options.WriteAddress(DhcpOption.Router, _addresses.Gateway);
            options.WriteAddress(DhcpOption.DomainNameServer, _addresses.Dns);
            options.WriteAddress(DhcpOption.BroadcastAddress, _addresses.SubnetBroadcast);
        }

        options.WriteEnd();
        // Pad to the classic 300-byte BOOTP minimum that some clients expect.
        int length = Math.Max(DhcpMessage.OptionsOffset + options.Length, 300);
        reply[(DhcpMessage.OptionsOffset + options.Length)..length].Clear();

        // Where the reply goes (RFC 2131, 4.1): to a configured client's address, else broadcast
        // when the client asks for it or is told NAK, else to the offered address at its MAC.
        Ipv4Address destination;
        MacAddress destinationMac = request.ClientHardwareAddress;
        if (!request.ClientAddress.IsAny && type != DhcpMessageType.Nak)
        {
            destination = request.ClientAddress;
        }
        else if ((request.Flags & DhcpMessage.BroadcastFlag) != 0 || type == DhcpMessageType.Nak || yourAddress.IsAny)
        {
            destination = Ipv4Address.Broadcast;
            destinationMac = MacAddress.Broadcast;
        }
        else
        {
            destination = yourAddress;
        }

        Span<byte> datagram = _link.Frame.AsSpan(udpOffset, UdpDatagram.HeaderLength + length);
        UdpDatagram.Write(datagram, DhcpMessage.ServerPort, DhcpMessage.ClientPort, _addresses.Gateway, destination);
        _link.SendIpv4(destinationMac, IpProtocol.Udp, _addresses.Gateway, destination, datagram.Length);
    }
}
