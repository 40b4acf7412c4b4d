using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.IntegrationTests.Lifecycle;
using Vessel.Testing.Hosts;

namespace Vessel.IntegrationTests.Hosts;

/// <summary>
/// Live migration between two hosts (network namespaces on a bridge), VMM to VMM over the veth
/// link: a guest that counts and appends each count to a file on its disk (a qcow2 in a
/// directory both hosts see) goes on counting on host B without a gap or a repeat, and its file
/// system is clean afterwards. A destination killed in flight and a stream corrupted in flight
/// (a proxy on B flips one byte) both leave the guest running on A. Skipped with the reason
/// where namespaces cannot be made.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class NamespaceMigrationTests
{
    /// <summary>A fixed port is free: host B's namespace is new and holds nothing else.</summary>
    private const int MigrationPort = 4444;

    private const string Loop = "(i=0; while true; do i=$((i+1)); echo C$i; echo C$i >> /counter; sync; sleep 0.2; done) &";

    [SkippableFact]
    public void ACountingGuestMigratesToAnotherHostAndGoesOn()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        string disk = CountingDisk(temp);
        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];

        using VesselProcess source = StartOn(a, disk, temp.File("a.sock"));
        using QmpClient sourceQmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock"));
        source.WaitFor(ReferenceGuest.Prompt);
        source.SendLine(Loop);
        source.WaitFor("C10\r\n");

        using VesselProcess destination = StartOn(b, disk, temp.File("b.sock"), "--incoming", $"tcp:{b.Address}:{MigrationPort}");
        WaitUntilListening(b, MigrationPort);
        sourceQmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:{b.Address}:{MigrationPort}" });
        DeterministicContinuationTests.WaitForMigration(sourceQmp);
        JsonNode info = sourceQmp.Run("query-migrate");
        Assert.True(info["ram"]!["transferred"]!.GetValue<long>() > 0);
        Assert.Equal("postmigrate", sourceQmp.Run("query-status")["status"]!.GetValue<string>());
        sourceQmp.Run("quit");
        Assert.Equal(0, source.WaitForExit());

        // The count goes on on B from where A stopped, with no gap and no repeat.
        int atMigration = LastCount(source.Output);
        destination.WaitFor($"C{atMigration + 10}\r\n");
        AssertConsecutive(source.Output + destination.Output);

        using (QmpClient destinationQmp = QmpClient.ConnectAndNegotiate(temp.File("b.sock")))
        {
            Assert.Equal("running", destinationQmp.Run("query-status")["status"]!.GetValue<string>());
        }

        destination.SendLine("kill %1; sync; poweroff -f");
        Assert.Equal(0, destination.WaitForExit());
        AssertDiskHoldsCounts(temp, disk, atLeast: atMigration + 10);
    }

    [SkippableFact]
    public void ADestinationKilledInFlightLeavesTheGuestRunningOnItsSource()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        string disk = CountingDisk(temp);
        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];

        using VesselProcess source = StartOn(a, disk, temp.File("a.sock"));
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock"));
        source.WaitFor(ReferenceGuest.Prompt);
        source.SendLine(Loop);
        source.WaitFor("C5\r\n");

        // 1 MiB/s: the migration is still sending when the destination goes.
        qmp.Run("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 1 << 20 });
        using (VesselProcess destination = StartOn(b, disk, temp.File("b.sock"), "--incoming", $"tcp:{b.Address}:{MigrationPort}"))
        {
            WaitUntilListening(b, MigrationPort);
            qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:{b.Address}:{MigrationPort}" });
            WaitForTransferred(qmp, 2 << 20);
        }

        JsonNode info = WaitForEnd(qmp);
        Assert.Equal("failed", info["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(info["error-desc"]?.GetValue<string>()));
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        int afterFailure = LastCount(source.Output);
        source.WaitFor($"C{afterFailure + 5}\r\n");
        AssertConsecutive(source.Output);

        source.SendLine("kill %1; sync; poweroff -f");
        Assert.Equal(0, source.WaitForExit());
        AssertDiskHoldsCounts(temp, disk, atLeast: afterFailure + 5);
    }

    [SkippableFact]
    public void ACorruptedStreamIsRefusedByTheDestinationAndTheSourceRunsOn()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        string disk = CountingDisk(temp);
        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];

        using VesselProcess source = StartOn(a, disk, temp.File("a.sock"));
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock"));
        source.WaitFor(ReferenceGuest.Prompt);
        source.SendLine(Loop);
        source.WaitFor("C5\r\n");

        using VesselProcess destination = StartOn(b, disk, temp.File("b.sock"), "--incoming", $"tcp:{b.Address}:{MigrationPort}");
        WaitUntilListening(b, MigrationPort);
        using var proxy = new CorruptingProxy(b, new IPEndPoint(b.Address, MigrationPort), flipAt: 3 << 20);
        qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:{b.Address}:{proxy.Port}" });

        JsonNode info = WaitForEnd(qmp);
        Assert.True(proxy.Flipped, "the proxy never reached the byte it flips");
        Assert.Equal("failed", info["status"]!.GetValue<string>());
        Assert.NotEqual(0, destination.WaitForExit());
        Assert.Contains("cannot restore", destination.Error, StringComparison.Ordinal);

        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        int afterFailure = LastCount(source.Output);
        source.WaitFor($"C{afterFailure + 5}\r\n");
        AssertConsecutive(source.Output);
        source.SendLine("kill %1; sync; poweroff -f");
        Assert.Equal(0, source.WaitForExit());
        AssertDiskHoldsCounts(temp, disk, atLeast: afterFailure + 5);
    }

    /// <summary>The reference root file system as a qcow2 in <paramref name="temp"/> (a directory every host sees).</summary>
    internal static string CountingDisk(TempDirectory temp)
    {
        string raw = ReferenceDisk.Unpack(temp);
        string disk = temp.File("root.qcow2");
        ExternalTool.Run("qemu-img", ["convert", "-O", "qcow2", raw, disk]);
        File.Delete(raw);
        return disk;
    }

    /// <summary>The CLI's <c>vessel run</c> on the reference guest with a 256 MiB RAM, inside <paramref name="host"/>.</summary>
    internal static VesselProcess StartOn(NamespaceHost host, string disk, string socket, params string[] extra) =>
        VesselProcess.StartProgram(
            "ip",
            [
                .. NamespaceHosts.ExecPrefix(host).Skip(1), "dotnet", TestPaths.CliAssembly,
                "run", "--kernel", TestPaths.GuestKernel, "--append", ReferenceDisk.RootCommandLine + " quiet", "--memory", "256M",
                "--drive", $"file={disk}", "--qmp", $"unix:{socket},server=on,wait=off", .. extra,
            ]);

    /// <summary>Waits until something listens on <paramref name="port"/> in <paramref name="host"/> (without connecting: the listener takes one connection).</summary>
    internal static void WaitUntilListening(NamespaceHost host, int port)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (string.IsNullOrWhiteSpace(host.Run("ss", "-Hltn", $"sport = :{port}")))
        {
            Assert.True(DateTime.UtcNow < deadline, $"nothing listens on port {port} in {host}");
            Thread.Sleep(100);
        }
    }

    private static void WaitForTransferred(QmpClient qmp, long bytes)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while ((qmp.Run("query-migrate")["ram"]?["transferred"]?.GetValue<long>() ?? 0) < bytes)
        {
            Assert.True(DateTime.UtcNow < deadline, "the migration did not get going");
            Thread.Sleep(50);
        }
    }

    private static JsonNode WaitForEnd(QmpClient qmp)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (true)
        {
            JsonNode info = qmp.Run("query-migrate");
            if (info["status"]?.GetValue<string>() is "completed" or "failed" or "cancelled")
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the migration did not end: {info.ToJsonString()}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The file system is clean and /counter holds the counts 1, 2, 3, … in order, at least up to <paramref name="atLeast"/> minus the ones not yet synced.</summary>
    internal static void AssertDiskHoldsCounts(TempDirectory temp, string disk, int atLeast, string format = "qcow2")
    {
        if (format == "qcow2")
        {
            ExternalTool.Run("qemu-img", ["check", disk]); // raw has nothing to check
        }

        string raw = temp.File("check.raw");
        ExternalTool.Run("qemu-img", ["convert", "-f", format, "-O", "raw", disk, raw]);
        ExternalTool.Run("e2fsck", ["-fn", raw]);
        string[] records = ExternalTool.Run("debugfs", ["-R", "cat /counter", raw]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < records.Length; i++)
        {
            Assert.Equal($"C{i + 1}", records[i]);
        }

        Assert.True(records.Length >= atLeast - 1, $"/counter ends at C{records.Length}, the console reached C{atLeast}");
        File.Delete(raw);
    }

    internal static int LastCount(string output) =>
        CounterPattern().Matches(output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Last();

    /// <summary>The counter's lines run 1, 2, 3, … with no gap and no repeat.</summary>
    internal static void AssertConsecutive(string output)
    {
        int expected = 1;
        foreach (Match match in CounterPattern().Matches(output))
        {
            Assert.Equal(expected, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            expected++;
        }

        Assert.True(expected > 1, "no count on the console");
    }

    [GeneratedRegex(@"C(\d+)\r\n")]
    private static partial Regex CounterPattern();

    /// <summary>
    /// A TCP proxy inside a host that passes a migration stream on to <paramref name="target"/>
    /// and flips every bit of the byte at offset <paramref name="flipAt"/>; answers come back untouched.
    /// </summary>
    private sealed class CorruptingProxy : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _connections = [];
        private volatile bool _flipped;

        public CorruptingProxy(NamespaceHost host, IPEndPoint target, long flipAt)
        {
            _listener = host.Enter(() =>
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(host.Address, 0));
                listener.Listen(1);
                return listener;
            });
            Socket upstream = host.Enter(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            new Thread(() =>
            {
                try
                {
                    Socket client = _listener.Accept();
                    upstream.Connect(target);
                    lock (_connections)
                    {
                        _connections.Add(client);
                        _connections.Add(upstream);
                    }

                    new Thread(() => Pump(upstream, client, flipAt: -1)) { IsBackground = true }.Start();
                    Pump(client, upstream, flipAt);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            })
            { IsBackground = true, Name = "corrupting proxy" }.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public bool Flipped => _flipped;

        private void Pump(Socket from, Socket to, long flipAt)
        {
            byte[] buffer = new byte[65536];
            long offset = 0;
            try
            {
                int read;
                while ((read = from.Receive(buffer)) > 0)
                {
                    if (flipAt >= offset && flipAt < offset + read)
                    {
                        buffer[flipAt - offset] ^= 0xff;
                        _flipped = true;
                    }

                    offset += read;
                    to.Send(buffer, 0, read, SocketFlags.None);
                }

                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // One side closed: close the other so that neither waits for ever.
                to.Close();
                from.Close();
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            lock (_connections)
            {
                _connections.ForEach(c => c.Dispose());
            }
        }
    }
}
