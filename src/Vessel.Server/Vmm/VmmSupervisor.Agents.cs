using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Hosts;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Vmm;

/// <summary>
/// The VMMs on agents' hosts: started by the agent, reached through tunnels its agent opens
/// (QMP, console, VNC), and reconciled with what the agent reports. A VM whose agent is not
/// connected is <c>unknown</c>, never guessed; when the agent returns, the VMMs it lists are
/// adopted again, and a VM it does not list ended while nobody watched (crashed). A VMM of a VM
/// found on a host other than the VM's (a migration the manager did not see end) is resolved:
/// the one that runs is the VM, the other ends.
/// </summary>
public sealed partial class VmmSupervisor
{
    private static readonly string[] s_reconciled = [VmStates.Unknown, VmStates.Running, VmStates.Paused, VmStates.Stopping, VmStates.Suspending];

    /// <summary>Reconciliations one at a time: an agent's hello and a lost tunnel must not adopt one VMM twice.</summary>
    private readonly SemaphoreSlim _reconcileGate = new(1, 1);

    /// <summary>The connected agent of an agent's host; null for the manager's own host. A host whose agent is away cannot start anything.</summary>
    private AgentSession? RemoteSession(Guid hostId)
    {
        if (hosts.FindSession(hostId) is { } session)
        {
            return session;
        }

        using IServiceScope scope = scopes.CreateScope();
        HostRecord? host = scope.ServiceProvider.GetRequiredService<InventoryContext>().Hosts.AsNoTracking().FirstOrDefault(h => h.Id == hostId);
        return host is null or { IsLocal: true }
            ? null
            : throw ApiException.Conflict($"Host '{host.Name}' is {host.State}: its agent is not connected, so nothing can start there now.");
    }

    private async Task<VmmInstance> StartRemoteAsync(VmmLaunchSpec spec, AgentSession session, CancellationToken cancellationToken)
    {
        await SetStateAsync(spec.VmId, spec.Name, VmStates.Starting, null);
        int pid;
        try
        {
            pid = (await session.SendAsync(LaunchCommand(spec, null), TimeSpan.FromMinutes(2), cancellationToken)).ProcessId;
        }
        catch
        {
            await SetStateAsync(spec.VmId, spec.Name, VmStates.Stopped, null);
            throw;
        }

        VmmInstance instance = await AdoptRemoteAsync(session, spec.VmId, spec.Name, pid, cancellationToken);
        string state = await QueryStateAsync(instance, cancellationToken);
        await SetStateAsync(spec.VmId, spec.Name, state, pid);
        return instance;
    }

    /// <summary>The command that starts a VMM on a host; with a ticket, one that waits for a migration's state (the result's address is the port its host takes it on).</summary>
    internal static Command LaunchCommand(VmmLaunchSpec spec, string? migrationTicket)
    {
        var launch = new LaunchVmm { VmId = spec.VmId.ToString("D"), Name = spec.Name, Paused = spec.Paused, Display = spec.Display, MigrationTicket = migrationTicket ?? "" };
        launch.MachineArguments.AddRange(spec.MachineArguments);
        return new Command { Launch = launch };
    }

    /// <summary>Watches a VMM that runs already (a migration's destination): on an agent's host through its agent, on the manager's own through its socket.</summary>
    internal async Task<VmmInstance> AdoptAsync(Guid? hostId, Guid vmId, string name, int pid, CancellationToken cancellationToken)
    {
        if (hostId is { } remote)
        {
            AgentSession session = hosts.FindSession(remote) ?? throw new OperationFailedException("The destination host's agent disconnected.");
            return await AdoptRemoteAsync(session, vmId, name, pid, cancellationToken);
        }

        VmmPaths paths = VmmPaths.For(options, vmId);
        QmpConnection qmp = await QmpConnection.ConnectAsync(paths.Qmp, TimeSpan.FromSeconds(30), cancellationToken);
        return Attach(vmId, name, pid, qmp, paths);
    }

    /// <summary>Ends a migration's source VMM (stopped after it sent the VM): quit, and kill what does not go.</summary>
    internal async Task EndSourceAsync(VmmInstance source)
    {
        source.MigratedAway = true;
        source.ExitExpected = true;
        try
        {
            await source.Qmp.ExecuteAsync("quit", null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            await source.Qmp.Closed.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception e) when (e is QmpCommandException or TimeoutException or IOException)
        {
            await KillAsync(source);
        }
    }

    /// <summary>Opens the VMM's QMP through the agent and watches it as the manager's own.</summary>
    internal async Task<VmmInstance> AdoptRemoteAsync(AgentSession session, Guid vmId, string name, int pid, CancellationToken cancellationToken)
    {
        Stream tunnel = await session.OpenTunnelAsync(vmId, "qmp", cancellationToken);
        QmpConnection qmp = await QmpConnection.OverAsync(tunnel, cancellationToken);
        return Attach(vmId, name, pid, qmp, new VmmPaths(""), session);
    }

    /// <summary>Replaces the watched VMM of a VM (a migration's destination took over); the old one's end changes nothing.</summary>
    internal void Replace(VmmInstance previous, VmmInstance next)
    {
        previous.MigratedAway = true;
        _instances[next.VmId] = next;
    }

    private void OnSessionChanged(AgentSession session, bool connected)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                if (connected)
                {
                    await ReconcileAsync(session, waitForHeartbeat: false);
                }
                else
                {
                    await MarkHostUnknownAsync(session.HostId);
                }
            }
            catch (Exception e)
            {
                logger.LogError(e, "Could not reconcile the VMs of host {Host}", session.HostName);
            }
        });
    }

    /// <summary>Reconciles an agent's host soon (a VM there the manager could not watch yet); nothing for the manager's own host, whose VMMs are adopted at its next start.</summary>
    internal void ReconcileSoon(Guid? hostId)
    {
        if (hostId is { } remote && hosts.FindSession(remote) is { } session)
        {
            OnSessionChanged(session, true);
        }
    }

    /// <summary>The agent went away: every VM it ran is unknown until it returns.</summary>
    private async Task MarkHostUnknownAsync(Guid hostId)
    {
        foreach (VmmInstance instance in _instances.Values.Where(i => i.HostId == hostId).ToArray())
        {
            _instances.TryRemove(new KeyValuePair<Guid, VmmInstance>(instance.VmId, instance));
            instance.MigratedAway = true; // its tunnel's end is not the VMM's
            await instance.Qmp.DisposeAsync();
        }

        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        string[] live = [VmStates.Running, VmStates.Paused, VmStates.Starting, VmStates.Stopping, VmStates.Suspending];
        foreach (var vm in await db.Vms.AsNoTracking().Where(v => v.HostId == hostId && live.Contains(v.State)).Select(v => new { v.Id, v.Name }).ToListAsync())
        {
            await SetStateAsync(vm.Id, vm.Name, VmStates.Unknown, null);
        }
    }

    private async Task OnRemoteLostAsync(VmmInstance instance)
    {
        await SetStateAsync(instance.VmId, instance.Name, VmStates.Unknown, null);
        instance.Exited.TrySetResult();
        if (instance.HostId is { } hostId && hosts.FindSession(hostId) is { } session)
        {
            // The agent is there: its next heartbeat says whether the VMM still runs.
            await ReconcileAsync(session, waitForHeartbeat: true);
        }
    }

    /// <summary>
    /// Brings the inventory in line with the VMMs an agent reports: adopts those of its VMs that
    /// run and are not watched, marks those that do not crashed, and resolves VMMs of VMs whose
    /// home is another host.
    /// </summary>
    public async Task ReconcileAsync(AgentSession session, bool waitForHeartbeat)
    {
        if (waitForHeartbeat)
        {
            IReadOnlyDictionary<Guid, int> before = session.RunningVmms;
            DateTime deadline = DateTime.UtcNow + 3 * hosts.HeartbeatInterval + TimeSpan.FromSeconds(1);
            while (ReferenceEquals(before, session.RunningVmms) && DateTime.UtcNow < deadline && !session.Cut.IsCancellationRequested)
            {
                await Task.Delay(100);
            }

            if (session.Cut.IsCancellationRequested)
            {
                return;
            }
        }

        await _reconcileGate.WaitAsync();
        try
        {
            IReadOnlyDictionary<Guid, int> running = session.RunningVmms;
            await using AsyncServiceScope scope = scopes.CreateAsyncScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            var vms = await db.Vms.AsNoTracking().Where(v => v.HostId == session.HostId && s_reconciled.Contains(v.State))
                .Select(v => new { v.Id, v.Name, v.State }).ToListAsync();
            foreach (var vm in vms.Where(v => Find(v.Id) is null))
            {
                if (running.TryGetValue(vm.Id, out int pid))
                {
                    await AdoptOrReportAsync(session, vm.Id, vm.Name, pid);
                    continue;
                }

                string final = vm.State == VmStates.Stopping ? VmStates.Stopped : VmStates.Crashed;
                await SetStateAsync(vm.Id, vm.Name, final, null);
                if (final == VmStates.Crashed)
                {
                    events.Publish("vm.crashed", "vm", vm.Name, VmStates.Crashed, $"The VMM of VM '{vm.Name}' is no longer running on host '{session.HostName}'.");
                }
            }

            // VMMs of VMs whose home is another host: a migration that ended while the manager was away.
            HashSet<Guid> home = vms.Select(v => v.Id).ToHashSet();
            foreach ((Guid vmId, int pid) in running.Where(r => !home.Contains(r.Key)))
            {
                await ResolveStrayAsync(db, session, vmId, pid);
            }
        }
        finally
        {
            _reconcileGate.Release();
        }
    }

    private async Task AdoptOrReportAsync(AgentSession session, Guid vmId, string name, int pid)
    {
        try
        {
            VmmInstance instance = await AdoptRemoteAsync(session, vmId, name, pid, CancellationToken.None);
            string state = await QueryStateAsync(instance, CancellationToken.None);
            await SetStateAsync(vmId, name, state, pid);
            events.Publish("vm.adopted", "vm", name, state, $"Adopted the running VMM of VM '{name}' on host '{session.HostName}' (process {pid}).");
        }
        catch (Exception e) when (e is OperationFailedException or QmpCommandException or IOException or TimeoutException)
        {
            logger.LogWarning(e, "VM {Name}: its VMM on host {Host} does not answer", name, session.HostName);
        }
    }

    private async Task ResolveStrayAsync(InventoryContext db, AgentSession session, Guid vmId, int pid)
    {
        VmRecord? vm = await db.Vms.AsNoTracking().FirstOrDefaultAsync(v => v.Id == vmId);
        if (vm is null)
        {
            await session.SendAsync(new Command { Kill = new KillVmm { VmId = vmId.ToString("D") } }, TimeSpan.FromSeconds(30), CancellationToken.None);
            return;
        }

        if (Find(vmId) is { } watched && (watched.HostId == session.HostId || watched.Emigrating))
        {
            return; // watched here already, or the destination of a migration in progress
        }

        await using QmpConnection qmp = await QmpConnection.OverAsync(await session.OpenTunnelAsync(vmId, "qmp", CancellationToken.None), CancellationToken.None);
        string status = (await qmp.ExecuteAsync("query-status", null, CancellationToken.None))?["status"]?.GetValue<string>() ?? "";
        if (status is "running" or "paused")
        {
            // The migration completed: the VM lives here now; the source's VMM (stopped after it) ends.
            logger.LogInformation("VM {Name} runs on host {Host} (a migration that ended while the manager was away)", vm.Name, session.HostName);
            if (Find(vmId) is { } source)
            {
                _instances.TryRemove(new KeyValuePair<Guid, VmmInstance>(vmId, source));
                source.MigratedAway = true;
                await QuitQuietlyAsync(source);
            }
            else if (vm.HostId is { } previousHost && hosts.FindSession(previousHost) is { } previous)
            {
                await previous.SendAsync(new Command { Kill = new KillVmm { VmId = vmId.ToString("D") } }, TimeSpan.FromSeconds(30), CancellationToken.None);
            }

            await db.Vms.Where(v => v.Id == vmId).ExecuteUpdateAsync(s => s.SetProperty(v => v.HostId, session.HostId));
            await AdoptOrReportAsync(session, vmId, vm.Name, pid);
            return;
        }

        // Still waiting for a state that will not come (inmigrate), or stopped after sending it: not the VM.
        logger.LogInformation("Ending the leftover VMM of VM {Name} on host {Host} ({Status})", vm.Name, session.HostName, status);
        await session.SendAsync(new Command { EndIncoming = new EndIncoming { VmId = vmId.ToString("D") } }, TimeSpan.FromSeconds(30), CancellationToken.None);
    }

    private static async Task QuitQuietlyAsync(VmmInstance instance)
    {
        try
        {
            await instance.Qmp.ExecuteAsync("quit", new JsonObject(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is QmpCommandException or TimeoutException or IOException)
        {
        }

        await instance.Qmp.DisposeAsync();
    }
}
