using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// Host agents with real processes: a manager (<c>vessel serve</c> with its HTTPS listener and
/// agent endpoint on loopback) and <c>vessel agent</c> processes with their own data
/// directories. An agent joins with its one-time token and is <c>up</c> with the capacity it
/// read; killed, it becomes <c>unreachable</c>; started again without a token it is <c>up</c>;
/// the manager killed and restarted, the agent reconnects by itself; removed, it is refused.
/// </summary>
public sealed class HostAgentTests
{
    [Fact]
    public async Task AnAgentJoinsIsUpWithItsCapacityAndFollowsItsOwnAndTheManagersRestartsUntilRemoved()
    {
        using var temp = new TempDirectory();
        using Manager manager = await Manager.StartAsync(temp.File("manager"));

        // The manager's own host is a host too, up, with the capacity the same code reads.
        HostInfo local = await manager.WaitForStateAsync(HostService.LocalAlias, HostStates.Up);
        Assert.True(local.Local);
        Assert.Equal(Environment.ProcessorCount, local.Harts);
        Assert.Equal(HostCapacity.ReadMemory().Total, local.MemoryTotalBytes);

        HostCreated added = await manager.AddHostAsync("edge-1");
        Assert.Equal(HostStates.Connecting, added.Host.State);
        Assert.Null(added.Host.CertificateFingerprint);
        using WebSocket events = await manager.Serve.Client.ConnectEventsAsync();

        string agentDirectory = temp.File("agent-1");
        using (AgentProcess agent = AgentProcess.Join(agentDirectory, manager, added.JoinToken))
        {
            HostInfo up = await manager.WaitForStateAsync("edge-1", HostStates.Up, agent);
            ServerEvent upEvent = await WaitForEventAsync(events, e => e.Type == "host.up");
            Assert.Equal("edge-1", upEvent.Target);
            Assert.Contains((await manager.Serve.Client.ListAuditAsync(new AuditQuery(Action: "host.up"))).Items, e => e.Object == "host:edge-1");

            // What the agent reported is what this machine has (the agent runs on it).
            Assert.Equal(Environment.ProcessorCount, up.Harts);
            Assert.Equal(HostCapacity.ReadMemory().Total, up.MemoryTotalBytes);
            Assert.InRange(up.MemoryAvailableBytes, 1, up.MemoryTotalBytes);
            Assert.Equal("127.0.0.1", up.Address);
            Assert.NotNull(up.LastHeartbeatAt);
            Assert.NotNull(up.JoinedAt);
            Assert.Equal(local.AgentVersion, up.AgentVersion);

            // The agent kept its identity, readable by its owner only; the certificate names the host.
            string kept = Path.Combine(agentDirectory, "agent");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(kept));
            foreach (string file in Directory.GetFiles(kept))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(kept, "cert.pem")));
            Assert.Equal(up.Id, HostCertificateAuthority.HostIdOf(certificate));
            Assert.Equal(up.CertificateFingerprint, Vessel.Server.Hosting.ServerCertificates.Fingerprint(certificate));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(manager.DataDirectory, "pki", "ca-key.pem")));

            // Heartbeats carry on: the last one moves.
            DateTimeOffset first = up.LastHeartbeatAt!.Value;
            await WaitUntilAsync(async () => (await manager.HostAsync("edge-1")).LastHeartbeatAt > first, "the heartbeat did not move");

            agent.Kill();
            await manager.WaitForStateAsync("edge-1", HostStates.Unreachable);
            Assert.Equal("edge-1", (await WaitForEventAsync(events, e => e.Type == "host.unreachable")).Target);
        }

        // Started again without a token: it reconnects with what it kept.
        using AgentProcess again = AgentProcess.Start(agentDirectory);
        await manager.WaitForStateAsync("edge-1", HostStates.Up, again);
        await again.WaitForLinesAsync("vessel: connected to the manager", 1);

        // The manager dies and comes back: the agent finds it by itself.
        await manager.RestartAsync();
        await again.WaitForLinesAsync("vessel: connected to the manager", 2);
        DateTimeOffset restarted = DateTimeOffset.UtcNow;
        await WaitUntilAsync(async () => (await manager.HostAsync("edge-1")) is { State: HostStates.Up } h && h.LastHeartbeatAt > restarted.AddSeconds(-1), "no heartbeat reached the restarted manager");

        // Removed: the connected agent is cut off with the manager's sentence, and stays refused.
        (int removeExit, string removed, _) = await VesselAsync("host", "remove", "edge-1", "--data-dir", manager.DataDirectory);
        Assert.Equal(0, removeExit);
        Assert.Contains("removed", removed, StringComparison.Ordinal);
        (int exit, string last) = await again.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        AssertRefusal(last, "was removed");
        Assert.Equal(HostStates.Removed, (await manager.HostAsync("edge-1")).State);

        using AgentProcess refused = AgentProcess.Start(agentDirectory);
        (exit, last) = await refused.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        AssertRefusal(last, "was removed");
        Assert.Contains("Refused an agent from 127.0.0.1", manager.Serve.Log, StringComparison.Ordinal);

        // Added again under its name, it joins again into the same directory with a new identity.
        string oldIdentity = temp.File("old-identity");
        Directory.CreateDirectory(Path.Combine(oldIdentity, "agent"));
        foreach (string file in Directory.GetFiles(Path.Combine(agentDirectory, "agent")))
        {
            File.Copy(file, Path.Combine(oldIdentity, "agent", Path.GetFileName(file)));
        }

        HostCreated readded = await manager.AddHostAsync("edge-1");
        Assert.NotEqual(added.Host.Id, readded.Host.Id);
        using AgentProcess rejoined = AgentProcess.Join(agentDirectory, manager, readded.JoinToken);
        Assert.Equal(readded.Host.Id, (await manager.WaitForStateAsync("edge-1", HostStates.Up, rejoined)).Id);

        // The identity of before the removal opens nothing, not even under the same name.
        using AgentProcess stale = AgentProcess.Start(oldIdentity);
        (exit, last) = await stale.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        AssertRefusal(last, "knows no host of this certificate");
        Assert.Equal(HostStates.Up, (await manager.HostAsync("edge-1")).State);
    }

    [Fact]
    public async Task HostAddPrintsTheTokenAndListAndShowTellTheHostsStates()
    {
        using var temp = new TempDirectory();
        using Manager manager = await Manager.StartAsync(temp.File("manager"));
        (int exit, string token, string error) = await VesselAsync("host", "add", "rack-7", "--data-dir", manager.DataDirectory);
        Assert.Equal(0, exit);
        Assert.NotNull(JoinToken.Parse(token.Trim()));
        Assert.Contains("vessel agent --join", error, StringComparison.Ordinal);

        (exit, string json, _) = await VesselAsync("host", "list", "--output", "json", "--data-dir", manager.DataDirectory);
        Assert.Equal(0, exit);
        HostInfo[] hosts = JsonSerializer.Deserialize<HostInfo[]>(json, VesselClient.JsonOptions)!;
        Assert.True(hosts[0].Local);
        Assert.Equal(HostStates.Connecting, Assert.Single(hosts, h => h.Name == "rack-7").State);

        (exit, string shown, _) = await VesselAsync("host", "show", "rack-7", "--data-dir", manager.DataDirectory);
        Assert.Equal(0, exit);
        Assert.Contains("connecting", shown, StringComparison.Ordinal);

        // The same name twice, the name 'local', and removing the manager's own host: one sentence each.
        (exit, _, error) = await VesselAsync("host", "add", "rack-7", "--data-dir", manager.DataDirectory);
        Assert.NotEqual(0, exit);
        Assert.Contains("already a host named 'rack-7'", error, StringComparison.Ordinal);
        (exit, _, error) = await VesselAsync("host", "add", "local", "--data-dir", manager.DataDirectory);
        Assert.NotEqual(0, exit);
        Assert.Contains("manager's own host", error, StringComparison.Ordinal);
        (exit, _, error) = await VesselAsync("host", "remove", "local", "--data-dir", manager.DataDirectory);
        Assert.NotEqual(0, exit);
        Assert.Contains("cannot be removed", error, StringComparison.Ordinal);

        // The certificate route of the manager's own host still answers beside /hosts/{host}.
        CertificateInfo certificate = await manager.Serve.Client.GetAsync<CertificateInfo>("api/v1/hosts/local/certificate");
        Assert.Equal(await manager.Serve.WaitForLineAsync("vessel: TLS certificate SHA-256 fingerprint "), $"{certificate.FingerprintSha256} ({certificate.Source}, {certificate.Path}, valid until {certificate.NotAfter:yyyy-MM-dd})");
    }

    internal static void AssertRefusal(string line, string contains)
    {
        Assert.StartsWith("vessel: ", line, StringComparison.Ordinal);
        string sentence = line["vessel: ".Length..];
        Http.AssertOneSentence(sentence);
        Assert.Contains(contains, sentence, StringComparison.Ordinal);
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException(failure);
            }

            await Task.Delay(200);
        }
    }

    private static async Task<ServerEvent> WaitForEventAsync(WebSocket socket, Func<ServerEvent, bool> predicate)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        byte[] buffer = new byte[65536];
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, timeout.Token);
            ServerEvent serverEvent = JsonSerializer.Deserialize<ServerEvent>(Encoding.UTF8.GetString(buffer, 0, result.Count), VesselClient.JsonOptions)!;
            if (predicate(serverEvent))
            {
                return serverEvent;
            }
        }
    }

    /// <summary>Runs a <c>vessel</c> command to its end: its exit code, stdout and stderr.</summary>
    internal static async Task<(int ExitCode, string Output, string Error)> VesselAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string argument in new[] { TestFiles.VesselAssembly }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
