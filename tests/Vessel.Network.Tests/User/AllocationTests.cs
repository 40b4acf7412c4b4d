using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class AllocationTests
{
    [Fact]
    public void SteadyTcpTrafficAllocatesNothingPerPacketOnTheNatThread()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40200);
        tcp.Connect();
        using Socket host = server.Accept();
        byte[] chunk = Enumerable.Range(0, 64 * 1024).Select(i => (byte)i).ToArray();

        void Exchange(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                tcp.SendData(chunk, segment: 1460);
                LoopbackServer.ReadExactly(host, chunk.Length);
                host.Send(chunk);
                tcp.Receive(chunk.Length);
            }
        }

        Exchange(4); // warm up: pools fill, code is compiled, buffers are rented
        Thread.Sleep(100);
        long before = guest.Network.LoopAllocatedBytes - guest.Collector.AllocatedBytes;
        Exchange(16); // 1 MiB each way, about 1,500 segments in all directions
        Thread.Sleep(100);
        long allocated = guest.Network.LoopAllocatedBytes - guest.Collector.AllocatedBytes - before;

        Assert.True(allocated < 16 * 1024, $"the NAT thread allocated {allocated} bytes for 2 MiB of traffic");
    }
}
