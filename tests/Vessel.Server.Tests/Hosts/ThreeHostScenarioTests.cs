using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Storage;
using Vessel.Storage.Operations;
using Vessel.Testing.Hosts;
using Xunit.Abstractions;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// Issue #17's scenario on three hosts in network namespaces: the manager on host A (its own
/// host, an agent like any other), agents on B and C, a VM whose disk is on a pool all three see.
/// The guest counts, appends each count to a file on its disk and serves the count over HTTP
/// through a NAT port forward; a client on the hosts' network fetches it all along. The VM
/// migrates A → B → C and back to B with its console open; B then goes into maintenance and the
/// VM leaves it; the manager is killed in the middle of one more migration and restarted. After
/// all that the VM runs on exactly one host, no count was lost or repeated on its disk, the file
/// system is clean, and HTTP answered from each new host.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ThreeHostScenarioTests(ITestOutputHelper output)
{
    private const int AgentPort = 7443;
    private const int ForwardedPort = 8080;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private const string CountingLoop =
        "(i=0; while true; do i=$((i+1)); echo C$i >> /mnt/counter; sync; echo C$i > /www/index.html; sleep 0.2; done) >/dev/null 2>&1 &";

    [SkippableFact]
    public async Task AVmMigratesAcrossThreeHostsLeavesAHostInMaintenanceAndSurvivesItsManagerKilledMidMigration()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        using var hosts = new NamespaceHosts(3);
        NamespaceHost a = hosts[0], b = hosts[1], c = hosts[2];
        string data = temp.File("manager");
        string[] agentData = [temp.File("agent-b"), temp.File("agent-c")];
        using Manager manager = await Manager.StartOnAsync(NamespaceHosts.ExecPrefix(a), a.Address.ToString(), AgentPort, data);
        var agents = new List<AgentProcess>();
        using var stopClient = new CancellationTokenSource();
        Task? client = null;
        try
        {
            VesselClient api = manager.Serve.Client;
            string hostA = (await api.GetHostAsync("local")).Name;
            foreach ((NamespaceHost host, string name, string directory) in new[] { (b, "host-b", agentData[0]), (c, "host-c", agentData[1]) })
            {
                HostCreated added = await manager.AddHostAsync(name);
                agents.Add(AgentProcess.StartIn(NamespaceHosts.ExecPrefix(host), directory, "--join", manager.Https.ToString(), "--token", added.JoinToken));
                await manager.WaitForStateAsync(name, HostStates.Up, agents[^1]);
            }

            var addressOf = new Dictionary<string, IPAddress> { [hostA] = a.Address, ["host-b"] = b.Address, ["host-c"] = c.Address };
            await api.CreatePoolAsync(new PoolCreateRequest("shared", temp.File("shared"), Shared: true));
            await api.WaitForSuccessAsync(await api.CreateVmAsync(new VmCreateRequest
            {
                Name = "wanderer",
                Kernel = TestFiles.Kernel,
                Initrd = TestFiles.Initrd,
                Append = TestFiles.CommandLine,
                MemoryBytes = 256L << 20,
                Disks = [new DiskRequest { Import = TestFiles.RootFs, Pool = "shared" }],
                Nics = [new NicRequest { PortForwards = [$"tcp:0.0.0.0:{ForwardedPort}-:80"] }],
                Host = "local",
            }));
            await api.WaitForSuccessAsync(await api.VmActionAsync("wanderer", "start"));
            Assert.Equal(hostA, (await api.GetVmAsync("wanderer")).Host);

            ConsoleSession console = await ConsoleSession.AttachAsync(api, "wanderer");
            try
            {
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("mkdir -p /mnt /www; mount /dev/vda /mnt && udhcpc -i eth0 -n -q >/dev/null 2>&1; echo C0 > /www/index.html; httpd -p 80 -h /www && echo ready-$((6*7))", "ready-42");
                await console.RunAsync(CountingLoop + " echo counting-$((6*7))", "counting-42");

                // The client: from host A's side of the network, to wherever the VM is, every 100 ms (bounded).
                var seen = new List<(DateTime At, string Host, int Count)>();
                client = Task.Run(() => FetchLoopAsync(a, addressOf, seen, stopClient.Token));
                await WaitForCountFromAsync(seen, hostA, after: 0);

                // A → B → C → B, live, the console open all along.
                foreach (string destination in new[] { "host-b", "host-c", "host-b" })
                {
                    int before = LastCount(seen);
                    OperationInfo migrated = await api.WaitAsync(await api.MigrateVmAsync("wanderer", new VmMigrateRequest { Host = destination }));
                    Assert.True(migrated.Status == OperationStatuses.Succeeded, $"to {destination}: {migrated.Error}\n{string.Join('\n', migrated.Log)}\n{manager.Serve.Log}");
                    VmDetails vm = await api.GetVmAsync("wanderer");
                    Assert.Equal((destination, VmStates.Running), (vm.Host, vm.State));
                    TimeSpan gap = await WaitForCountFromAsync(seen, destination, after: before);
                    // Log lines start with the time (HH:mm:ss).
                    string completed = migrated.Log.Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).LastOrDefault(l => l.StartsWith("Completed in ", StringComparison.Ordinal)) ?? "(no completion line)";
                    Assert.Matches(@"^Completed in \d+ ms, the guest stopped for \d+ ms, [\d.]+ MiB sent\.$", completed);
                    output.WriteLine($"to {destination}: {completed} HTTP answered from the new host {gap.TotalMilliseconds:0} ms after the last answer from the old one (the client asks every 100 ms, waiting up to 1 s for each answer)");
                    await console.RunAsync("echo here-$((6*7))", "here-42");
                }

                // Host B into maintenance: the VM leaves it, and B shows itself ready.
                OperationInfo evacuated = await api.WaitAsync(await api.EnterMaintenanceAsync("host-b"));
                Assert.True(evacuated.Status == OperationStatuses.Succeeded, $"{evacuated.Error}\n{string.Join('\n', evacuated.Log)}");
                string refuge = (await api.GetVmAsync("wanderer")).Host!;
                Assert.NotEqual("host-b", refuge);
                await WaitForCountFromAsync(seen, refuge, after: LastCount(seen));
                await console.RunAsync("echo left-b-$((6*7))", "left-b-42");
                await api.ExitMaintenanceAsync("host-b");
            }
            finally
            {
                await console.DisposeAsync();
            }

            // The manager killed in the middle of a migration, then restarted: the VM ends up on
            // exactly one host, running, whichever way the migration went.
            string from = (await api.GetVmAsync("wanderer")).Host!;
            string to = from == "host-c" ? "host-b" : "host-c";
            await api.MigrateVmAsync("wanderer", new VmMigrateRequest { Host = to });
            await Task.Delay(1500);
            manager.Serve.KillHard();
            await manager.RestartAsync();
            api = manager.Serve.Client;
            VmDetails settled = await WaitForStateAsync(api, "wanderer", VmStates.Running);
            output.WriteLine($"after the manager's restart the VM runs on {settled.Host} (it was migrating from {from} to {to})");
            await WaitUntilAsync(() => LiveVmms(settled.Id, [data, .. agentData]).Count == 1,
                () => $"the VM's VMMs: {string.Join(", ", LiveVmms(settled.Id, [data, .. agentData]))}");
            Assert.Contains(settled.Host, new[] { from, to });

            await using (ConsoleSession again = await ConsoleSession.AttachAsync(api, "wanderer"))
            {
                await again.RunAsync("kill %1; sleep 0.5; sync; umount /mnt; echo stopped-$((6*7))", "stopped-42");
            }

            await stopClient.CancelAsync();
            await client;
            await api.WaitForSuccessAsync(await api.VmActionAsync("wanderer", "stop"));
            string volume = (await api.GetVmAsync("wanderer")).Disks[0].Volume;
            AssertCountsContiguous(Path.Combine(temp.File("shared"), volume.Split('/')[1] + ".qcow2"), temp);
        }
        finally
        {
            await stopClient.CancelAsync();
            foreach (AgentProcess agent in agents)
            {
                agent.Dispose();
            }

            foreach (string directory in agentData.Append(data))
            {
                VmmProcesses.KillAll(directory);
            }
        }
    }

    /// <summary>
    /// Fetches the guest's count over HTTP from every host at once, every 100 ms, until cancelled
    /// (at most 20 minutes): whichever host answers is where the VM runs (a paused source or a
    /// destination still waiting holds the connection without an answer).
    /// </summary>
    private static async Task FetchLoopAsync(NamespaceHost from, Dictionary<string, IPAddress> addressOf, List<(DateTime, string, int)> seen, CancellationToken cancellationToken)
    {
        DateTime end = DateTime.UtcNow + TimeSpan.FromMinutes(20);
        while (!cancellationToken.IsCancellationRequested && DateTime.UtcNow < end)
        {
            await Task.WhenAll(addressOf.Select(async pair =>
            {
                if (await FetchCountAsync(from, pair.Value) is { } count)
                {
                    lock (seen)
                    {
                        seen.Add((DateTime.UtcNow, pair.Key, count));
                    }
                }
            }));
            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>One HTTP GET of the guest's count through the forward on <paramref name="address"/>, from a socket in <paramref name="from"/>.</summary>
    private static async Task<int?> FetchCountAsync(NamespaceHost from, IPAddress address)
    {
        using Socket socket = from.Enter(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, ForwardedPort), timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /index.html HTTP/1.0\r\n\r\n"), timeout.Token);
            var response = new StringBuilder();
            byte[] buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
            {
                response.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            Match match = CountPattern().Match(response.ToString());
            return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private static int LastCount(List<(DateTime At, string Host, int Count)> seen)
    {
        lock (seen)
        {
            return seen.Count == 0 ? 0 : seen[^1].Count;
        }
    }

    /// <summary>Waits until the client got a count above <paramref name="after"/> from <paramref name="host"/>; returns the time since the last answer from another host.</summary>
    private static async Task<TimeSpan> WaitForCountFromAsync(List<(DateTime At, string Host, int Count)> seen, string host, int after)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            lock (seen)
            {
                int index = seen.FindIndex(s => s.Host == host && s.Count > after);
                if (index >= 0)
                {
                    int previous = seen.FindLastIndex(index, s => s.Host != host);
                    return previous < 0 ? TimeSpan.Zero : seen[index].At - seen[previous].At;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no HTTP answer above C{after} from {host}");
            await Task.Delay(100);
        }
    }

    private static async Task<VmDetails> WaitForStateAsync(VesselClient api, string vm, string state)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            VmDetails details = await api.GetVmAsync(vm);
            if (details.State == state)
            {
                return details;
            }

            Assert.True(DateTime.UtcNow < deadline, $"VM {vm} stayed {details.State}, not {state}");
            await Task.Delay(200);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> failure)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(200);
        }
    }

    /// <summary>The live VMM processes of a VM in any of the hosts' data directories.</summary>
    private static List<string> LiveVmms(Guid vmId, IEnumerable<string> dataDirectories) =>
        dataDirectories.Select(d => (Directory: d, Pid: VmmProcesses.LiveIn(d, vmId))).Where(v => v.Pid is not null).Select(v => $"{v.Pid} in {v.Directory}").ToList();

    /// <summary>The disk's file system is clean and /counter holds C1, C2, … with no gap and no repeat.</summary>
    private static void AssertCountsContiguous(string qcow2, TempDirectory temp)
    {
        string raw = temp.File("check.raw");
        ImageConverter.Convert(qcow2, raw, new ConvertOptions { TargetFormat = ImageFormat.Raw, ForceShare = true });
        Assert.Equal(0, Tool("e2fsck", "-fn", raw).ExitCode);
        string[] records = Tool("debugfs", "-R", "cat /counter", raw).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(records.Length > 10, $"only {records.Length} counts on the disk");
        for (int i = 0; i < records.Length; i++)
        {
            Assert.Equal($"C{i + 1}", records[i]);
        }
    }

    private static (int ExitCode, string Output) Tool(string program, params string[] arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program}: {error.Result}{text}");
        return (process.ExitCode, text);
    }

    [GeneratedRegex(@"\bC(\d+)\b")]
    private static partial Regex CountPattern();
}
