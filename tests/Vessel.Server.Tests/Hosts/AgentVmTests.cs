using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// VMs on an agent's host, with real <c>vessel serve</c>, <c>vessel agent</c> and VMM processes
/// booting the reference guest: the agent starts the VMM in its own data directory, the manager
/// reaches its QMP and console through the agent's tunnels, the VM is <c>unknown</c> while the
/// agent is away and adopted when it returns, and it migrates live between the agent's host and
/// the manager's own with its memory and an open console, the old VMM gone after.
/// </summary>
public sealed class AgentVmTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AVmRunsOnAnAgentsHostIsUnknownWhileItsAgentIsAwayAndMigratesLiveWithItsConsole()
    {
        using EdgePair pair = await EdgePair.StartAsync();
        (Manager manager, string data, string agentData, VesselClient client) = (pair.Manager, pair.Data, pair.AgentData, pair.Client);

        // A VM without disks or NICs needs nothing only the manager's host has: it may go anywhere.
        await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn("roamer", "edge-1")));
        Assert.Equal("edge-1", (await client.GetVmAsync("roamer")).Host);
        await client.WaitForSuccessAsync(await client.VmActionAsync("roamer", "start"));
        VmDetails running = await client.GetVmAsync("roamer");
        Assert.Equal(VmStates.Running, running.State);
        int edgeVmm = running.ProcessId ?? throw new InvalidOperationException("a running VM without a VMM process");
        // The agent started it in its own data directory, not the manager's.
        Assert.True(File.Exists(Path.Combine(agentData, "run", running.Id.ToString("N"), "qmp.sock")));
        Assert.False(Directory.Exists(Path.Combine(data, "run", running.Id.ToString("N"))));

        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "roamer"))
        {
            console.WaitFor(TestFiles.Prompt);
            // Memory of the guest (its root is a RAM disk): what must arrive with a migration.
            await console.RunAsync("echo edge-$((6*7)) > /marker; cat /marker", "edge-42");
        }

        // The agent away: the VM is unknown (not stopped, not crashed), and nothing is done to it.
        pair.Agent.Kill();
        await WaitForStateAsync(manager, "roamer", VmStates.Unknown);
        Assert.True(Directory.Exists($"/proc/{edgeVmm}"), "the VMM ended with its agent");
        foreach (string action in new[] { "start", "stop" })
        {
            VesselApiException refused = await Assert.ThrowsAsync<VesselApiException>(() => client.VmActionAsync("roamer", action));
            Assert.Contains("unknown state", refused.Message, StringComparison.Ordinal);
        }

        // The agent back: the VMM is adopted, and runs as before.
        pair.RestartAgent();
        await WaitForStateAsync(manager, "roamer", VmStates.Running);
        Assert.Equal(edgeVmm, (await client.GetVmAsync("roamer")).ProcessId);

        // Live to the manager's own host, with a console open all along.
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "roamer"))
        {
            await console.RunAsync("echo still-$((6*7))", "still-42");
            OperationInfo migrated = await client.WaitAsync(await client.MigrateVmAsync("roamer", new VmMigrateRequest { Host = HostService.LocalAlias }));
            Assert.True(migrated.Status == OperationStatuses.Succeeded, $"{migrated.Error}\n{manager.Serve.Log}\n{pair.Agent.Log}");
            VmDetails moved = await client.GetVmAsync("roamer");
            Assert.Equal(VmStates.Running, moved.State);
            Assert.NotEqual("edge-1", moved.Host);
            Assert.NotEqual(edgeVmm, moved.ProcessId);
            Assert.True(File.Exists(Path.Combine(data, "run", moved.Id.ToString("N"), "qmp.sock")));
            await WaitUntilAsync(() => !Directory.Exists($"/proc/{edgeVmm}"), "the source VMM on the agent's host did not end after the migration");

            // The same console session goes on with the VM on its new host, and its memory came along.
            await console.RunAsync("cat /marker; echo moved-$((6*7))", "moved-42");
            Assert.Contains("edge-42", console.Output, StringComparison.Ordinal);
        }

        // And back to the agent's host, live and paused: it arrives paused, and goes on when resumed.
        await client.WaitForSuccessAsync(await client.VmActionAsync("roamer", "pause"));
        OperationInfo back = await client.WaitAsync(await client.MigrateVmAsync("roamer", new VmMigrateRequest { Host = "edge-1" }));
        Assert.True(back.Status == OperationStatuses.Succeeded, $"{back.Error}\n{manager.Serve.Log}\n{pair.Agent.Log}");
        VmDetails arrived = await client.GetVmAsync("roamer");
        Assert.Equal(("edge-1", VmStates.Paused), (arrived.Host, arrived.State));
        await client.WaitForSuccessAsync(await client.VmActionAsync("roamer", "resume"));
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "roamer"))
        {
            await console.RunAsync("cat /marker; echo back-$((6*7))", "back-42");
            Assert.Contains("edge-42", console.Output, StringComparison.Ordinal);
        }

        // A migration to where it is is refused with one sentence; a stopped VM moves offline.
        VesselApiException same = await Assert.ThrowsAsync<VesselApiException>(() => client.MigrateVmAsync("roamer", new VmMigrateRequest { Host = "edge-1" }));
        Assert.Contains("already", same.Message, StringComparison.Ordinal);
        await client.WaitForSuccessAsync(await client.VmActionAsync("roamer", "stop"));
        await client.WaitForSuccessAsync(await client.MigrateVmAsync("roamer", new VmMigrateRequest()));
        Assert.NotEqual("edge-1", (await client.GetVmAsync("roamer")).Host);
    }

    [Fact]
    public async Task AHostInMaintenanceSendsItsRunningVmsAwayTakesNoNewOnesAndIsReadyWhenEmpty()
    {
        using EdgePair pair = await EdgePair.StartAsync();
        (Manager manager, string data, string agentData, VesselClient client) = (pair.Manager, pair.Data, pair.AgentData, pair.Client);
        string[] names = ["busy-1", "busy-2"];
        foreach (string name in names)
        {
            await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn(name, HostService.LocalAlias)));
            await client.WaitForSuccessAsync(await client.VmActionAsync(name, "start"));
        }

        string local = (await client.GetHostAsync(HostService.LocalAlias)).Name;
        OperationInfo evacuated = await client.WaitAsync(await client.EnterMaintenanceAsync(HostService.LocalAlias));
        Assert.True(evacuated.Status == OperationStatuses.Succeeded, $"{evacuated.Error}\n{string.Join("\n", evacuated.Log)}\n{manager.Serve.Log}\n{pair.Agent.Log}");
        foreach (string name in names)
        {
            VmDetails moved = await client.GetVmAsync(name);
            Assert.Equal(("edge-1", VmStates.Running), (moved.Host, moved.State));
            Assert.True(File.Exists(Path.Combine(agentData, "run", moved.Id.ToString("N"), "qmp.sock")));
        }

        // Empty now: shown ready for work (the running count is refreshed every few seconds).
        DateTime deadline = DateTime.UtcNow + Patience;
        HostInfo host;
        while ((host = await client.GetHostAsync(HostService.LocalAlias)).Maintenance != HostMaintenance.Ready)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the local host stayed {host.State} ({host.Maintenance}) with {host.RunningVms} running VMs");
            await Task.Delay(200);
        }

        Assert.Equal(HostStates.Maintenance, host.State);

        // No new VMs on it: placement goes elsewhere, and asking for it is refused with the reason.
        await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn("newcomer", null)));
        Assert.Equal("edge-1", (await client.GetVmAsync("newcomer")).Host);
        VesselApiException refused = await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVmAsync(GuestOn("pinned", HostService.LocalAlias)));
        Assert.Equal($"VM 'pinned' cannot go to host '{local}': it is in maintenance.", refused.Message);

        HostInfo back = await client.ExitMaintenanceAsync(HostService.LocalAlias);
        Assert.Equal((HostStates.Up, (string?)null), (back.State, back.Maintenance));
        await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn("pinned", HostService.LocalAlias)));
        Assert.Equal(local, (await client.GetVmAsync("pinned")).Host);
        // A host with VMs is not removed: they would be lost to the inventory's view.
        VesselApiException kept = await Assert.ThrowsAsync<VesselApiException>(() => client.RemoveHostAsync("edge-1"));
        Assert.StartsWith("Host 'edge-1' still has VMs (busy-1, busy-2, newcomer); migrate or delete them first", kept.Message, StringComparison.Ordinal);
        foreach (string name in names)
        {
            await client.WaitForSuccessAsync(await client.VmActionAsync(name, "stop"));
        }
    }

    [Fact]
    public async Task AVmWhoseDiskOnlyItsHostSeesMigratesLiveWithItsDiskAndBack()
    {
        using EdgePair pair = await EdgePair.StartAsync();
        (Manager manager, string data, string agentData, VesselClient client) = (pair.Manager, pair.Data, pair.AgentData, pair.Client);

        // The agent's host has a pool of its own, in its data directory.
        PoolInfo edgePool = (await client.ListPoolsAsync()).Single(p => p.Host == "edge-1");
        Assert.Equal(("edge-1-local", Path.Combine(agentData, "pools", "default"), false), (edgePool.Name, edgePool.Path, edgePool.Shared));

        // A disk in the manager's default pool, which the agent's host does not see.
        await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn("carrier", HostService.LocalAlias) with { Disks = [new DiskRequest { SizeBytes = 32L << 20 }] }));
        await client.WaitForSuccessAsync(await client.VmActionAsync("carrier", "start"));
        string volume = (await client.GetVmAsync("carrier")).Disks.Single().Volume;
        string localFile = Path.Combine(data, "pools", "default", volume.Split('/')[1] + ".qcow2");
        Assert.True(File.Exists(localFile), localFile);
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "carrier"))
        {
            console.WaitFor(TestFiles.Prompt);
            await console.RunAsync("echo first-$((6*7)) | dd of=/dev/vda conv=fsync 2>/dev/null; echo written-$((6*7))", "written-42");
        }

        // Stopped, it cannot move there (nothing would carry the disk); with snapshots, which live in the disk, neither.
        await client.WaitForSuccessAsync(await client.CreateSnapshotAsync("carrier", new SnapshotCreateRequest { Name = "kept" }));
        VesselApiException withSnapshots = await Assert.ThrowsAsync<VesselApiException>(() => client.MigrateVmAsync("carrier", new VmMigrateRequest { Host = "edge-1" }));
        Assert.StartsWith("VM 'carrier' has snapshots", withSnapshots.Message, StringComparison.Ordinal);
        await client.WaitForSuccessAsync(await client.DeleteSnapshotAsync("carrier", "kept"));

        OperationInfo away = await client.WaitAsync(await client.MigrateVmAsync("carrier", new VmMigrateRequest { Host = "edge-1" }));
        Assert.True(away.Status == OperationStatuses.Succeeded, $"{away.Error}\n{string.Join("\n", away.Log)}\n{manager.Serve.Log}\n{pair.Agent.Log}");
        Assert.Contains(away.Log, line => line.Contains("Copying 1 disk(s) along to the pool 'edge-1-local'", StringComparison.Ordinal));
        Assert.Contains(away.Log, line => line.Contains("MiB of disk.", StringComparison.Ordinal));
        VmDetails there = await client.GetVmAsync("carrier");
        Assert.Equal(("edge-1", VmStates.Running), (there.Host, there.State));
        Assert.StartsWith("edge-1-local/", there.Disks.Single().Volume, StringComparison.Ordinal);
        string edgeFile = Path.Combine(agentData, "pools", "default", there.Disks.Single().Volume.Split('/')[1] + ".qcow2");
        Assert.True(File.Exists(edgeFile), edgeFile);
        Assert.False(File.Exists(localFile), "the disk's old file stayed on the source host");
        Assert.Equal(1, (await client.ListPoolsAsync()).Single(p => p.Name == "edge-1-local").Volumes);

        // The guest reads on the new host what it wrote on the old one, and writes more.
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "carrier"))
        {
            await console.RunAsync("echo \"got-$(dd if=/dev/vda bs=9 count=1 2>/dev/null)\"", "got-first-42");
            await console.RunAsync("echo second-$((6*7)) | dd of=/dev/vda bs=1M seek=1 conv=fsync 2>/dev/null; echo stored-$((6*7))", "stored-42");
        }

        // A VM whose disk is on the agent's host's own pool is placed there, and moves back the same way.
        OperationInfo back = await client.WaitAsync(await client.MigrateVmAsync("carrier", new VmMigrateRequest { Host = HostService.LocalAlias }));
        Assert.True(back.Status == OperationStatuses.Succeeded, $"{back.Error}\n{string.Join("\n", back.Log)}\n{manager.Serve.Log}\n{pair.Agent.Log}");
        VmDetails home = await client.GetVmAsync("carrier");
        Assert.NotEqual("edge-1", home.Host);
        Assert.StartsWith("default/", home.Disks.Single().Volume, StringComparison.Ordinal);
        Assert.False(File.Exists(edgeFile), "the disk's file stayed on the agent's host");
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "carrier"))
        {
            await console.RunAsync("echo \"both-$(dd if=/dev/vda bs=9 count=1 2>/dev/null)+$(dd if=/dev/vda bs=1M skip=1 count=1 2>/dev/null | head -c 9)\"", "both-first-42+second-42");
        }

        // Stopped, a paused VMM carries the disk (the guest does not run), and the VM starts there.
        await client.WaitForSuccessAsync(await client.VmActionAsync("carrier", "stop"));
        string homeFile = Path.Combine(data, "pools", "default", home.Disks.Single().Volume.Split('/')[1] + ".qcow2");
        OperationInfo offline = await client.WaitAsync(await client.MigrateVmAsync("carrier", new VmMigrateRequest { Host = "edge-1" }));
        Assert.True(offline.Status == OperationStatuses.Succeeded, $"{offline.Error}\n{string.Join("\n", offline.Log)}\n{manager.Serve.Log}\n{pair.Agent.Log}");
        VmDetails parked = await client.GetVmAsync("carrier");
        Assert.Equal(("edge-1", VmStates.Stopped), (parked.Host, parked.State));
        Assert.StartsWith("edge-1-local/", parked.Disks.Single().Volume, StringComparison.Ordinal);
        Assert.False(File.Exists(homeFile), "the disk's file stayed on the manager's host");
        await client.WaitForSuccessAsync(await client.VmActionAsync("carrier", "start"));
        Assert.Equal("edge-1", (await client.GetVmAsync("carrier")).Host);
        await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "carrier"))
        {
            console.WaitFor(TestFiles.Prompt, Patience);
            await console.RunAsync("echo \"again-$(dd if=/dev/vda bs=9 count=1 2>/dev/null)+$(dd if=/dev/vda bs=1M skip=1 count=1 2>/dev/null | head -c 9)\"", "again-first-42+second-42", Patience);
        }

        await client.WaitForSuccessAsync(await client.VmActionAsync("carrier", "stop"));

        // Deleted with its disks, its volume's file goes on the host that holds it.
        string parkedFile = Path.Combine(agentData, "pools", "default", parked.Disks.Single().Volume.Split('/')[1] + ".qcow2");
        Assert.True(File.Exists(parkedFile), parkedFile);
        await client.WaitForSuccessAsync(await client.DeleteVmAsync("carrier", deleteDisks: true));
        Assert.False(File.Exists(parkedFile), "the disk's file stayed on the agent's host after the VM was deleted with its disks");
        Assert.Equal(0, (await client.ListPoolsAsync()).Single(p => p.Name == "edge-1-local").Volumes);
    }

    [Fact]
    public async Task ACancelledMigrationLeavesTheVmRunningOnItsSourceAndEndsTheWaitingVmm()
    {
        using EdgePair pair = await EdgePair.StartAsync();
        (Manager manager, string data, string agentData, VesselClient client) = (pair.Manager, pair.Data, pair.AgentData, pair.Client);
        await client.WaitForSuccessAsync(await client.CreateVmAsync(GuestOn("stayer", HostService.LocalAlias)));
        await client.WaitForSuccessAsync(await client.VmActionAsync("stayer", "start"));
        VmDetails before = await client.GetVmAsync("stayer");
        await using ConsoleSession console = await ConsoleSession.AttachAsync(client, "stayer");
        console.WaitFor(TestFiles.Prompt);

        // 1 MiB/s: the guest's tens of MiB in use keep the migration sending for a while.
        OperationInfo migration = await client.MigrateVmAsync("stayer", new VmMigrateRequest { Host = "edge-1", MaxBandwidth = 1 << 20 });
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!(await client.GetOperationAsync(migration.Id)).Log.Any(l => l.Contains("MiB sent", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the migration did not get going");
            await Task.Delay(200);
        }

        Assert.True(VmmProcesses.LiveIn(agentData, before.Id) is not null, "no destination VMM waits on the agent's host during the migration");
        await client.CancelOperationAsync(migration.Id);
        OperationInfo cancelled = await client.WaitAsync(migration);
        Assert.Equal(OperationStatuses.Cancelled, cancelled.Status);

        VmDetails after = await client.GetVmAsync("stayer");
        Assert.Equal((VmStates.Running, before.Host, before.ProcessId), (after.State, after.Host, after.ProcessId));
        await WaitUntilAsync(() => VmmProcesses.LiveIn(agentData, before.Id) is null, "the destination VMM on the agent's host did not end after the cancel");
        await console.RunAsync("echo stayed-$((6*7))", "stayed-42");
        await client.WaitForSuccessAsync(await client.VmActionAsync("stayer", "stop"));
    }

    /// <summary>A manager and one joined agent, host <c>edge-1</c>, with their data directories; disposing ends them and their VMMs.</summary>
    private sealed class EdgePair : IDisposable
    {
        private readonly TempDirectory _temp;

        private EdgePair(TempDirectory temp, Manager manager, AgentProcess agent)
        {
            (_temp, Manager, Agent) = (temp, manager, agent);
            (Data, AgentData) = (manager.DataDirectory, agent.DataDirectory);
        }

        public Manager Manager { get; }

        public AgentProcess Agent { get; private set; }

        public string Data { get; }

        public string AgentData { get; }

        public VesselClient Client => Manager.Serve.Client;

        public static async Task<EdgePair> StartAsync()
        {
            var temp = new TempDirectory();
            string data = temp.File("manager");
            string agentData = temp.File("edge");
            Manager manager = await Manager.StartAsync(data);
            HostCreated added = await manager.AddHostAsync("edge-1");
            var pair = new EdgePair(temp, manager, AgentProcess.Join(agentData, manager, added.JoinToken));
            await manager.WaitForStateAsync("edge-1", HostStates.Up, pair.Agent);
            return pair;
        }

        /// <summary>Starts the agent again from its data directory (no token: it has its identity).</summary>
        public void RestartAgent()
        {
            Agent.Dispose();
            Agent = AgentProcess.Start(AgentData);
        }

        public void Dispose()
        {
            Agent.Dispose();
            VmmProcesses.KillAll(AgentData);
            VmmProcesses.KillAll(Data);
            Manager.Dispose();
            _temp.Dispose();
        }
    }

    private static VmCreateRequest GuestOn(string name, string? host) => new()
    {
        Name = name,
        Kernel = TestFiles.Kernel,
        Initrd = TestFiles.Initrd,
        Append = TestFiles.CommandLine,
        MemoryBytes = 128L << 20,
        Nics = [],
        Host = host,
    };

    private static async Task WaitForStateAsync(Manager manager, string vm, string state)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        string seen;
        while ((seen = (await manager.Serve.Client.GetVmAsync(vm)).State) != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"VM {vm} stayed {seen}, not {state}\n{manager.Serve.Log}");
            await Task.Delay(200);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(200);
        }
    }
}
