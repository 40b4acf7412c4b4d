using System.Net;
using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;
using Vessel.Network.User;

namespace Vessel.Network.Tests.User;

public sealed class PortForwardTests
{
    private static UserNetworkOptions Forward(string rule) =>
        new() { PortForwards = [NetworkOptionsTestAccess.ParseForward(rule)] };

    [Fact]
    public void HostClientsReachTheGuestThroughAForwardedPort()
    {
        using var guest = new TestGuest(Forward("tcp:127.0.0.1:0-:8080"));
        guest.ResolveGateway(); // the NAT learns the guest's MAC and address
        IPEndPoint forwarded = guest.Network.ForwardedEndPoints[0];

        for (int client = 0; client < 3; client++)
        {
            using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 15000 };
            host.Connect(forwarded);

            ParsedFrame syn = guest.Expect(f => f.IsTcp && f.DestinationPort == 8080 && f.Has(Wire.Syn));
            Assert.False(syn.Has(Wire.Ack));
            Assert.Equal(TestGuest.GatewayIp, syn.SourceIp);
            Assert.Equal(TestGuest.GuestIp, syn.DestinationIp);
            Assert.Equal(1460, syn.SynOptions().Mss);

            var tcp = new GuestTcp(guest, TestGuest.GatewayIp, syn.SourcePort, 8080) { Rcv = syn.Seq + 1 };
            guest.SendTcp(TestGuest.GatewayIp, 8080, syn.SourcePort, tcp.Snd, tcp.Rcv, Wire.Syn | Wire.Ack, 65535, null, [2, 4, 0x05, 0xB4]);
            tcp.Snd++;
            ParsedFrame ack = guest.Expect(f => tcp.Matches(f) && f.Has(Wire.Ack));
            Assert.Equal(tcp.Snd, ack.AckNumber);

            byte[] request = System.Text.Encoding.ASCII.GetBytes($"GET /{client} HTTP/1.0\r\n\r\n");
            host.Send(request);
            Assert.Equal(request, tcp.Receive(request.Length));

            byte[] response = Enumerable.Range(0, 10000).Select(i => (byte)(i + client)).ToArray();
            tcp.SendData(response);
            tcp.SendFin();
            Assert.Equal(response, LoopbackServer.ReadExactly(host, response.Length));
            Assert.Equal(0, host.Receive(new byte[1]));
            host.Shutdown(SocketShutdown.Send);
            tcp.ExpectFin();
        }
    }

    [Theory]
    [InlineData("tcp::0-:8080", "127.0.0.1")]
    [InlineData("tcp:127.0.0.1:0-:8080", "127.0.0.1")]
    [InlineData("tcp:0.0.0.0:0-:8080", "0.0.0.0")]
    [InlineData("udp::0-:53", "127.0.0.1")]
    [InlineData("udp:0.0.0.0:0-:53", "0.0.0.0")]
    public void AForwardListensOnLoopbackUnlessGivenAHostAddress(string rule, string listening)
    {
        using var guest = new TestGuest(Forward(rule));
        IPEndPoint forwarded = guest.Network.ForwardedEndPoints[0];
        Assert.Equal(IPAddress.Parse(listening), forwarded.Address);
        Assert.NotEqual(0, forwarded.Port);

        // Either way the forward is reachable from this host, through loopback.
        if (rule.StartsWith("tcp", StringComparison.Ordinal))
        {
            guest.ResolveGateway(); // the NAT learns the guest's MAC and address
            using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            host.Connect(new IPEndPoint(IPAddress.Loopback, forwarded.Port));
            guest.Expect(f => f.IsTcp && f.DestinationPort == 8080 && f.Has(Wire.Syn));
        }
    }

    [Fact]
    public void AGuestThatHasNotSpokenYetIsFoundByArp()
    {
        using var guest = new TestGuest(Forward("tcp:127.0.0.1:0-:8080"));
        using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        host.Connect(guest.Network.ForwardedEndPoints[0]);

        ParsedFrame request = guest.Expect(f => f.EtherType == 0x0806 && f.ArpOperation == 1);
        Assert.Equal(TestGuest.GuestIp, request.ArpTargetIp);
        Assert.Equal(TestGuest.GatewayIp, request.ArpSenderIp);

        // The guest answers; the retransmitted SYN then goes to its MAC.
        byte[] reply = new byte[28];
        Wire.Put16(reply, 0, 1);
        Wire.Put16(reply, 2, 0x0800);
        reply[4] = 6;
        reply[5] = 4;
        Wire.Put16(reply, 6, 2);
        Wire.GuestMac.CopyTo(reply, 8);
        TestGuest.GuestIp.CopyTo(reply, 14);
        request.ArpSenderMac.CopyTo(reply, 18);
        TestGuest.GatewayIp.CopyTo(reply, 24);
        guest.Send(Wire.Ethernet(request.ArpSenderMac, Wire.GuestMac, 0x0806, reply));

        ParsedFrame syn = guest.Expect(f => f.IsTcp && f.Has(Wire.Syn) && f.Destination.SequenceEqual(Wire.GuestMac));
        Assert.Equal(8080, syn.DestinationPort);
    }

    [Fact]
    public void GuestRefusingAForwardedConnectionResetsTheHostClient()
    {
        using var guest = new TestGuest(Forward("tcp::0-10.0.2.15:22"));
        guest.ResolveGateway();
        using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 15000 };
        host.Connect(guest.Network.ForwardedEndPoints[0]);

        ParsedFrame syn = guest.Expect(f => f.IsTcp && f.DestinationPort == 22 && f.Has(Wire.Syn));
        guest.SendTcp(TestGuest.GatewayIp, 22, syn.SourcePort, 0, syn.Seq + 1, Wire.Rst | Wire.Ack, 0);

        var error = Assert.Throws<SocketException>(() => host.Receive(new byte[1]));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public void ABusyHostPortIsReportedInOneSentence()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;

        var error = Assert.Throws<NetworkBackendException>(() => new UserNetwork(Forward($"tcp:127.0.0.1:{port}-:80")));
        Assert.StartsWith($"host TCP port {port} is already in use", error.Message);
    }

    [Fact]
    public void UdpForwardCarriesDatagramsBothWays()
    {
        using var guest = new TestGuest(Forward("udp:127.0.0.1:0-:5353"));
        guest.ResolveGateway();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 15000 };
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        client.SendTo("ping"u8.ToArray(), guest.Network.ForwardedEndPoints[0]);
        ParsedFrame datagram = guest.Expect(f => f.IsUdp && f.DestinationPort == 5353);
        Assert.Equal("ping"u8.ToArray(), datagram.Data);
        Assert.Equal(TestGuest.GatewayIp, datagram.SourceIp);

        guest.SendUdp(TestGuest.GatewayIp, 5353, datagram.SourcePort, "pong"u8.ToArray());
        var buffer = new byte[16];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = client.ReceiveFrom(buffer, ref from);
        Assert.Equal("pong", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(guest.Network.ForwardedEndPoints[0], from);
    }
}

/// <summary>Reaches the option parser's hostfwd reader, as the CLI would through NetworkOptions.Parse.</summary>
internal static class NetworkOptionsTestAccess
{
    public static PortForward ParseForward(string rule) =>
        ((UserNetworkOptions)NetworkOptions.Parse("user,hostfwd=" + rule)).PortForwards[0];
}
