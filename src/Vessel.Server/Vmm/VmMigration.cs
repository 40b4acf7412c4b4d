using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Events;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts;
using Vessel.Server.Hosts.Agent;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Vmm;

/// <summary>
/// Moves a VM between hosts. A running VM migrates live: the destination host starts a VMM that
/// waits for the state and admits one connection presenting a one-time ticket the manager made;
/// the source host relays its VMM's pre-copy stream there (agent to agent, the manager only
/// drives both ends and watches the progress). Until the destination runs, the VM runs on its
/// source: a failure on either side, a cut connection or a cancel leaves it there, and the waiting
/// VMM ends. A stopped VM moves offline: only its record when both hosts see its disks. Disks
/// the destination does not see go along, with the memory or carried by a paused VMM (see
/// <c>VmMigration.Disks.cs</c>).
/// </summary>
public sealed partial class VmMigration(OperationManager operations, VmmSupervisor supervisor, VmLifecycle lifecycle, HostRegistry hosts, HostCommands commands, EventHub events, ILogger<VmMigration> logger)
{
    public async Task<OperationInfo> MigrateAsync(InventoryContext db, VmRecord vm, VmMigrateRequest request)
    {
        if (vm.IsTemplate)
        {
            throw ApiException.Conflict($"Template '{vm.Name}' does not run anywhere; deploy a VM from it on the host you want.");
        }

        if (vm.State == VmStates.Unknown)
        {
            throw VmLifecycle.UnknownState(vm);
        }

        bool live = vm.State is VmStates.Running or VmStates.Paused;
        if (!live && vm.State is not (VmStates.Stopped or VmStates.Crashed))
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {vm.State}; it migrates while running or paused, or when stopped.");
        }

        if (request.MaxBandwidth is { } bandwidth && (bandwidth < 1024 * 1024 || bandwidth > 1L << 40))
        {
            throw ApiException.BadRequest($"A migration's bandwidth is between 1 MiB/s and 1 TiB/s, and {bandwidth} bytes/s is not.");
        }

        // The disks a destination does not see can go along (with the memory, or carried by a paused VMM).
        Placement.Needs needs = await Placement.NeedsOfAsync(db, vm.Id) with { CopyDisks = true };
        Guid sourceId = vm.HostId ?? await LocalHostIdAsync(db);
        Guid? destination = await Placement.ChooseAsync(db, vm.Name, needs, request.Host, excluding: sourceId);
        if (destination is null && vm.HostId is null)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is on the manager's own host already.");
        }

        string destinationName = await db.Hosts.Where(h => destination == null ? h.IsLocal : h.Id == destination).Select(h => h.Name).FirstAsync();
        (PoolRecord? pool, List<DiskCopy> copies) = await PlanDiskCopiesAsync(db, vm, destination, destinationName);
        var target = new OperationManager.Target("VM", vm.Name, vm.Id);
        return await operations.StartAsync("vm.migrate", target, mayCancel: live, async context =>
        {
            if (!live && copies.Count > 0)
            {
                await CarryStoppedAsync(context, vm, destination, destinationName, pool!, copies);
                return vm.Name;
            }

            if (!live)
            {
                InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
                await opDb.Vms.Where(v => v.Id == vm.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.HostId, destination));
                context.Log($"VM '{vm.Name}' is on host '{destinationName}' now; it starts there.");
                events.Publish("vm.migrated", "vm", vm.Name, vm.State, $"VM '{vm.Name}' moved to host '{destinationName}' (offline).");
                return vm.Name;
            }

            await MigrateLiveAsync(context, vm, destination, destinationName, request.MaxBandwidth, pool, copies);
            return vm.Name;
        });
    }

    private static async Task<Guid> LocalHostIdAsync(InventoryContext db) =>
        await db.Hosts.Where(h => h.IsLocal).Select(h => h.Id).FirstOrDefaultAsync();

    private async Task MigrateLiveAsync(OperationContext context, VmRecord vm, Guid? destinationId, string destinationName, long? maxBandwidth, PoolRecord? pool, List<DiskCopy> copies)
    {
        InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
        VmRecord current = await VmDefinitions.FindAsync(db, vm.Id.ToString());
        VmmSupervisor.VmmInstance source = lifecycle.RequireProcess(current);
        // A paused VM arrives paused (its destination starts with -S), a running one runs on.
        VmmLaunchSpec spec = await lifecycle.LaunchSpecAsync(context, db, current) with { Paused = current.State == VmStates.Paused };
        string ticket = Base64Url(RandomNumberGenerator.GetBytes(32));
        if (copies.Count > 0)
        {
            context.Log($"Copying {copies.Count} disk(s) along to the pool '{pool!.Name}' of host '{destinationName}': {string.Join(", ", copies.Select(c => c.Name))}.");
            await commands.SendAsync(destinationId, PrepareCommand(copies), TimeSpan.FromMinutes(1), context.CancellationToken);
            spec = WithCopiedDrives(spec, copies);
        }

        // The destination: a VMM waiting for the state behind the ticket's gate.
        context.Log($"Starting the destination VMM on host '{destinationName}'.");
        bool switched = false;
        bool completed = false;
        CommandResult launched;
        try
        {
            launched = await commands.SendAsync(destinationId, VmmSupervisor.LaunchCommand(spec, ticket), TimeSpan.FromMinutes(2), context.CancellationToken);
        }
        catch when (copies.Count > 0)
        {
            await commands.TryRemoveFilesAsync(destinationId, copies.Select(c => c.To), logger);
            throw;
        }

        try
        {
            string gate = FormatEndpoint(await DestinationAddressAsync(db, destinationId, source.HostId), int.Parse(launched.Address, CultureInfo.InvariantCulture));
            CommandResult relay = await commands.SendAsync(source.HostId, new Command { RelayMigration = new RelayMigration { VmId = vm.Id.ToString("D"), Destination = gate, Ticket = ticket, DestinationPeer = MigrationTls.PeerOf(destinationId) } }, TimeSpan.FromSeconds(30), context.CancellationToken);
            context.Log($"Migrating the memory of VM '{vm.Name}' to host '{destinationName}' ({gate}).");
            source.Emigrating = true;
            if (maxBandwidth is { } limit)
            {
                await source.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = limit }, context.CancellationToken);
            }

            await source.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"unix:{relay.Address}", ["blk"] = copies.Count > 0 }, context.CancellationToken);
            await FollowAsync(context, source);

            // Completed: the destination runs the VM; the source is stopped after sending it.
            completed = true;
            if (copies.Count > 0)
            {
                await MoveVolumeRowsAsync(db, pool!, copies);
            }

            VmmSupervisor.VmmInstance? arrived = await AdoptWithRetriesAsync(destinationId, vm, launched.ProcessId);
            await db.Vms.Where(v => v.Id == vm.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.HostId, destinationId));
            if (arrived is null)
            {
                // Only watching it failed: the VM is where the migration put it, unknown until its
                // host's agent is reconciled (which adopts it); the source's copy is stale.
                switched = true;
                await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Unknown, null);
                await supervisor.EndSourceAsync(source);
                if (copies.Count > 0)
                {
                    await commands.TryRemoveFilesAsync(source.HostId, copies.Select(c => c.From), logger);
                }

                supervisor.ReconcileSoon(destinationId);
                context.Log($"VM '{vm.Name}' runs on host '{destinationName}', but the manager could not reach it yet; it is adopted when its host is reconciled.");
                return;
            }

            supervisor.Replace(source, arrived);
            switched = true;
            string state = await VmmSupervisor.QueryStateAsync(arrived, CancellationToken.None);
            await supervisor.SetStateAsync(vm.Id, vm.Name, state, launched.ProcessId);
            await supervisor.EndSourceAsync(source);
            if (copies.Count > 0 && await commands.TryRemoveFilesAsync(source.HostId, copies.Select(c => c.From), logger))
            {
                context.Log($"Removed the disks' old files on the source host.");
            }

            context.Log($"VM '{vm.Name}' runs on host '{destinationName}'.");
            events.Publish("vm.migrated", "vm", vm.Name, state, $"VM '{vm.Name}' migrated live to host '{destinationName}'.");
        }
        finally
        {
            // Once completed, the destination's VMM is the VM: it is never ended here.
            if (!switched && !completed)
            {
                source.Emigrating = false;
                try
                {
                    await commands.SendAsync(destinationId, new Command { EndIncoming = new EndIncoming { VmId = vm.Id.ToString("D") } }, TimeSpan.FromSeconds(30), CancellationToken.None);
                }
                catch (OperationFailedException e)
                {
                    logger.LogWarning("Could not end the destination VMM of VM {Name} on {Host}: {Reason}", vm.Name, destinationName, e.Message);
                }

                // The images made for the disks: the VM's disks are still the source's files.
                if (copies.Count > 0)
                {
                    await commands.TryRemoveFilesAsync(destinationId, copies.Select(c => c.To), logger);
                }
            }
        }
    }

    /// <summary>Watches the destination's VMM, trying a few times (a tunnel under load can be slow to open); null when it could not.</summary>
    private async Task<VmmSupervisor.VmmInstance?> AdoptWithRetriesAsync(Guid? destinationId, VmRecord vm, int processId)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await supervisor.AdoptAsync(destinationId, vm.Id, vm.Name, processId, CancellationToken.None);
            }
            catch (Exception e) when (e is OperationFailedException or QmpCommandException or IOException or TimeoutException or System.Net.Sockets.SocketException)
            {
                logger.LogWarning("VM {Name}: watching its VMM on the destination failed (attempt {Attempt}): {Reason}", vm.Name, attempt, e.Message);
                if (attempt == 3)
                {
                    return null;
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Polls query-migrate until it ends, reporting progress; a cancel asks the VMM to cancel and waits for it.</summary>
    private static async Task FollowAsync(OperationContext context, VmmSupervisor.VmmInstance source)
    {
        DateTime lastLog = DateTime.MinValue;
        bool cancelled = false;
        while (true)
        {
            if (context.CancellationToken.IsCancellationRequested && !cancelled)
            {
                cancelled = true;
                context.Log("Cancelling the migration; the VM runs on where it is.");
                await source.Qmp.ExecuteAsync("migrate_cancel", null, CancellationToken.None);
            }

            JsonNode? info = await source.Qmp.ExecuteAsync("query-migrate", null, CancellationToken.None);
            string status = info?["status"]?.GetValue<string>() ?? "";
            switch (status)
            {
                case "completed":
                    context.Progress(1);
                    context.Log(string.Create(CultureInfo.InvariantCulture,
                        $"Completed in {info?["total-time"]?.GetValue<double>() ?? 0:0} ms, the guest stopped for {info?["downtime"]?.GetValue<double>() ?? 0:0} ms, {Figure(info?["ram"] as JsonObject, "transferred") / 1048576:0.0} MiB sent{(info?["disk"] is JsonObject disk ? string.Create(CultureInfo.InvariantCulture, $" and {Figure(disk, "transferred") / 1048576:0.0} MiB of disk") : "")}."));
                    return;
                case "failed":
                    throw new OperationFailedException(Sentences.Of($"The migration failed: {info?["error-desc"]?.GetValue<string>() ?? "no reason given"}; the VM runs on its source"));
                case "cancelled":
                    throw new OperationCanceledException("The migration was cancelled; the VM runs on its source.");
            }

            if (info?["ram"] is JsonObject ram)
            {
                // With the disks copied along, their bytes count in the progress as the memory's do.
                JsonObject? disk = info["disk"] as JsonObject;
                double transferred = Figure(ram, "transferred") + Figure(disk, "transferred");
                double total = Math.Max(1, Figure(ram, "total") + Figure(disk, "total"));
                double remaining = Figure(ram, "remaining") + Figure(disk, "remaining");
                context.Progress(Math.Clamp(1 - remaining / total, 0, 0.99));
                if (DateTime.UtcNow - lastLog > TimeSpan.FromSeconds(1))
                {
                    lastLog = DateTime.UtcNow;
                    double dirtyRate = Figure(ram, "dirty-pages-rate");
                    double pageSize = ram["page-size"]?.GetValue<double>() ?? 4096;
                    context.Log(string.Create(CultureInfo.InvariantCulture,
                        $"{status}: {transferred / 1048576:0.0} MiB sent, {remaining / 1048576:0.0} MiB left{(disk is null ? "" : $" (disks: {Figure(disk, "remaining") / 1048576:0.0} MiB)")}, dirtied {dirtyRate * pageSize / 1048576:0.0} MiB/s."));
                }
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>Where the source's agent reaches the destination: an agent's host at the address its agent came from; the manager's own host at the address the source's agent reached it on.</summary>
    private async Task<string> DestinationAddressAsync(InventoryContext db, Guid? destinationId, Guid? sourceHostId)
    {
        if (destinationId is { } remote)
        {
            return await db.Hosts.Where(h => h.Id == remote).Select(h => h.Address).FirstOrDefaultAsync()
                ?? throw new OperationFailedException("The destination host's address is not known; its agent has not connected.");
        }

        return sourceHostId is { } source && hosts.FindSession(source)?.ManagerAddress is { } address
            ? address
            : throw new OperationFailedException("The source host's agent is not connected.");
    }

    private static string FormatEndpoint(string address, int port)
    {
        IPAddress ip = IPAddress.Parse(address);
        return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, port).ToString();
    }

    private static double Figure(JsonObject? figures, string name) => figures?[name]?.GetValue<double>() ?? 0;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
