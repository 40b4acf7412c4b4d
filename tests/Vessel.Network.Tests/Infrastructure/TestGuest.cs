using System.Collections.Concurrent;
using Vessel.Network.User;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>
/// A scripted guest on a <see cref="UserNetwork"/>: sends hand-made frames and waits for the
/// frames the NAT sends back. Frames not matched by one expectation stay for later ones.
/// Internal errors of the stack fail the test at dispose.
/// </summary>
public sealed class TestGuest : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static readonly byte[] GuestIp = Wire.Ip("10.0.2.15");
    public static readonly byte[] GatewayIp = Wire.Ip("10.0.2.2");
    public static readonly byte[] DnsIp = Wire.Ip("10.0.2.3");

    private readonly List<ParsedFrame> _backlog = [];
    private readonly ConcurrentQueue<Exception> _errors = new();

    public TestGuest(UserNetworkOptions? options = null)
    {
        Network = new UserNetwork(options);
        Network.UnhandledException = _errors.Enqueue;
        Network.Attach(Collector);
        Network.Start();
    }

    public UserNetwork Network { get; }

    public FrameCollector Collector { get; } = new();

    /// <summary>The gateway's MAC as learned by ARP (see <see cref="ResolveGateway"/>).</summary>
    public byte[] GatewayMac { get; private set; } = Wire.Broadcast;

    public void Send(byte[] frame) => Network.Send(frame);

    public void SendIp(byte[] dstIp, byte protocol, byte[] payload, byte[]? srcIp = null) =>
        Send(Wire.Ethernet(GatewayMac, Wire.GuestMac, 0x0800, Wire.Ipv4(srcIp ?? GuestIp, dstIp, protocol, payload)));

    public void SendTcp(byte[] dstIp, int srcPort, int dstPort, uint seq, uint ack, byte flags, int window, byte[]? data = null, byte[]? options = null) =>
        SendIp(dstIp, 6, Wire.Tcp(GuestIp, dstIp, srcPort, dstPort, seq, ack, flags, window, data, options));

    public void SendUdp(byte[] dstIp, int srcPort, int dstPort, byte[] data, byte[]? srcIp = null) =>
        SendIp(dstIp, 17, Wire.Udp(srcIp ?? GuestIp, dstIp, srcPort, dstPort, data), srcIp);

    /// <summary>ARP for the gateway, retrying as a real guest does (a request may meet a full input queue).</summary>
    public byte[] ResolveGateway()
    {
        for (int attempt = 0; attempt < 15; attempt++)
        {
            Send(Wire.ArpRequest(Wire.GuestMac, GuestIp, GatewayIp));
            if (TryExpect(f => f.EtherType == 0x0806 && f.ArpOperation == 2, TimeSpan.FromSeconds(1)) is { } reply)
            {
                GatewayMac = reply.ArpSenderMac;
                return GatewayMac;
            }
        }

        Assert.Fail("no ARP reply for the gateway");
        return [];
    }

    public ParsedFrame Expect(Func<ParsedFrame, bool> match, TimeSpan? timeout = null)
    {
        ParsedFrame? frame = TryExpect(match, timeout ?? Timeout);
        Assert.True(frame is not null, "the expected frame did not come");
        return frame!;
    }

    public ParsedFrame? TryExpect(Func<ParsedFrame, bool> match, TimeSpan timeout)
    {
        for (int i = 0; i < _backlog.Count; i++)
        {
            if (match(_backlog[i]))
            {
                ParsedFrame found = _backlog[i];
                _backlog.RemoveAt(i);
                return found;
            }
        }

        DateTime end = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan left = end - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            byte[]? raw = Collector.Next(left);
            if (raw is null)
            {
                return null;
            }

            var frame = new ParsedFrame(raw);
            if (match(frame))
            {
                return frame;
            }

            _backlog.Add(frame);
        }
    }

    /// <summary>Drops backlog frames that match (e.g. old segments of a connection).</summary>
    public void Discard(Func<ParsedFrame, bool> match) => _backlog.RemoveAll(f => match(f));

    public void Dispose()
    {
        Network.Dispose();
        Assert.True(_errors.IsEmpty, "the stack reported internal errors: " + string.Join("; ", _errors));
    }
}
