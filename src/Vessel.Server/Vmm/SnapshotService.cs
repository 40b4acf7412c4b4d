using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Storage;
using Vessel.Storage;
using Vessel.Storage.Qcow2;
using SnapshotInfo = Vessel.Client.Contracts.SnapshotInfo;

namespace Vessel.Server.Vmm;

/// <summary>
/// Each VM's snapshots as a tree in the inventory, their data as qcow2 internal snapshots under
/// the snapshot's name in every writable disk: through the VMM's QMP (<c>snapshot-save</c>,
/// <c>-load</c>, <c>-delete</c> jobs; the VM state goes into the first disk's VM-state area) while
/// a VMM runs, through Vessel's image library while the VM is stopped.
/// </summary>
public sealed class SnapshotService(OperationManager operations, VmmSupervisor supervisor, VmLifecycle lifecycle)
{
    public static async Task<SnapshotTree> TreeAsync(InventoryContext db, VmRecord vm)
    {
        List<SnapshotRecord> snapshots = await db.Snapshots.AsNoTracking().Where(s => s.VmId == vm.Id).OrderBy(s => s.CreatedAt).ToListAsync();
        Dictionary<Guid, string> names = snapshots.ToDictionary(s => s.Id, s => s.Name);
        string? current = vm.CurrentSnapshotId is { } id && names.TryGetValue(id, out string? name) ? name : null;
        return new SnapshotTree(current, snapshots.Select(s => new SnapshotInfo(
            s.Name,
            s.ParentId is { } p && names.TryGetValue(p, out string? parent) ? parent : null,
            s.Description,
            s.Memory,
            s.VmState,
            DateTime.SpecifyKind(s.CreatedAt, DateTimeKind.Utc),
            s.Id == vm.CurrentSnapshotId)).ToArray());
    }

    public async Task<OperationInfo> CreateAsync(InventoryContext db, VmRecord vm, SnapshotCreateRequest request)
    {
        string name = Names.Check("snapshot", request.Name);
        string description = VmCreation.CheckDescription(request.Description);
        if (await db.Snapshots.AnyAsync(s => s.VmId == vm.Id && s.Name == name))
        {
            throw ApiException.Conflict($"VM '{vm.Name}' already has a snapshot named '{name}'.");
        }

        RequireSnapshotDisks(vm);
        bool live = VmStates.HasProcess(vm.State);
        if (request.Memory && !live)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {vm.State}, so it has no memory to save; take the snapshot without --memory, or start the VM first.");
        }

        if (vm.State is VmStates.Suspended or VmStates.Crashed or VmStates.Starting)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {vm.State}; snapshots are taken of running, paused or stopped VMs.");
        }

        return await operations.StartAsync("snapshot.create", new OperationManager.Target("VM", vm.Name, vm.Id), mayCancel: false, async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            VmRecord current = await VmDefinitions.FindAsync(opDb, vm.Id.ToString());
            List<DiskRecord> disks = RequireSnapshotDisks(current);
            string vmState = current.State;
            await RemoveLeftoverAsync(context, current, disks, name);
            if (supervisor.Find(current.Id) is { } instance)
            {
                context.Log($"Saving snapshot '{name}' of the running VM '{vm.Name}'{(request.Memory ? " with its memory" : "")}.");
                await VmmSupervisor.RunJobAsync(instance, "snapshot-save", new JsonObject
                {
                    ["tag"] = name,
                    ["vmstate"] = VmDefinitions.DriveId(disks[0].Slot),
                    ["devices"] = new JsonArray(disks.Select(d => (JsonNode)VmDefinitions.DriveId(d.Slot)).ToArray()),
                }, context.CancellationToken);
            }
            else
            {
                context.Log($"Saving snapshot '{name}' of the disks of VM '{vm.Name}'.");
                await Task.Run(() => ForEachImage(disks, image => image.CreateSnapshot(name)));
            }

            var snapshot = new SnapshotRecord
            {
                Id = Guid.NewGuid(),
                VmId = current.Id,
                Name = name,
                Description = description,
                ParentId = current.CurrentSnapshotId,
                Memory = request.Memory,
                VmState = vmState == VmStates.Paused ? VmStates.Paused : vmState == VmStates.Stopped ? VmStates.Stopped : VmStates.Running,
                CreatedAt = DateTime.UtcNow,
            };
            opDb.Snapshots.Add(snapshot);
            await opDb.SaveChangesAsync(CancellationToken.None);
            // The VM's row is updated in place: its state may have moved meanwhile (STOP/RESUME).
            await opDb.Vms.Where(v => v.Id == current.Id).ExecuteUpdateAsync(s => s
                .SetProperty(v => v.CurrentSnapshotId, snapshot.Id)
                .SetProperty(v => v.Version, v => v.Version + 1));
            return name;
        });
    }

    public async Task<OperationInfo> RevertAsync(InventoryContext db, VmRecord vm, string snapshotName)
    {
        SnapshotRecord snapshot = await FindAsync(db, vm, snapshotName);
        if (vm.State is VmStates.Starting or VmStates.Stopping or VmStates.Suspending)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' is {vm.State}; revert it once that is done.");
        }

        return await operations.StartAsync("snapshot.revert", new OperationManager.Target("VM", vm.Name, vm.Id), mayCancel: false, async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            VmRecord current = await VmDefinitions.FindAsync(opDb, vm.Id.ToString());
            List<DiskRecord> disks = RequireSnapshotDisks(current);
            VmmSupervisor.VmmInstance? instance = supervisor.Find(current.Id);
            if (snapshot.Memory)
            {
                if (instance is null)
                {
                    if (current.State == VmStates.Suspended)
                    {
                        // The snapshot replaces the suspended state: start afresh, then load it.
                        DropSuspendedState(current);
                        await opDb.Vms.Where(v => v.Id == current.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.StatePath, (string?)null));
                        await supervisor.SetStateAsync(current.Id, current.Name, VmStates.Stopped, null);
                    }

                    context.Log($"Starting VM '{vm.Name}' paused to load snapshot '{snapshot.Name}'.");
                    await lifecycle.StartNowAsync(context, current.Id, paused: true);
                    instance = supervisor.Require(current.Id, current.Name);
                }

                context.Log($"Loading snapshot '{snapshot.Name}' (disks and memory).");
                await VmmSupervisor.RunJobAsync(instance, "snapshot-load", new JsonObject
                {
                    ["tag"] = snapshot.Name,
                    ["vmstate"] = VmDefinitions.DriveId(disks[0].Slot),
                    ["devices"] = new JsonArray(disks.Select(d => (JsonNode)VmDefinitions.DriveId(d.Slot)).ToArray()),
                }, context.CancellationToken);
                string now = await VmmSupervisor.QueryStateAsync(instance, context.CancellationToken);
                if (snapshot.VmState == VmStates.Running && now != VmStates.Running)
                {
                    await instance.Qmp.ExecuteAsync("cont", null, context.CancellationToken);
                }
                else if (snapshot.VmState == VmStates.Paused && now == VmStates.Running)
                {
                    await instance.Qmp.ExecuteAsync("stop", null, context.CancellationToken);
                }

                await supervisor.SetStateAsync(current.Id, current.Name, snapshot.VmState == VmStates.Paused ? VmStates.Paused : VmStates.Running, instance.ProcessId);
            }
            else
            {
                if (instance is not null)
                {
                    context.Log($"Stopping VM '{vm.Name}': a disk snapshot is restored on stopped disks.");
                    await supervisor.SetStateAsync(current.Id, current.Name, VmStates.Stopping, instance.ProcessId);
                    await supervisor.QuitAsync(instance, VmLifecycle.QuitTimeout);
                }

                if (current.State == VmStates.Suspended)
                {
                    DropSuspendedState(current);
                    await supervisor.SetStateAsync(current.Id, current.Name, VmStates.Stopped, null);
                }

                context.Log($"Restoring the disks of VM '{vm.Name}' to snapshot '{snapshot.Name}'.");
                await Task.Run(() => ForEachImage(disks, image => image.ApplySnapshot(snapshot.Name)));
            }

            await opDb.Vms.Where(v => v.Id == current.Id).ExecuteUpdateAsync(s => s
                .SetProperty(v => v.CurrentSnapshotId, snapshot.Id)
                .SetProperty(v => v.StatePath, (string?)null)
                .SetProperty(v => v.Version, v => v.Version + 1));
            return snapshot.Name;
        });
    }

    public async Task<OperationInfo> DeleteAsync(InventoryContext db, VmRecord vm, string snapshotName)
    {
        SnapshotRecord snapshot = await FindAsync(db, vm, snapshotName);
        return await operations.StartAsync("snapshot.delete", new OperationManager.Target("VM", vm.Name, vm.Id), mayCancel: false, async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            VmRecord current = await VmDefinitions.FindAsync(opDb, vm.Id.ToString());
            List<DiskRecord> disks = RequireSnapshotDisks(current);
            if (supervisor.Find(current.Id) is { } instance)
            {
                await VmmSupervisor.RunJobAsync(instance, "snapshot-delete", new JsonObject
                {
                    ["tag"] = snapshot.Name,
                    ["devices"] = new JsonArray(disks.Select(d => (JsonNode)VmDefinitions.DriveId(d.Slot)).ToArray()),
                }, context.CancellationToken);
            }
            else
            {
                await Task.Run(() => ForEachImage(disks, image =>
                {
                    if (image.Snapshots.Any(s => s.Name == snapshot.Name))
                    {
                        image.DeleteSnapshot(snapshot.Name);
                    }
                }));
            }

            // The children move up to the deleted snapshot's parent; the disks' data needs no
            // merging, since each internal snapshot refers to its own clusters (refcounts).
            SnapshotRecord tracked = await opDb.Snapshots.FirstAsync(s => s.Id == snapshot.Id);
            foreach (SnapshotRecord child in await opDb.Snapshots.Where(s => s.ParentId == snapshot.Id).ToListAsync())
            {
                child.ParentId = tracked.ParentId;
            }

            opDb.Snapshots.Remove(tracked);
            await opDb.SaveChangesAsync(CancellationToken.None);
            Guid? parent = tracked.ParentId;
            await opDb.Vms.Where(v => v.Id == current.Id && v.CurrentSnapshotId == snapshot.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(v => v.CurrentSnapshotId, parent));
            await opDb.Vms.Where(v => v.Id == current.Id).ExecuteUpdateAsync(s => s.SetProperty(v => v.Version, v => v.Version + 1));
            context.Log($"Deleted snapshot '{snapshot.Name}'.");
            return snapshot.Name;
        });
    }

    /// <summary>
    /// A disk snapshot of this name that the inventory does not know is a leftover of a daemon
    /// stopped mid-operation (the disks were written, the row was not): it goes, so the name can
    /// be used again.
    /// </summary>
    private async Task RemoveLeftoverAsync(OperationContext context, VmRecord vm, List<DiskRecord> disks, string name)
    {
        bool leftover = disks.Any(d => Vessel.Storage.Operations.ImageInfo.Read(VolumeService.PathOf(d.Volume!), ImageFormat.Qcow2, forceShare: true).Snapshots.Any(s => s.Name == name));
        if (!leftover)
        {
            return;
        }

        context.Log($"Removing a leftover disk snapshot '{name}' that the inventory does not list.");
        if (supervisor.Find(vm.Id) is { } instance)
        {
            foreach (DiskRecord disk in disks)
            {
                try
                {
                    await VmmSupervisor.RunJobAsync(instance, "snapshot-delete", new JsonObject { ["tag"] = name, ["devices"] = new JsonArray(VmDefinitions.DriveId(disk.Slot)) }, context.CancellationToken);
                }
                catch (OperationFailedException)
                {
                    // This disk did not have it.
                }
            }
        }
        else
        {
            await Task.Run(() => ForEachImage(disks, image =>
            {
                if (image.Snapshots.Any(s => s.Name == name))
                {
                    image.DeleteSnapshot(name);
                }
            }));
        }
    }

    private static async Task<SnapshotRecord> FindAsync(InventoryContext db, VmRecord vm, string name)
    {
        Names.Check("snapshot", name);
        return await db.Snapshots.AsNoTracking().FirstOrDefaultAsync(s => s.VmId == vm.Id && s.Name == name)
            ?? throw ApiException.NotFound($"VM '{vm.Name}' has no snapshot named '{name}'.");
    }

    /// <summary>The writable disks, all qcow2 (raw disks cannot hold snapshots).</summary>
    private static List<DiskRecord> RequireSnapshotDisks(VmRecord vm)
    {
        List<DiskRecord> disks = vm.Disks.Where(d => !d.ReadOnly).OrderBy(d => d.Slot).ToList();
        if (disks.Count == 0)
        {
            throw ApiException.Conflict($"VM '{vm.Name}' has no writable disk to hold snapshots; add a qcow2 volume.");
        }

        if (disks.FirstOrDefault(d => d.Volume!.Format != "qcow2") is { } raw)
        {
            throw ApiException.Conflict($"Disk {VmDefinitions.DriveId(raw.Slot)} of VM '{vm.Name}' is {raw.Volume!.Format}; snapshots need qcow2 disks (convert it with vessel volume copy --format qcow2).");
        }

        return disks;
    }

    private static void ForEachImage(List<DiskRecord> disks, Action<Qcow2Image> action)
    {
        foreach (DiskRecord disk in disks)
        {
            using DiskImage image = ImageOpener.Open(VolumeService.PathOf(disk.Volume!), new ImageOpenOptions { Format = ImageFormat.Qcow2 });
            action((Qcow2Image)image);
        }
    }

    private static void DropSuspendedState(VmRecord vm)
    {
        if (vm.StatePath is { } path && path.EndsWith(".suspend.state", StringComparison.Ordinal))
        {
            File.Delete(path);
        }
    }
}
