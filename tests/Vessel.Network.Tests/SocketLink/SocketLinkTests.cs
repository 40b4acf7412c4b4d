using System.Net;
using System.Net.Sockets;
using Vessel.Network.SocketLink;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.SocketLink;

public sealed class SocketLinkTests
{
    [Fact]
    public void TwoVmsExchangeFramesOverASocketLink()
    {
        var nicA = new FrameCollector();
        var nicB = new FrameCollector();
        using SocketLinkBackend a = SocketLinkBackend.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        a.Attach(nicA);
        a.Start();
        using SocketLinkBackend b = SocketLinkBackend.Connect(a.ListenEndPoint!);
        b.Attach(nicB);
        b.Start();
        Assert.True(SpinWait.SpinUntil(() => a.IsConnected, TestGuest.Timeout));

        var sizes = new[] { 14, 60, 1514, 9000, 65535 + 14 };
        foreach (int size in sizes)
        {
            byte[] frame = Enumerable.Range(0, size).Select(i => (byte)(i ^ size)).ToArray();
            a.Send(frame);
            Assert.Equal(frame, nicB.Next(TestGuest.Timeout));
            b.Send(frame);
            Assert.Equal(frame, nicA.Next(TestGuest.Timeout));
        }

        // Many frames in a burst arrive complete and in order.
        for (int i = 0; i < 2000; i++)
        {
            b.Send(BitConverter.GetBytes(i).Concat(new byte[60]).ToArray());
        }

        for (int i = 0; i < 2000; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32(nicA.Next(TestGuest.Timeout)));
        }
    }

    [Fact]
    public void TheWireFormatIsQemusFourByteBigEndianLength()
    {
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using SocketLinkBackend link = SocketLinkBackend.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var nic = new FrameCollector();
        link.Attach(nic);
        link.Start();
        peer.Connect(link.ListenEndPoint!);
        peer.ReceiveTimeout = 15000;
        Assert.True(SpinWait.SpinUntil(() => link.IsConnected, TestGuest.Timeout));

        link.Send([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        Assert.Equal(new byte[] { 0, 0, 0, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, LoopbackServer.ReadExactly(peer, 19));

        // Two frames in one write, the second split across writes.
        peer.Send([0, 0, 0, 14, .. new byte[14], 0, 0, 0, 16, 9, 9]);
        Assert.Equal(new byte[14], nic.Next(TestGuest.Timeout));
        Thread.Sleep(50);
        peer.Send(new byte[] { 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 });
        Assert.Equal(new byte[] { 9, 9, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 }, nic.Next(TestGuest.Timeout));
    }

    [Fact]
    public void AGuestWithoutReceiveBuffersHoldsTheLinkUntilItHasSome()
    {
        var nicA = new FrameCollector();
        var nicB = new FrameCollector { Refusing = true };
        using SocketLinkBackend a = SocketLinkBackend.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        a.Attach(nicA);
        a.Start();
        using SocketLinkBackend b = SocketLinkBackend.Connect(a.ListenEndPoint!);
        b.Attach(nicB);
        b.Start();
        Assert.True(SpinWait.SpinUntil(() => a.IsConnected, TestGuest.Timeout));

        for (int i = 0; i < 100; i++)
        {
            a.Send(BitConverter.GetBytes(i).Concat(new byte[100]).ToArray());
        }

        Assert.True(SpinWait.SpinUntil(() => nicB.Refused > 0, TestGuest.Timeout));
        nicB.Refusing = false;
        b.NotifyReceiveSpace();
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32(nicB.Next(TestGuest.Timeout)));
        }
    }

    [Fact]
    public void ConnectingToNobodyIsOneClearSentence()
    {
        int port = LoopbackServer.UnusedPort();
        var error = Assert.Throws<NetworkBackendException>(() => SocketLinkBackend.Connect(new IPEndPoint(IPAddress.Loopback, port)));
        Assert.Equal($"cannot connect to 127.0.0.1:{port}: connection refused (is the other VM listening?)", error.Message);
    }

    [Fact]
    public void AfterThePeerLeavesTheListenerAcceptsTheNextOne()
    {
        var nic = new FrameCollector();
        using SocketLinkBackend a = SocketLinkBackend.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        a.Attach(nic);
        a.Start();
        SocketLinkBackend.Connect(a.ListenEndPoint!).Dispose();
        Assert.True(SpinWait.SpinUntil(() => !a.IsConnected, TestGuest.Timeout));

        using SocketLinkBackend b = SocketLinkBackend.Connect(a.ListenEndPoint!);
        b.Start();
        Assert.True(SpinWait.SpinUntil(() => a.IsConnected, TestGuest.Timeout));
        b.Send(new byte[20]);
        Assert.Equal(new byte[20], nic.Next(TestGuest.Timeout));
    }
}
