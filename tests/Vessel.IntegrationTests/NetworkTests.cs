using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// virtio-net with the built-in user-mode NAT seen from a real Linux guest: DHCP, connections
/// to the host, port forwarding into the guest, large transfers both ways, and two VMs on a
/// virtual switch.
/// </summary>
public sealed class NetworkTests
{
    private const int SixteenMiB = 16 * 1024 * 1024;

    private static VesselProcess StartWithNetwork(string net)
    {
        // Quiet: the kernel's link messages would otherwise land in the middle of command output.
        VesselProcess vm = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--net", net);
        vm.WaitFor(ReferenceGuest.Prompt);
        string lease = vm.RunCommand("udhcpc -i eth0 -n -q 2>&1 | tail -1");
        Assert.Contains("lease of 10.0.2.15 obtained", lease);
        return vm;
    }

    [Fact]
    public async Task GuestGetsALeaseAndFetchesAPageFromTheHost()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        (int port, Task serve) = ServeOnePage(server, "hello from the host\n");

        using VesselProcess vm = StartWithNetwork("user");
        Assert.Contains("inet 10.0.2.15/24", vm.RunCommand("ip addr show eth0"));
        Assert.Contains("default via 10.0.2.2", vm.RunCommand("ip route"));
        Assert.Contains("nameserver 10.0.2.3", vm.RunCommand("cat /etc/resolv.conf"));
        Assert.Contains("hello from the host", vm.RunCommand($"wget -q -O - http://10.0.2.2:{port}/"));
        await serve.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("1 packets received", vm.RunCommand("ping -c 1 10.0.2.2"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public async Task AVmStartedWithoutNetGetsTheNatAndReachesItsGateway()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        (int port, Task serve) = ServeOnePage(server, "default\n");

        // No --net at all, as in the README's first example.
        using VesselProcess vm = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine);
        vm.WaitFor(ReferenceGuest.Prompt);
        Assert.Contains("lease of 10.0.2.15 obtained", vm.RunCommand("udhcpc -i eth0 -n -q 2>&1 | tail -1"));
        Assert.Contains("1 packets received", vm.RunCommand("ping -c 1 10.0.2.2"));
        Assert.Contains("default", vm.RunCommand($"wget -q -O - http://10.0.2.2:{port}/"));
        await serve.WaitAsync(TimeSpan.FromSeconds(30));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void NetNoneLeavesTheVmWithoutANetworkCard()
    {
        using VesselProcess vm = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--net", "none");
        vm.WaitFor(ReferenceGuest.Prompt);
        Assert.Equal("absent\n", vm.RunCommand("test -e /sys/class/net/eth0 && echo present || echo absent"));
        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public async Task HostReachesAWebServerInTheGuestThroughAPortForward()
    {
        int port = FreeTcpPort();
        using VesselProcess vm = StartWithNetwork($"user,hostfwd=tcp::{port}-:8080");
        vm.RunCommand("mkdir -p /www && echo served-by-the-guest > /www/index.html");
        vm.RunCommand("httpd -p 8080 -h /www");

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        for (int i = 0; i < 3; i++)
        {
            string page = await http.GetStringAsync($"http://127.0.0.1:{port}/index.html");
            Assert.Equal("served-by-the-guest\n", page);
        }

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public async Task SixteenMebibytesCrossTheNatIntactInBothDirections()
    {
        byte[] download = RandomNumberGenerator.GetBytes(SixteenMiB);
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        int port = ((IPEndPoint)server.LocalEndpoint).Port;

        using VesselProcess vm = StartWithNetwork("user");

        // Host to guest: the host sends 16 MiB and closes; the guest hashes what arrives. (BusyBox
        // nc keeps the connection until its stdin ends too, hence the /dev/null.)
        Task send = Task.Run(() =>
        {
            using TcpClient client = server.AcceptTcpClient();
            client.GetStream().Write(download);
        });
        string received = vm.RunCommand($"nc 10.0.2.2 {port} </dev/null | sha256sum");
        await send.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(download)), received);

        // Guest to host: the guest sends 16 MiB of its own random data; both sides hash it.
        vm.RunCommand("head -c 16777216 /dev/urandom > /upload");
        string guestHash = vm.RunCommand("sha256sum /upload")[..64];
        Task<string> receive = Task.Run(() =>
        {
            using TcpClient client = server.AcceptTcpClient();
            using NetworkStream stream = client.GetStream();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[65536];
            long total = 0;
            int read;
            while (total < SixteenMiB && (read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                total += read;
            }

            return total == SixteenMiB ? Convert.ToHexStringLower(hash.GetHashAndReset()) : $"only {total} bytes";
        });
        vm.SendLine($"nc 10.0.2.2 {port} < /upload");
        Assert.Equal(guestHash, await receive.WaitAsync(TimeSpan.FromMinutes(3)));

        vm.Dispose();
    }

    [Fact]
    public void TwoVmsOnAVirtualSwitchTalkToEachOther()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("switch.sock");
        using VesselProcess sw = VesselProcess.Start("switch", socket);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        using VesselProcess first = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--net", $"switch,path={socket},mac=52:54:00:00:00:01");
        using VesselProcess second = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--net", $"switch,path={socket},mac=52:54:00:00:00:02");
        foreach ((VesselProcess vm, string address) in new[] { (first, "192.168.77.1"), (second, "192.168.77.2") })
        {
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand($"ip addr add {address}/24 dev eth0");
            vm.RunCommand("ip link set eth0 up");
        }

        Assert.Contains("3 packets received", first.RunCommand("ping -c 3 192.168.77.2"));

        second.SendLine("echo across-the-switch | nc -l -p 7000");
        Thread.Sleep(2000);
        Assert.Equal("across-the-switch\n", first.RunCommand("nc 192.168.77.2 7000 </dev/null"));

        first.SendLine("poweroff -f");
        second.SendLine("poweroff -f");
        Assert.Equal(0, first.WaitForExit());
        Assert.Equal(0, second.WaitForExit());
    }

    /// <summary>Starts <paramref name="server"/> and answers one HTTP request with <paramref name="body"/>; returns the port.</summary>
    private static (int Port, Task Served) ServeOnePage(TcpListener server, string body)
    {
        server.Start();
        return (((IPEndPoint)server.LocalEndpoint).Port, Task.Run(() => AnswerOne(server, body)));
    }

    private static void AnswerOne(TcpListener server, string body)
    {
        using TcpClient client = server.AcceptTcpClient();
        using NetworkStream stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
        while (reader.ReadLine() is { Length: > 0 })
        {
        }

        byte[] bytes = Encoding.ASCII.GetBytes(body);
        stream.Write(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {bytes.Length}\r\n\r\n"));
        stream.Write(bytes);
    }

    private static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
