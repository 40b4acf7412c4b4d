using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class LinkBackPressureTests
{
    [Fact]
    public async Task WhenTheNicRefusesFramesTheNatHoldsDataAndResumesWithoutLoss()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40100);
        tcp.Connect();
        using Socket host = server.Accept();

        guest.Collector.Refusing = true;
        byte[] down = Enumerable.Range(0, 200_000).Select(i => (byte)(i % 251)).ToArray();
        var send = Task.Run(() => host.Send(down));
        Assert.True(SpinWait.SpinUntil(() => guest.Collector.Refused > 0, TestGuest.Timeout));
        Thread.Sleep(200);
        int refusedWhileBlocked = guest.Collector.Refused;

        guest.Collector.Refusing = false;
        guest.Network.NotifyReceiveSpace();
        Assert.Equal(down, tcp.Receive(down.Length, TimeSpan.FromSeconds(30)));
        await send.WaitAsync(TestGuest.Timeout);

        // While refused, the NAT did not keep offering frames in a busy loop.
        Assert.InRange(refusedWhileBlocked, 1, 50);
    }
}
