using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class ArpAndIcmpTests
{
    [Theory]
    [InlineData("10.0.2.2")]
    [InlineData("10.0.2.3")]
    public void ArpRequestForAVirtualHostIsAnsweredToTheGuest(string target)
    {
        using var guest = new TestGuest();
        guest.Send(Wire.ArpRequest(Wire.GuestMac, TestGuest.GuestIp, Wire.Ip(target)));
        ParsedFrame reply = guest.Expect(f => f.EtherType == 0x0806);

        Assert.Equal(2, reply.ArpOperation);
        Assert.Equal(Wire.GuestMac, reply.Destination);
        Assert.Equal(Wire.Ip(target), reply.ArpSenderIp);
        Assert.Equal(TestGuest.GuestIp, reply.ArpTargetIp);
        Assert.Equal(reply.Source, reply.ArpSenderMac);
        Assert.Equal(0, reply.ArpSenderMac[0] & 1); // a unicast address
    }

    [Fact]
    public void ArpForOtherAddressesIsNotAnswered()
    {
        using var guest = new TestGuest();
        guest.Send(Wire.ArpRequest(Wire.GuestMac, TestGuest.GuestIp, Wire.Ip("10.0.2.99")));
        guest.Send(Wire.ArpRequest(Wire.GuestMac, TestGuest.GuestIp, Wire.Ip("10.0.2.2")));

        ParsedFrame reply = guest.Expect(f => f.EtherType == 0x0806);
        Assert.Equal(Wire.Ip("10.0.2.2"), reply.ArpSenderIp); // the first request got nothing
    }

    [Fact]
    public void PingToTheGatewayIsAnsweredWithTheSameData()
    {
        using var guest = new TestGuest();
        guest.ResolveGateway();
        byte[] payload = Enumerable.Range(0, 56).Select(i => (byte)i).ToArray();
        guest.SendIp(TestGuest.GatewayIp, 1, Wire.IcmpEcho(0x1234, 7, payload));

        ParsedFrame reply = guest.Expect(f => f.Protocol == 1);
        Assert.Equal(0, reply.IcmpType);
        Assert.Equal(0x1234, reply.IcmpId);
        Assert.Equal(7, reply.IcmpSeq);
        Assert.Equal(payload, reply.Data);
        Assert.Equal(TestGuest.GatewayIp, reply.SourceIp);
        Assert.Equal(TestGuest.GuestIp, reply.DestinationIp);
        Assert.Equal(Wire.GuestMac, reply.Destination);
    }

    [Fact]
    public void PingWithABadChecksumIsDropped()
    {
        using var guest = new TestGuest();
        guest.ResolveGateway();
        byte[] bad = Wire.IcmpEcho(1, 1, [1, 2, 3, 4]);
        bad[2] ^= 0xFF;
        guest.SendIp(TestGuest.GatewayIp, 1, bad);
        guest.SendIp(TestGuest.GatewayIp, 1, Wire.IcmpEcho(1, 2, [1, 2, 3, 4]));

        ParsedFrame reply = guest.Expect(f => f.Protocol == 1);
        Assert.Equal(2, reply.IcmpSeq);
    }
}
