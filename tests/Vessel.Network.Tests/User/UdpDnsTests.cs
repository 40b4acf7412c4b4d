using System.Net;
using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class UdpDnsTests
{
    private static Socket LoopbackUdp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 15000 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    [Fact]
    public void UdpToTheGatewayReachesTheHostAndRepliesComeBack()
    {
        using Socket server = LoopbackUdp();
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var guest = new TestGuest();
        guest.ResolveGateway();

        guest.SendUdp(TestGuest.GatewayIp, 5555, port, "hello host"u8.ToArray());
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = server.ReceiveFrom(buffer, ref from);
        Assert.Equal("hello host", System.Text.Encoding.ASCII.GetString(buffer, 0, n));

        // Two replies through the same mapping, one of them larger than the guest's MTU.
        server.SendTo("hello guest"u8.ToArray(), from);
        ParsedFrame reply = guest.Expect(f => f.IsUdp && f.DestinationPort == 5555);
        Assert.Equal("hello guest"u8.ToArray(), reply.Data);
        Assert.Equal(TestGuest.GatewayIp, reply.SourceIp);
        Assert.Equal(port, reply.SourcePort);

        byte[] big = Enumerable.Range(0, 4000).Select(i => (byte)(i * 13)).ToArray();
        server.SendTo(big, from);
        Assert.Equal(big, ReassembleUdpData(guest));
    }

    [Fact]
    public void IdleUdpFlowsAreClosed()
    {
        using Socket server = LoopbackUdp();
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var guest = new TestGuest(new UserNetworkOptions { UdpIdleTimeout = TimeSpan.FromMilliseconds(300) });
        guest.ResolveGateway();

        guest.SendUdp(TestGuest.GatewayIp, 7000, port, [1]);
        guest.SendUdp(TestGuest.GatewayIp, 7001, port, [2]);
        var buffer = new byte[16];
        server.Receive(buffer);
        server.Receive(buffer);
        Assert.Equal(2, guest.Network.UdpFlowCount);
        Assert.True(SpinWait.SpinUntil(() => guest.Network.UdpFlowCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void FragmentedDatagramFromTheGuestIsReassembled()
    {
        using Socket server = LoopbackUdp();
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var guest = new TestGuest();
        guest.ResolveGateway();

        byte[] data = Enumerable.Range(0, 3000).Select(i => (byte)(i * 3)).ToArray();
        byte[] udp = Wire.Udp(TestGuest.GuestIp, TestGuest.GatewayIp, 6000, port, data);
        // Three fragments, sent last first; offsets in 8-byte units.
        (int Offset, int Length)[] parts = [(2400, udp.Length - 2400), (0, 1200), (1200, 1200)];
        foreach ((int offset, int length) in parts)
        {
            bool more = offset + length < udp.Length;
            int flags = (more ? 0x2000 : 0) | (offset / 8);
            guest.Send(Wire.Ethernet(guest.GatewayMac, Wire.GuestMac, 0x0800,
                Wire.Ipv4(TestGuest.GuestIp, TestGuest.GatewayIp, 17, udp[offset..(offset + length)], id: 99, flagsAndOffset: flags)));
        }

        var buffer = new byte[8192];
        int n = server.Receive(buffer);
        Assert.Equal(data, buffer[..n]);
    }

    [Fact]
    public void DnsQueriesAreRelayedToTheResolverWithTheGuestsIdRestored()
    {
        using Socket resolver = LoopbackUdp();
        using var guest = new TestGuest(new UserNetworkOptions { DnsServers = [(IPEndPoint)resolver.LocalEndPoint!] });
        guest.ResolveGateway();

        // A query for example.com A with ID 0x1234.
        byte[] query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, .. "example"u8, 3, .. "com"u8, 0, 0, 1, 0, 1];
        guest.SendUdp(TestGuest.DnsIp, 33333, 53, query);

        var buffer = new byte[512];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = resolver.ReceiveFrom(buffer, ref from);
        byte[] relayed = buffer[..n];
        Assert.Equal(query[2..], relayed[2..]); // the question, untouched

        byte[] answer = [relayed[0], relayed[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, .. relayed[12..],
            0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34];
        resolver.SendTo(answer, from);

        ParsedFrame reply = guest.Expect(f => f.IsUdp && f.DestinationPort == 33333);
        Assert.Equal(TestGuest.DnsIp, reply.SourceIp);
        Assert.Equal(53, reply.SourcePort);
        Assert.Equal([0x12, 0x34], reply.Data[..2]);
        Assert.Equal(answer[2..], reply.Data[2..]);
    }

    [Fact]
    public void DnsOverTcpToTheVirtualServerReachesTheResolver()
    {
        using var resolver = new LoopbackServer();
        using var guest = new TestGuest(new UserNetworkOptions { DnsServers = [new IPEndPoint(IPAddress.Loopback, resolver.Port)] });
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.DnsIp, 53, 40300);
        tcp.Connect();
        using Socket host = resolver.Accept();

        byte[] query = [0, 12, 0x43, 0x21, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        tcp.SendData(query);
        Assert.Equal(query, LoopbackServer.ReadExactly(host, query.Length));

        // Any other port of the DNS address is closed.
        guest.SendTcp(TestGuest.DnsIp, 40301, 80, 1, 0, Wire.Syn, 65535);
        Assert.True(guest.Expect(f => f.IsTcp && f.DestinationPort == 40301).Has(Wire.Rst));
    }

    [Fact]
    public void AnswersFromStrangersAndResponsesFromTheGuestAreIgnored()
    {
        using Socket resolver = LoopbackUdp();
        using var guest = new TestGuest(new UserNetworkOptions { DnsServers = [(IPEndPoint)resolver.LocalEndPoint!] });
        guest.ResolveGateway();

        byte[] response = [0x00, 0x01, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        guest.SendUdp(TestGuest.DnsIp, 33334, 53, response); // QR set: not a query
        guest.SendUdp(TestGuest.DnsIp, 33334, 53, [1, 2, 3]); // shorter than a header
        byte[] query = [0x00, 0x02, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        guest.SendUdp(TestGuest.DnsIp, 33334, 53, query);

        var buffer = new byte[512];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = resolver.ReceiveFrom(buffer, ref from);
        Assert.Equal(query[2..], buffer[2..n]); // only the real query arrived
    }

    /// <summary>Collects IPv4 fragments of one UDP datagram to the guest and returns its data.</summary>
    private static byte[] ReassembleUdpData(TestGuest guest)
    {
        var pieces = new SortedDictionary<int, byte[]>();
        int total = -1;
        int id = -1;
        while (total < 0 || pieces.Values.Sum(p => p.Length) < total)
        {
            ParsedFrame f = guest.Expect(f => f.EtherType == 0x0800 && f.Protocol == 17 && (f.FlagsAndOffset & 0x3FFF) != 0 && (id < 0 || f.IpId == id));
            id = f.IpId;
            int offset = (f.FlagsAndOffset & 0x1FFF) * 8;
            pieces[offset] = f.IpPayload;
            if ((f.FlagsAndOffset & 0x2000) == 0)
            {
                total = offset + f.IpPayload.Length;
            }
        }

        byte[] udp = pieces.Values.SelectMany(p => p).ToArray();
        Assert.Equal(0, Wire.Checksum(udp, Wire.PseudoSum(TestGuest.GatewayIp, TestGuest.GuestIp, 17, udp.Length)));
        return udp[8..];
    }
}
