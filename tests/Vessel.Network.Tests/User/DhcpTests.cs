using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class DhcpTests
{
    private static readonly byte[] Zero = [0, 0, 0, 0];

    private static void SendDhcp(TestGuest guest, byte[] message, byte[]? srcIp = null) =>
        guest.Send(Wire.Ethernet(Wire.Broadcast, Wire.GuestMac, 0x0800,
            Wire.Ipv4(srcIp ?? Zero, Wire.Ip("255.255.255.255"), 17, Wire.Udp(srcIp ?? Zero, Wire.Ip("255.255.255.255"), 68, 67, message))));

    private static ParsedFrame ExpectReply(TestGuest guest, uint xid) =>
        guest.Expect(f => f.IsUdp && f.SourcePort == 67 && f.DestinationPort == 68 && Wire.Get32(f.Data, 4) == xid);

    [Fact]
    public void DiscoverOfferRequestAckGivesTheDefaultLease()
    {
        using var guest = new TestGuest();
        SendDhcp(guest, Wire.Dhcp(1, 0xABCD0001, Wire.GuestMac, Zero, (55, [1, 3, 6, 51])));
        ParsedFrame offer = ExpectReply(guest, 0xABCD0001);
        Dictionary<byte, byte[]> offered = offer.DhcpOptions();

        Assert.Equal(2, offer.Data[0]); // BOOTREPLY
        Assert.Equal(Wire.Ip("10.0.2.15"), offer.Data[16..20]); // yiaddr
        Assert.Equal(Wire.GuestMac, offer.Data[28..34]); // chaddr
        Assert.Equal([2], offered[53]); // OFFER
        Assert.Equal(Wire.Ip("10.0.2.2"), offered[54]);
        Assert.Equal(Wire.Ip("10.0.2.2"), offer.SourceIp);

        SendDhcp(guest, Wire.Dhcp(3, 0xABCD0002, Wire.GuestMac, Zero, (50, Wire.Ip("10.0.2.15")), (54, Wire.Ip("10.0.2.2"))));
        ParsedFrame ack = ExpectReply(guest, 0xABCD0002);
        Dictionary<byte, byte[]> options = ack.DhcpOptions();

        Assert.Equal([5], options[53]); // ACK
        Assert.Equal(Wire.Ip("10.0.2.15"), ack.Data[16..20]);
        Assert.Equal(Wire.Ip("255.255.255.0"), options[1]);
        Assert.Equal(Wire.Ip("10.0.2.2"), options[3]);
        Assert.Equal(Wire.Ip("10.0.2.3"), options[6]);
        Assert.Equal(86400u, Wire.Get32(options[51], 0));
        Assert.Equal(Wire.GuestMac, ack.Destination);
    }

    [Fact]
    public void RequestForAnAddressOutsideThePoolIsNaked()
    {
        using var guest = new TestGuest();
        SendDhcp(guest, Wire.Dhcp(3, 77, Wire.GuestMac, Zero, (50, Wire.Ip("10.0.2.200"))));
        ParsedFrame nak = ExpectReply(guest, 77);

        Assert.Equal([6], nak.DhcpOptions()[53]);
        Assert.Equal(Wire.Ip("0.0.0.0"), nak.Data[16..20]);
        Assert.Equal(Wire.Broadcast, nak.Destination);
    }

    [Fact]
    public void AnAddressLeasedToOneClientIsNotGivenToAnotherUntilReleased()
    {
        using var guest = new TestGuest();
        byte[] otherMac = [0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC];
        SendDhcp(guest, Wire.Dhcp(3, 1, Wire.GuestMac, Zero, (50, Wire.Ip("10.0.2.15"))));
        Assert.Equal([5], ExpectReply(guest, 1).DhcpOptions()[53]);

        SendDhcp(guest, Wire.Dhcp(3, 2, otherMac, Zero, (50, Wire.Ip("10.0.2.15"))));
        Assert.Equal([6], ExpectReply(guest, 2).DhcpOptions()[53]);

        SendDhcp(guest, Wire.Dhcp(1, 3, otherMac, Zero));
        Assert.Equal(Wire.Ip("10.0.2.16"), ExpectReply(guest, 3).Data[16..20]);

        SendDhcp(guest, Wire.Dhcp(7, 4, Wire.GuestMac, Wire.Ip("10.0.2.15")), Wire.Ip("10.0.2.15"));
        SendDhcp(guest, Wire.Dhcp(3, 5, otherMac, Zero, (50, Wire.Ip("10.0.2.15"))));
        Assert.Equal([5], ExpectReply(guest, 5).DhcpOptions()[53]);
    }

    [Fact]
    public void RequestNamingAnotherServerIsIgnored()
    {
        using var guest = new TestGuest();
        SendDhcp(guest, Wire.Dhcp(3, 9, Wire.GuestMac, Zero, (50, Wire.Ip("10.0.2.15")), (54, Wire.Ip("10.0.2.254"))));
        SendDhcp(guest, Wire.Dhcp(1, 10, Wire.GuestMac, Zero));

        ParsedFrame reply = ExpectReply(guest, 10);
        Assert.Equal([2], reply.DhcpOptions()[53]);
        Assert.Null(guest.TryExpect(f => f.IsUdp && f.SourcePort == 67, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void BogusOptionsAreSurvived()
    {
        using var guest = new TestGuest();
        byte[] message = Wire.Dhcp(1, 42, Wire.GuestMac, Zero);
        // An option whose length runs past the end, and a truncated message.
        message[^1] = 50;
        message = [.. message, 200, 1, 2];
        SendDhcp(guest, message);
        SendDhcp(guest, message[..100]);
        SendDhcp(guest, Wire.Dhcp(1, 43, Wire.GuestMac, Zero));

        ParsedFrame offer = ExpectReply(guest, 43);
        Assert.Equal([2], offer.DhcpOptions()[53]);
    }
}
