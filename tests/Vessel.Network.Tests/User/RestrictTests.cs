using System.Net;
using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class RestrictTests
{
    [Fact]
    public void RestrictedGuestReachesNothingButPortForwardsStillWork()
    {
        using var server = new LoopbackServer();
        using var udpServer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 500 };
        udpServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = (UserNetworkOptions)NetworkOptions.Parse("user,restrict=on,hostfwd=tcp:127.0.0.1:0-:8080");
        Assert.True(options.Restrict);
        using var guest = new TestGuest(options with { DnsServers = [(IPEndPoint)udpServer.LocalEndPoint!] });
        guest.ResolveGateway();

        // Out: refused, dropped, not relayed.
        guest.SendTcp(TestGuest.GatewayIp, 40400, server.Port, 1, 0, Wire.Syn, 65535);
        Assert.True(guest.Expect(f => f.IsTcp && f.DestinationPort == 40400).Has(Wire.Rst));
        guest.SendUdp(TestGuest.GatewayIp, 40401, ((IPEndPoint)udpServer.LocalEndPoint!).Port, [1, 2, 3]);
        guest.SendUdp(TestGuest.DnsIp, 40402, 53, [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Throws<SocketException>(() => udpServer.Receive(new byte[64]));

        // In: a forwarded connection still reaches the guest.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(guest.Network.ForwardedEndPoints[0]);
        Assert.True(guest.Expect(f => f.IsTcp && f.DestinationPort == 8080).Has(Wire.Syn));

        // And the gateway still answers pings.
        guest.SendIp(TestGuest.GatewayIp, 1, Wire.IcmpEcho(3, 4, [5]));
        Assert.Equal(4, guest.Expect(f => f.Protocol == 1).IcmpSeq);
    }
}
