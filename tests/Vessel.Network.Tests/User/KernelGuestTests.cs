using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

/// <summary>The NAT against a real Linux TCP/IP stack and BusyBox tools (see <see cref="KernelGuest"/>).</summary>
/// <remarks>Without CAP_NET_ADMIN (or BusyBox) these tests cannot run here, and the runner reports them as skipped.</remarks>
public sealed class KernelGuestTests
{
    private static KernelGuest Create(UserNetworkOptions? options = null, KernelGuest.Impairment? impairment = null)
    {
        Capabilities.SkipUnlessNetAdmin();
        KernelGuest? guest = KernelGuest.TryCreate(options ?? new UserNetworkOptions(), out string reason, impairment);
        Skip.If(guest is null, reason);
        return guest!;
    }

    [SkippableFact]
    public void UdhcpcGetsTheLeaseAndPingReachesTheGateway()
    {
        using KernelGuest guest = Create();

        Dictionary<string, string> lease = guest.Dhcp();
        Assert.Equal("10.0.2.15", lease["ip"]);
        Assert.Equal("255.255.255.0", lease["subnet"]);
        Assert.Equal("24", lease["mask"]);
        Assert.Equal("10.0.2.2", lease["router"]);
        Assert.Equal("10.0.2.3", lease["dns"].Trim());
        Assert.Equal("86400", lease["lease"]);
        Assert.Equal("10.0.2.2", lease["serverid"]);

        (int code, string text) = guest.Namespace.Exec("busybox", "ping -c 2 -W 5 10.0.2.2");
        Assert.True(code == 0, text);
        Assert.Contains("2 packets received", text);
    }

    [SkippableFact]
    public void KernelTcpMovesEightMebibytesEachWayIntact()
    {
        using KernelGuest guest = Create();

        guest.Dhcp();
        const int size = 8 * 1024 * 1024;
        byte[] blob = RandomNumberGenerator.GetBytes(size);
        using var server = new LoopbackServer();

        // Download: the host sends, nc in the guest writes a file.
        string downloaded = Path.Combine(guest.Directory, "down");
        Process nc = guest.Namespace.Start("sh", $"-c \"busybox nc 10.0.2.2 {server.Port} > {downloaded}\"");
        using (Socket host = server.Accept())
        {
            host.Send(blob);
            host.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, host.Receive(new byte[1]));
        }

        Assert.True(nc.WaitForExit(60_000), "nc did not finish the download");
        Assert.Equal(SHA256.HashData(blob), SHA256.HashData(File.ReadAllBytes(downloaded)));

        // Upload: nc in the guest sends a file, the host checks every byte.
        string upload = Path.Combine(guest.Directory, "up");
        File.WriteAllBytes(upload, blob);
        nc = guest.Namespace.Start("sh", $"-c \"busybox nc 10.0.2.2 {server.Port} < {upload}\"");
        using (Socket host = server.Accept())
        {
            host.ReceiveTimeout = 60_000;
            byte[] received = LoopbackServer.ReadExactly(host, size);
            Assert.Equal(SHA256.HashData(blob), SHA256.HashData(received));
        }

        Assert.True(nc.WaitForExit(60_000), "nc did not finish the upload");
        Assert.True(SpinWait.SpinUntil(() => guest.Network.TcpConnectionCount == 0, TimeSpan.FromSeconds(30)));
    }

    [SkippableTheory]
    [InlineData(7)]
    [InlineData(8)]
    public void KernelTcpSurvivesALossyReorderingDuplicatingWire(int seed)
    {
        // 2% of frames lost, 2% delayed behind the next one, 1% doubled, in both directions:
        // both TCP endpoints (Linux's and the NAT's) must retransmit, reorder and discard.
        // (With 6% loss, 5% reordering and 3% duplicates it passes too, in about 20 s.)
        using KernelGuest guest = Create(impairment: new KernelGuest.Impairment(2, 2, 1, seed));

        guest.Dhcp();
        const int size = 2 * 1024 * 1024;
        byte[] blob = RandomNumberGenerator.GetBytes(size);
        using var server = new LoopbackServer();

        string downloaded = Path.Combine(guest.Directory, "down");
        Process nc = guest.Namespace.Start("sh", $"-c \"busybox nc 10.0.2.2 {server.Port} > {downloaded}\"");
        using (Socket host = server.Accept())
        {
            host.Send(blob);
            host.Shutdown(SocketShutdown.Send);
            host.ReceiveTimeout = 60_000;
            Assert.Equal(0, host.Receive(new byte[1]));
        }

        Assert.True(nc.WaitForExit(60_000), "nc did not finish the download");
        Assert.Equal(SHA256.HashData(blob), SHA256.HashData(File.ReadAllBytes(downloaded)));

        string upload = Path.Combine(guest.Directory, "up");
        File.WriteAllBytes(upload, blob);
        nc = guest.Namespace.Start("sh", $"-c \"busybox nc 10.0.2.2 {server.Port} < {upload}\"");
        using (Socket host = server.Accept())
        {
            host.ReceiveTimeout = 60_000;
            Assert.Equal(SHA256.HashData(blob), SHA256.HashData(LoopbackServer.ReadExactly(host, size)));
        }

        Assert.True(nc.WaitForExit(60_000), "nc did not finish the upload");
    }

    [SkippableFact]
    public async Task HostClientsFetchFromABusyBoxHttpdThroughAPortForward()
    {
        using KernelGuest guest = Create((UserNetworkOptions)NetworkOptions.Parse("user,hostfwd=tcp:127.0.0.1:0-:8080"));

        guest.Dhcp();
        string www = Path.Combine(guest.Directory, "www");
        Directory.CreateDirectory(www);
        byte[] blob = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        File.WriteAllBytes(Path.Combine(www, "blob"), blob);
        using Process httpd = guest.Namespace.Start("busybox", $"httpd -f -p 8080 -h {www}");
        try
        {
            IPEndPoint forwarded = guest.Network.ForwardedEndPoints[0];
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var url = new Uri($"http://127.0.0.1:{forwarded.Port}/blob");
            byte[] first = await RetryUntilListening(() => http.GetByteArrayAsync(url));
            Assert.Equal(blob, first);

            byte[][] parallel = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => http.GetByteArrayAsync(url)));
            Assert.All(parallel, body => Assert.Equal(blob, body));
        }
        finally
        {
            httpd.Kill();
        }
    }

    [SkippableFact]
    public void NslookupInTheGuestIsAnsweredThroughTheDnsRelay()
    {
        using var resolver = new FakeDnsServer(IPAddress.Parse("192.0.2.77"));
        using KernelGuest guest = Create(new UserNetworkOptions { DnsServers = [resolver.EndPoint] });

        guest.Dhcp();
        (int code, string text) = guest.Namespace.Exec("busybox", "nslookup -type=a vessel.test 10.0.2.3");
        Assert.True(code == 0, text);
        Assert.Contains("192.0.2.77", text);
        Assert.Contains("vessel.test", resolver.Questions);
    }

    private static async Task<T> RetryUntilListening<T>(Func<Task<T>> request)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await request();
            }
            catch (HttpRequestException) when (attempt < 50)
            {
                await Task.Delay(200); // httpd is still starting: the guest answered with a reset
            }
        }
    }

    /// <summary>A UDP DNS server on loopback that answers every A question with one address.</summary>
    private sealed class FakeDnsServer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly Thread _thread;
        private readonly byte[] _address;

        public FakeDnsServer(IPAddress answer)
        {
            _address = answer.GetAddressBytes();
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

        public List<string> Questions { get; } = [];

        public void Dispose() => _socket.Dispose();

        private void Serve()
        {
            var buffer = new byte[512];
            try
            {
                while (true)
                {
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int n = _socket.ReceiveFrom(buffer, ref from);
                    // Read the one question: labels, then type and class.
                    int i = 12;
                    var labels = new List<string>();
                    while (buffer[i] != 0)
                    {
                        labels.Add(System.Text.Encoding.ASCII.GetString(buffer, i + 1, buffer[i]));
                        i += buffer[i] + 1;
                    }

                    int questionEnd = i + 5;
                    int type = Wire.Get16(buffer, i + 1);
                    lock (Questions)
                    {
                        Questions.Add(string.Join('.', labels));
                    }

                    var reply = new List<byte>(buffer[..questionEnd]);
                    reply[2] = 0x81;
                    reply[3] = 0x80;
                    reply[7] = (byte)(type == 1 ? 1 : 0);
                    if (type == 1)
                    {
                        reply.AddRange([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, .. _address]);
                    }

                    _socket.SendTo(reply.ToArray(), from);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
