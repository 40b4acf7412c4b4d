using Vessel.Network.Packets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.Packets;

public sealed class PacketParsingTests
{
    [Fact]
    public void Ipv4ParsesFieldsAndTrimsEthernetPadding()
    {
        byte[] packet = [.. Wire.Ipv4(Wire.Ip("10.0.2.15"), Wire.Ip("1.2.3.4"), 17, [9, 9, 9], id: 4242, flagsAndOffset: 0x2000 | 5), 0, 0, 0];
        Assert.True(Ipv4Packet.TryParse(packet, out Ipv4Packet ip));
        Assert.Equal(23, ip.TotalLength);
        Assert.Equal(3, ip.Payload.Length);
        Assert.Equal(4242, ip.Identification);
        Assert.True(ip.MoreFragments);
        Assert.Equal(40, ip.FragmentOffset);
        Assert.Equal("1.2.3.4", ip.Destination.ToString());
    }

    [Fact]
    public void TcpOptionsAreReadAndMalformedOnesEndTheScan()
    {
        byte[] src = Wire.Ip("1.1.1.1"), dst = Wire.Ip("2.2.2.2");
        byte[] syn = Wire.Tcp(src, dst, 1, 2, 0, 0, Wire.Syn, 100, null, [1, 2, 4, 0x05, 0xB4, 3, 3, 20, 0, 0, 0, 0]);
        Assert.True(TcpSegment.TryParse(syn, Ipv4Address.Read(src), Ipv4Address.Read(dst), out TcpSegment segment));
        Assert.Equal(new TcpOptions(1460, 14), segment.ReadOptions()); // a shift above 14 counts as 14

        byte[] bad = Wire.Tcp(src, dst, 1, 2, 0, 0, Wire.Syn, 100, null, [2, 4, 0x02, 0x00, 3, 9, 1, 1]);
        Assert.True(TcpSegment.TryParse(bad, Ipv4Address.Read(src), Ipv4Address.Read(dst), out segment));
        Assert.Equal(new TcpOptions(512, TcpOptions.NoWindowScale), segment.ReadOptions());
    }

    [Fact]
    public void UdpLengthAndChecksumAreChecked()
    {
        byte[] src = Wire.Ip("1.1.1.1"), dst = Wire.Ip("2.2.2.2");
        byte[] udp = Wire.Udp(src, dst, 1, 2, [1, 2, 3]);
        Assert.True(UdpDatagram.TryParse(udp, Ipv4Address.Read(src), Ipv4Address.Read(dst), out _));
        udp[^1] ^= 1;
        Assert.False(UdpDatagram.TryParse(udp, Ipv4Address.Read(src), Ipv4Address.Read(dst), out _));
        udp[6] = udp[7] = 0; // no checksum at all is allowed in UDP over IPv4
        Assert.True(UdpDatagram.TryParse(udp, Ipv4Address.Read(src), Ipv4Address.Read(dst), out _));
    }

    [Fact]
    public void Ipv4AddressParsing()
    {
        Assert.True(Ipv4Address.TryParse("10.0.2.15", out Ipv4Address a));
        Assert.Equal(new Ipv4Address(10, 0, 2, 15), a);
        Assert.False(Ipv4Address.TryParse("10.0.2", out _));
        Assert.False(Ipv4Address.TryParse("10.0.2.256", out _));
        Assert.False(Ipv4Address.TryParse("10..2.1", out _));
        Assert.False(Ipv4Address.TryParse("1.2.3.4.5", out _));
        Assert.False(Ipv4Address.TryParse("+1.2.3.4", out _));
    }
}
