using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Events;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts;
using Vessel.Server.Inventory;
using Vessel.Server.Licensing;
using Vessel.Server.Networks;
using Vessel.Server.Operations;
using Vessel.Server.Storage;

namespace Vessel.Server.Vmm;

/// <summary>
/// A VM's life cycle as operations: start, stop (hard), shutdown (ask the guest, then stop),
/// reboot, reset, pause, resume, suspend to disk (and resume from it), delete. Each runs as an
/// operation that holds the VM, so a second changing request gets 409.
/// </summary>
public sealed class VmLifecycle(ServerOptions options, OperationManager operations, VmmSupervisor supervisor, EventHub events, LicenseGate licenses)
{
    public static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(30);

    public async Task<OperationInfo> StartAsync(VmRecord vm)
    {
        operations.RequireIdle(new OperationManager.Target("VM", vm.Name, vm.Id));
        RequireStartable(vm);
        await licenses.CheckPowerOnAsync(vm);
        return await Run("vm.start", vm, mayCancel: false, context => StartNowAsync(context, vm.Id, paused: false));
    }

    /// <summary>Starts the VM (from its suspended state when it has one); returns once the VMM runs.</summary>
    public async Task<string?> StartNowAsync(OperationContext context, Guid vmId, bool paused)
    {
        InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
        VmRecord vm = await VmDefinitions.FindAsync(db, vmId.ToString());
        RequireStartable(vm);
        // Every power-on comes here (start, resume, clones that start, reverts that start): the licence decides.
        using IDisposable powerOn = await licenses.ReservePowerOnAsync(db, vm, context.CancellationToken);
        VmmLaunchSpec spec = await LaunchSpecAsync(context, db, vm) with { Paused = paused };
        bool resuming = vm.State == VmStates.Suspended && vm.StatePath is not null;
        if (resuming)
        {
            spec = spec with { Incoming = $"file:{vm.StatePath}" };
            context.Log($"Resuming VM '{vm.Name}' from {vm.StatePath}.");
        }
        else
        {
            context.Log($"Starting VM '{vm.Name}'.");
        }

        string definition = VmDefinitions.DefinitionText(vm);
        string? statePath = vm.StatePath;
        Guid? hostId = await HostToStartOnAsync(db, vm, resuming);
        await supervisor.StartAsync(spec, hostId, context.CancellationToken);
        await db.Vms.Where(v => v.Id == vm.Id).ExecuteUpdateAsync(s => s
            .SetProperty(v => v.RunningDefinition, definition)
            .SetProperty(v => v.StatePath, (string?)null));
        if (resuming && statePath is not null && statePath.EndsWith(".suspend.state", StringComparison.Ordinal))
        {
            // The VMM maps the RAM copy-on-write: the file may go now, its pages stay mapped.
            File.Delete(statePath);
        }

        context.Log($"VM '{vm.Name}' is running.");
        return vm.Name;
    }

    /// <summary>
    /// The VM's own host while that can take it; else (its agent away, in maintenance) another one
    /// that can, which becomes the VM's host. A suspended VM resumes where its state was saved.
    /// </summary>
    private static async Task<Guid?> HostToStartOnAsync(InventoryContext db, VmRecord vm, bool resuming)
    {
        if (resuming)
        {
            return vm.HostId;
        }

        HostRecord? host = await db.Hosts.AsNoTracking().FirstOrDefaultAsync(h => vm.HostId == null ? h.IsLocal : h.Id == vm.HostId);
        if (host is null)
        {
            return vm.HostId;
        }

        Placement.Needs needs = await Placement.NeedsOfAsync(db, vm.Id);
        if (Placement.UnfitReason(host, needs) is null)
        {
            return vm.HostId;
        }

        Guid? chosen = await Placement.ChooseAsync(db, vm.Name, needs, null, excluding: host.Id);
        await db.Vms.Where(v => v.Id == vm.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.HostId, chosen));
        return chosen;
    }

    public static void RequireStartable(VmRecord vm)
    {
        if (vm.State == VmStates.Unknown)
        {
            throw UnknownState(vm);
        }

        if (vm.IsTemplate)
        {
            throw ApiException.Conflict($"Template '{vm.Name}' cannot start; create a VM from it with --template {vm.Name}.");
        }

        if (VmStates.HasProcess(vm.State) || vm.State == VmStates.Starting)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is already {vm.State}.");
        }
    }

    /// <summary>The launch of a VM as defined now: NICs prepared (switches started, TAPs made).</summary>
    public async Task<VmmLaunchSpec> LaunchSpecAsync(OperationContext context, InventoryContext db, VmRecord vm)
    {
        var nets = new List<string>();
        NetworkService networks = context.Services.GetRequiredService<NetworkService>();
        foreach (NicRecord nic in vm.Nics.OrderBy(n => n.Slot))
        {
            nets.Add(await networks.PrepareNicAsync(nic, vm, context.CancellationToken));
        }

        string? isoPath = null;
        if (vm.IsoVolumeId is { } isoId)
        {
            VolumeRecord iso = await db.Volumes.Include(v => v.Pool).FirstAsync(v => v.Id == isoId);
            isoPath = VolumeService.PathOf(iso);
        }

        return new VmmLaunchSpec(vm.Id, vm.Name, VmDefinitions.MachineArguments(vm, nets, isoPath)) { Display = vm.Display == VmDisplays.Vnc };
    }

    public Task<OperationInfo> StopAsync(VmRecord vm) => Run("vm.stop", vm, mayCancel: false, async context =>
    {
        VmmSupervisor.VmmInstance instance = RequireProcess(vm);
        await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Stopping, instance.ProcessId);
        await supervisor.QuitAsync(instance, QuitTimeout);
        context.Log($"VM '{vm.Name}' stopped.");
        return vm.Name;
    });

    public Task<OperationInfo> ShutdownAsync(VmRecord vm, TimeSpan timeout) => Run("vm.shutdown", vm, mayCancel: true, async context =>
    {
        await ShutdownNowAsync(context, vm, timeout);
        return vm.Name;
    });

    private async Task ShutdownNowAsync(OperationContext context, VmRecord vm, TimeSpan timeout)
    {
        VmmSupervisor.VmmInstance instance = RequireProcess(vm);
        context.Log($"Asking the guest of VM '{vm.Name}' to power off (at most {timeout.TotalSeconds:0} s).");
        await instance.Qmp.ExecuteAsync("system_powerdown", null, context.CancellationToken);
        // Cancelling the operation (DELETE /operations/{id}) ends the wait: the VM runs on.
        if (!await VmmSupervisor.WaitForExitAsync(instance, timeout, context.CancellationToken))
        {
            context.Log("The guest did not power off in time; stopping the VM.");
            await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Stopping, instance.ProcessId);
            await supervisor.QuitAsync(instance, QuitTimeout);
        }
    }

    public async Task<OperationInfo> RebootAsync(VmRecord vm, TimeSpan timeout)
    {
        // A reboot starts a new VMM: refused before the guest is powered off, so the VM keeps running.
        await licenses.CheckPowerOnAsync(vm);
        return await Run("vm.reboot", vm, mayCancel: false, async context =>
        {
            // A reboot applies pending changes: the guest powers off, a new VMM starts.
            await ShutdownNowAsync(context, vm, timeout);
            return await StartNowAsync(context, vm.Id, paused: false);
        });
    }

    /// <summary>
    /// Changes the disc of a running VM started with a CD/DVD drive at once, as QEMU's
    /// <c>blockdev-change-medium</c> and <c>eject</c> (forced, as pressing the drive's button
    /// whether or not the guest locked it); a VM started without a drive gets one at its next
    /// start (a pending change).
    /// </summary>
    public static async Task ChangeDiscAsync(VmRecord vm, VmmSupervisor.VmmInstance instance, VolumeRecord? disc, CancellationToken cancellationToken)
    {
        if (vm.RunningDefinition is not { } running || !VmDefinitions.HasOpticalDrive(running))
        {
            return;
        }

        try
        {
            if (disc is null)
            {
                await instance.Qmp.ExecuteAsync("eject", new JsonObject { ["id"] = VmDefinitions.OpticalDriveId, ["force"] = true }, cancellationToken);
            }
            else
            {
                await instance.Qmp.ExecuteAsync("blockdev-change-medium", new JsonObject { ["id"] = VmDefinitions.OpticalDriveId, ["filename"] = VolumeService.PathOf(disc), ["format"] = "raw", ["force"] = true }, cancellationToken);
            }
        }
        catch (QmpCommandException e)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' did not take the disc change ({e.Message.TrimEnd('.')}).");
        }

        vm.RunningDefinition = VmDefinitions.WithDisc(running, disc?.Id);
    }

    public Task<OperationInfo> ResetAsync(VmRecord vm) => Qmp("vm.reset", vm, "system_reset");

    public Task<OperationInfo> PauseAsync(VmRecord vm) => Run("vm.pause", vm, mayCancel: false, async context =>
    {
        VmmSupervisor.VmmInstance instance = RequireProcess(vm);
        await instance.Qmp.ExecuteAsync("stop", null, context.CancellationToken);
        await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Paused, instance.ProcessId);
        return vm.Name;
    });

    public Task<OperationInfo> ResumeAsync(VmRecord vm)
    {
        if (vm.State == VmStates.Suspended)
        {
            return StartAsync(vm);
        }

        return Run("vm.resume", vm, mayCancel: false, async context =>
        {
            VmmSupervisor.VmmInstance instance = RequireProcess(vm);
            await instance.Qmp.ExecuteAsync("cont", null, context.CancellationToken);
            await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Running, instance.ProcessId);
            return vm.Name;
        });
    }

    public Task<OperationInfo> SuspendAsync(VmRecord vm) => Run("vm.suspend", vm, mayCancel: false, async context =>
    {
        VmmSupervisor.VmmInstance instance = RequireProcess(vm);
        if (instance.IsRemote)
        {
            // The state file is written where the VMM runs; the manager keeps its states on its own host.
            throw ApiException.Conflict($"VM '{vm.Name}' runs on an agent's host; suspending to disk is done on the manager's own host (migrate it there first).");
        }

        Directory.CreateDirectory(options.StatesDirectory);
        string statePath = Path.Combine(options.StatesDirectory, $"{vm.Id:N}.suspend.state");
        context.Log($"Saving the state of VM '{vm.Name}' to {statePath}.");
        await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Suspending, instance.ProcessId);
        try
        {
            await instance.Qmp.ExecuteAsync("stop", null, context.CancellationToken);
            await VmmSupervisor.SaveStateAsync(instance, statePath, context.CancellationToken);
        }
        catch
        {
            File.Delete(statePath);
            await instance.Qmp.ExecuteAsync("cont", null, CancellationToken.None);
            await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Running, instance.ProcessId);
            throw;
        }

        await supervisor.QuitAsync(instance, QuitTimeout);
        InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
        await db.Vms.Where(v => v.Id == vm.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.StatePath, statePath));
        await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Suspended, null);
        return vm.Name;
    });

    public Task<OperationInfo> DeleteAsync(VmRecord vm, bool deleteDisks) => Run("vm.delete", vm, mayCancel: false, async context =>
    {
        InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
        VmRecord current = await VmDefinitions.FindAsync(db, vm.Id.ToString());
        if (VmStates.HasProcess(current.State) || current.State == VmStates.Starting)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {current.State}; stop it before deleting it.");
        }

        await RequireNoDependentsAsync(db, current);
        List<VolumeRecord> volumes = current.Disks.Select(d => d.Volume!).ToList();
        List<VolumeRecord> bases = await db.Volumes.Include(v => v.Pool).Where(v => v.BaseOfVmId == current.Id).ToListAsync();
        db.Snapshots.RemoveRange(db.Snapshots.Where(s => s.VmId == current.Id));
        db.Vms.Remove(current);
        await db.SaveChangesAsync();
        var volumeService = new VolumeService(db, context.Services.GetRequiredService<Hosts.HostCommands>());
        if (deleteDisks)
        {
            foreach (VolumeRecord volume in volumes.Concat(bases))
            {
                if ((await volumeService.UsersOfAsync(volume)).Count == 0)
                {
                    await volumeService.DeleteUnusedAsync(volume);
                    context.Log($"Deleted volume {VolumeService.ReferenceOf(volume)}.");
                }
            }
        }

        if (current.StatePath is { } statePath && statePath.StartsWith(options.StatesDirectory, StringComparison.Ordinal))
        {
            File.Delete(statePath);
        }

        try
        {
            Directory.Delete(VmmPaths.For(options, current.Id).Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        events.Publish("vm.deleted", "vm", vm.Name);
        return vm.Name;
    });

    /// <summary>Refuses while other VMs' disks are overlays on this VM's disks or on bases made from it.</summary>
    public static async Task RequireNoDependentsAsync(InventoryContext db, VmRecord vm)
    {
        List<Guid> ownVolumes = vm.Disks.Select(d => d.VolumeId).ToList();
        List<Guid> bases = await db.Volumes.Where(v => v.BaseOfVmId == vm.Id).Select(v => v.Id).ToListAsync();
        List<Guid> protectedIds = [.. ownVolumes, .. bases];
        List<string> dependents = await db.Volumes
            .Where(v => v.BackingVolumeId != null && protectedIds.Contains(v.BackingVolumeId.Value) && !ownVolumes.Contains(v.Id))
            .Join(db.Disks, v => v.Id, d => d.VolumeId, (v, d) => d.VmId)
            .Join(db.Vms, id => id, other => other.Id, (id, other) => other.Name)
            .Distinct().ToListAsync();
        if (dependents.Count > 0)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' cannot be deleted while the clones {string.Join(", ", dependents.Take(5))} depend on its disks; delete them first.");
        }
    }

    private Task<OperationInfo> Qmp(string kind, VmRecord vm, string command) => Run(kind, vm, mayCancel: false, async context =>
    {
        VmmSupervisor.VmmInstance instance = RequireProcess(vm);
        await instance.Qmp.ExecuteAsync(command, null, context.CancellationToken);
        return vm.Name;
    });

    /// <summary>Applies a balloon target live.</summary>
    public static async Task SetBalloonAsync(VmmSupervisor.VmmInstance instance, long bytes) =>
        await instance.Qmp.ExecuteAsync("balloon", new JsonObject { ["value"] = bytes }, CancellationToken.None);

    public VmmSupervisor.VmmInstance RequireProcess(VmRecord vm) =>
        supervisor.Find(vm.Id) ?? throw (vm.State == VmStates.Unknown ? UnknownState(vm) : ApiException.Conflict($"VM '{vm.Name}' is {vm.State}, not running."));

    /// <summary>Nothing is done to a VM whose host's agent is away: what it would change is not known.</summary>
    public static ApiException UnknownState(VmRecord vm) =>
        ApiException.Conflict($"VM '{vm.Name}' is in an unknown state: its host's agent is not connected; it can be managed again when the agent is back.");

    private Task<OperationInfo> Run(string kind, VmRecord vm, bool mayCancel, Func<OperationContext, Task<string?>> work)
    {
        var target = new OperationManager.Target("VM", vm.Name, vm.Id);
        operations.RequireIdle(target);

        // What needs a running VMM is refused at once (409), not as a failed operation.
        if (kind is not ("vm.start" or "vm.delete") && !(kind == "vm.resume" && vm.State == VmStates.Suspended))
        {
            RequireProcess(vm);
        }

        if (kind == "vm.delete" && vm.State == VmStates.Unknown)
        {
            throw UnknownState(vm);
        }

        if (kind == "vm.delete" && (VmStates.HasProcess(vm.State) || vm.State == VmStates.Starting))
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {vm.State}; stop it before deleting it.");
        }

        return operations.StartAsync(kind, target, mayCancel, work);
    }
}
