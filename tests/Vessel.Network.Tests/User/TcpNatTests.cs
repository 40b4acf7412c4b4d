using System.Net.Sockets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class TcpNatTests
{
    private static byte[] Pattern(int length, int seed = 0) => Enumerable.Range(0, length).Select(i => (byte)((i * 7) + seed)).ToArray();

    [Fact]
    public void HandshakeDataBothWaysAndCloseFromTheGuest()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40000);

        ParsedFrame synAck = tcp.Connect();
        Assert.Equal(1460, synAck.SynOptions().Mss);
        Assert.Equal(-1, synAck.SynOptions().Scale); // not offered by the guest: not used
        using Socket host = server.Accept();

        byte[] up = Pattern(5000);
        tcp.SendData(up);
        Assert.Equal(up, LoopbackServer.ReadExactly(host, up.Length));

        byte[] down = Pattern(20000, 3);
        host.Send(down);
        Assert.Equal(down, tcp.Receive(down.Length));

        tcp.SendFin();
        Assert.Equal(0, host.Receive(new byte[1])); // the guest's FIN became the host's EOF
        host.Shutdown(SocketShutdown.Send);
        tcp.ExpectFin();

        Assert.True(SpinWait.SpinUntil(() => guest.Network.TcpConnectionCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void HostCloseFirstIsAHalfCloseTheGuestCanStillSendOn()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest(new UserNetworkOptions { TcpTimeWait = TimeSpan.FromMilliseconds(200) });
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40001);
        tcp.Connect();
        using Socket host = server.Accept();

        host.Send("bye"u8.ToArray());
        host.Shutdown(SocketShutdown.Send);
        Assert.Equal("bye"u8.ToArray(), tcp.Receive(3));
        tcp.ExpectFin();

        byte[] late = Pattern(3000);
        tcp.SendData(late);
        Assert.Equal(late, LoopbackServer.ReadExactly(host, late.Length));
        tcp.SendFin();
        Assert.Equal(0, host.Receive(new byte[1]));
        guest.Expect(f => tcp.Matches(f) && f.AckNumber == tcp.Snd);

        // TIME_WAIT ends and the connection is forgotten.
        Assert.True(SpinWait.SpinUntil(() => guest.Network.TcpConnectionCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void WindowScalingIsUsedWhenTheGuestOffersIt()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40002);

        ParsedFrame synAck = tcp.Connect(windowScale: 2);
        int scale = synAck.SynOptions().Scale;
        Assert.InRange(scale, 1, 14); // a 256 KiB buffer needs a shift
        using Socket host = server.Accept();

        // Window 1000 with scale 2 means 4000 bytes: the NAT may send 4000 but not more.
        tcp.Window = 1000;
        tcp.SendAck();
        host.Send(Pattern(10000));
        int inFlight = 0;
        while (guest.TryExpect(f => tcp.Matches(f) && f.Data.Length > 0, TimeSpan.FromMilliseconds(500)) is { } f)
        {
            inFlight += f.Data.Length;
        }

        // More than the unscaled 1000 bytes proves the shift is applied; never beyond 4000.
        Assert.InRange(inFlight, 1001, 4000);
    }

    [Fact]
    public void ConnectionToAClosedHostPortIsReset()
    {
        using var guest = new TestGuest();
        guest.ResolveGateway();
        int port = LoopbackServer.UnusedPort();
        guest.SendTcp(TestGuest.GatewayIp, 40003, port, 5000, 0, Wire.Syn, 65535);

        ParsedFrame rst = guest.Expect(f => f.IsTcp && f.DestinationPort == 40003);
        Assert.True(rst.Has(Wire.Rst | Wire.Ack));
        Assert.Equal(5001u, rst.AckNumber);
    }

    [Fact]
    public void UnacknowledgedDataIsRetransmittedAfterTheTimeout()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40004);
        tcp.Connect();
        using Socket host = server.Accept();

        host.Send(Pattern(100));
        ParsedFrame first = guest.Expect(f => tcp.Matches(f) && f.Data.Length > 0);
        // "Lose" it: no ACK. The same bytes come again once the RTO expires.
        ParsedFrame again = guest.Expect(f => tcp.Matches(f) && f.Data.Length > 0);

        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(first.Data, again.Data);
        tcp.Rcv = again.Seq + (uint)again.Data.Length;
        tcp.SendAck();
        Assert.Null(guest.TryExpect(f => tcp.Matches(f) && f.Data.Length > 0, TimeSpan.FromMilliseconds(1500)));
    }

    [Fact]
    public void LostMiddleSegmentIsRetransmittedAfterDuplicateAcks()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40005);
        tcp.Connect();
        using Socket host = server.Accept();

        byte[] down = Pattern(1460 * 6);
        host.Send(down);
        var segments = new List<ParsedFrame>();
        while (segments.Sum(s => s.Data.Length) < down.Length)
        {
            segments.Add(guest.Expect(f => tcp.Matches(f) && f.Data.Length > 0));
        }

        // The guest got the first segment, "lost" the second, and acknowledges the first for
        // each of the later ones: duplicate ACKs.
        tcp.Rcv = segments[0].Seq + (uint)segments[0].Data.Length;
        for (int i = 0; i < 4; i++)
        {
            tcp.SendAck();
        }

        ParsedFrame resent = guest.Expect(f => tcp.Matches(f) && f.Data.Length > 0 && f.Seq == segments[1].Seq, TimeSpan.FromMilliseconds(900));
        Assert.Equal(segments[1].Data, resent.Data);
    }

    [Fact]
    public void ZeroWindowStopsTheSenderWhichProbesAndResumes()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40006);
        tcp.Connect();
        using Socket host = server.Accept();

        tcp.SendAck(window: 0);
        byte[] down = Pattern(3000);
        host.Send(down);

        // No data while the window is closed, but a probe: an old sequence number, no data.
        ParsedFrame probe = guest.Expect(f => tcp.Matches(f), TimeSpan.FromSeconds(10));
        Assert.Empty(probe.Data);
        Assert.Equal(tcp.Rcv - 1, probe.Seq);

        tcp.SendAck(window: 65535);
        Assert.Equal(down, tcp.Receive(down.Length));
    }

    [Fact]
    public void AGuestThatDoesNotReadStopsTheNatReadingTheHostSocket()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest(new UserNetworkOptions { TcpBufferSize = 64 * 1024 });
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40014);
        tcp.Connect();
        using Socket host = server.Accept();

        // The guest acknowledges nothing: the host can fill the socket buffers and the NAT's
        // 64 KiB, and then its sends must stop being taken.
        host.Blocking = false;
        var chunk = new byte[64 * 1024];
        long accepted = 0;
        DateTime end = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < end && accepted < 256L * 1024 * 1024)
        {
            int n = host.Send(chunk, 0, chunk.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                Thread.Sleep(10);
                continue;
            }

            accepted += n;
        }

        Assert.InRange(accepted, 64 * 1024, 64L * 1024 * 1024); // kernel buffers plus the NAT's ring, not unbounded

        // What the guest got is the start of the stream, no more than its window allowed.
        ParsedFrame first = guest.Expect(f => tcp.Matches(f) && f.Data.Length > 0);
        Assert.Equal(tcp.Rcv, first.Seq);
    }

    [Fact]
    public void OutOfOrderSegmentsFromTheGuestAreBufferedAndDeliveredInOrder()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40007);
        tcp.Connect();
        using Socket host = server.Accept();

        byte[] a = Pattern(700, 1), b = Pattern(800, 2), c = Pattern(900, 3);
        uint start = tcp.Snd;
        guest.SendTcp(TestGuest.GatewayIp, 40007, server.Port, start + 700 + 800, tcp.Rcv, Wire.Ack, 65535, c);
        guest.SendTcp(TestGuest.GatewayIp, 40007, server.Port, start + 700, tcp.Rcv, Wire.Ack, 65535, b);

        // Both ahead of a gap: the NAT acknowledges only what is in order (duplicate ACKs).
        ParsedFrame dupAck = guest.Expect(f => tcp.Matches(f) && f.Has(Wire.Ack));
        Assert.Equal(start, dupAck.AckNumber);

        guest.SendTcp(TestGuest.GatewayIp, 40007, server.Port, start, tcp.Rcv, Wire.Ack, 65535, a);
        guest.Expect(f => tcp.Matches(f) && f.AckNumber == start + 2400);
        Assert.Equal([.. a, .. b, .. c], LoopbackServer.ReadExactly(host, 2400));
    }

    [Fact]
    public void WithSackTheDuplicateAcksSayWhatArrived()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40012);
        Assert.True(tcp.Connect(sack: true).Sack().Permitted);
        using Socket host = server.Accept();

        uint start = tcp.Snd;
        guest.SendTcp(TestGuest.GatewayIp, 40012, server.Port, start + 1000, tcp.Rcv, Wire.Ack, 65535, Pattern(500));
        ParsedFrame first = guest.Expect(f => tcp.Matches(f) && f.AckNumber == start);
        Assert.Equal([(start + 1000, start + 1500)], first.Sack().Blocks);

        guest.SendTcp(TestGuest.GatewayIp, 40012, server.Port, start + 2000, tcp.Rcv, Wire.Ack, 65535, Pattern(500));
        ParsedFrame second = guest.Expect(f => tcp.Matches(f) && f.AckNumber == start);
        Assert.Equal([(start + 2000, start + 2500), (start + 1000, start + 1500)], second.Sack().Blocks); // latest first

        guest.SendTcp(TestGuest.GatewayIp, 40012, server.Port, start, tcp.Rcv, Wire.Ack, 65535, Pattern(1000));
        ParsedFrame third = guest.Expect(f => tcp.Matches(f) && f.AckNumber == start + 1500);
        Assert.Equal([(start + 2000, start + 2500)], third.Sack().Blocks);
    }

    [Fact]
    public void WithoutSackPermittedNoSackIsSent()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40013);
        Assert.False(tcp.Connect().Sack().Permitted);
        using Socket host = server.Accept();

        guest.SendTcp(TestGuest.GatewayIp, 40013, server.Port, tcp.Snd + 1000, tcp.Rcv, Wire.Ack, 65535, Pattern(500));
        ParsedFrame dupAck = guest.Expect(f => tcp.Matches(f) && f.AckNumber == tcp.Snd);
        Assert.Empty(dupAck.Sack().Blocks);
    }

    [Fact]
    public void ResetFromTheGuestResetsTheHostConnection()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40008);
        tcp.Connect();
        using Socket host = server.Accept();

        guest.SendTcp(TestGuest.GatewayIp, 40008, server.Port, tcp.Snd, tcp.Rcv, Wire.Rst | Wire.Ack, 0);

        var error = Assert.Throws<SocketException>(() => host.Receive(new byte[16]));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        Assert.True(SpinWait.SpinUntil(() => guest.Network.TcpConnectionCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void ResetWithAWrongSequenceNumberIsChallengedNotObeyed()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40009);
        tcp.Connect();
        using Socket host = server.Accept();

        guest.SendTcp(TestGuest.GatewayIp, 40009, server.Port, tcp.Snd + 100, tcp.Rcv, Wire.Rst, 0);
        ParsedFrame challenge = guest.Expect(f => tcp.Matches(f));
        Assert.True(challenge.Has(Wire.Ack));
        Assert.Equal(tcp.Snd, challenge.AckNumber);

        byte[] data = Pattern(10);
        tcp.SendData(data);
        Assert.Equal(data, LoopbackServer.ReadExactly(host, 10));
    }

    [Fact]
    public void ResetFromTheHostResetsTheGuestConnection()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40010);
        tcp.Connect();
        Socket host = server.Accept();

        host.LingerState = new LingerOption(true, 0);
        host.Dispose();

        ParsedFrame rst = guest.Expect(f => tcp.Matches(f) && f.Has(Wire.Rst));
        Assert.Equal(tcp.Rcv, rst.Seq);
        Assert.True(SpinWait.SpinUntil(() => guest.Network.TcpConnectionCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void ManyConnectionsAtOnceEachCarryTheirOwnData()
    {
        const int count = 40;
        using var server = new LoopbackServer();
        using var guest = new TestGuest();
        guest.ResolveGateway();
        var connections = Enumerable.Range(0, count).Select(i => new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 41000 + i)).ToList();
        foreach (GuestTcp c in connections)
        {
            c.Connect();
        }

        var hosts = Enumerable.Range(0, count).Select(_ => server.Accept()).ToList();
        for (int i = 0; i < count; i++)
        {
            connections[i].SendData(Pattern(1500, i));
        }

        // Each host socket carries exactly one guest's data (told apart by its pattern): echo
        // it back reversed.
        var seeds = new HashSet<int>();
        foreach (Socket host in hosts)
        {
            byte[] data = LoopbackServer.ReadExactly(host, 1500);
            Assert.True(seeds.Add(Enumerable.Range(0, count).Single(s => Pattern(1500, s).SequenceEqual(data))));
            host.Send(data.Reverse().ToArray());
        }

        for (int i = 0; i < count; i++)
        {
            Assert.Equal(Pattern(1500, i).Reverse().ToArray(), connections[i].Receive(1500));
        }

        Assert.Equal(count, guest.Network.TcpConnectionCount);
        hosts.ForEach(h => h.Dispose());
    }

    [Fact]
    public void ConnectionsBeyondTheLimitAreRefusedWithReset()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest(new UserNetworkOptions { MaxTcpConnections = 3 });
        guest.ResolveGateway();
        for (int i = 0; i < 3; i++)
        {
            new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 42000 + i).Connect();
        }

        // A SYN flood beyond the limit: every SYN is refused, the table does not grow.
        for (int i = 0; i < 200; i++)
        {
            guest.SendTcp(TestGuest.GatewayIp, 43000 + i, server.Port, 1, 0, Wire.Syn, 65535);
        }

        for (int i = 0; i < 200; i++)
        {
            ParsedFrame rst = guest.Expect(f => f.IsTcp && f.DestinationPort >= 43000 && f.Has(Wire.Rst));
            Assert.Equal(2u, rst.AckNumber);
        }

        Assert.Equal(3, guest.Network.TcpConnectionCount);
    }

    [Fact]
    public void SlowHostReaderClosesTheGuestsWindowAndReopensIt()
    {
        using var server = new LoopbackServer();
        using var guest = new TestGuest(new UserNetworkOptions { TcpBufferSize = 16 * 1024 });
        guest.ResolveGateway();
        var tcp = new GuestTcp(guest, TestGuest.GatewayIp, server.Port, 40011);
        tcp.Connect();
        using Socket host = server.Accept();

        // Send as the advertised window allows until the NAT closes it (the host reads nothing).
        uint acked = tcp.Snd;
        int window = 16 * 1024;
        long sent = 0;
        bool closed = false;
        while (!closed && sent < 64L * 1024 * 1024)
        {
            while (tcp.Snd - acked < window)
            {
                int length = (int)Math.Min(1460, window - (tcp.Snd - acked));
                tcp.SendData(Pattern(length, (int)sent), segment: 1460);
                sent += length;
            }

            ParsedFrame ack = guest.Expect(f => tcp.Matches(f) && f.Has(Wire.Ack));
            acked = SequenceAfter(acked, ack.AckNumber);
            window = ack.Window;
            closed = ack.Window == 0 && ack.AckNumber == tcp.Snd;
        }

        Assert.True(closed, "the NAT never closed its window");
        // The host now drains everything: the window opens again and every byte arrived.
        var buffer = new byte[65536];
        long received = 0;
        while (received < sent)
        {
            received += host.Receive(buffer);
        }

        ParsedFrame update = guest.Expect(f => tcp.Matches(f) && f.Window > 0);
        Assert.Equal(tcp.Snd, update.AckNumber);
    }

    private static uint SequenceAfter(uint a, uint b) => (int)(b - a) > 0 ? b : a;
}
