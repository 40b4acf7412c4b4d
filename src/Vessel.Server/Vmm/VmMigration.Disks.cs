using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Storage;

namespace Vessel.Server.Vmm;

/// <summary>
/// The disks' half of a migration to a host that does not see them (QEMU's <c>migrate</c> with
/// <c>blk</c>, as Proxmox's migration with local disks): the destination host makes empty images
/// of the same sizes in its own pool, its waiting VMM opens them, and the source VMM sends the
/// disks' contents with the memory, the blocks the guest writes meanwhile sent again. Only when
/// the migration completed do the volumes' rows move to the destination's pool and the source's
/// files go; otherwise the images made for it go. A disk arrives whole in one image: a linked
/// clone's overlay arrives flattened (independent of its base), as QEMU's full block copy.
/// </summary>
public sealed partial class VmMigration
{
    /// <summary>One disk to copy: its volume, the file it is now, and its name and file in the destination's pool.</summary>
    private sealed record DiskCopy(Guid VolumeId, string Format, long VirtualBytes, string From, string Name, string FileName, string To);

    /// <summary>
    /// The disks of <paramref name="vm"/> that <paramref name="destination"/> does not see, with
    /// their new names and files in its pool; empty when it sees them all. Refuses what a copy
    /// cannot carry, each in one sentence.
    /// </summary>
    private static async Task<(PoolRecord? Pool, List<DiskCopy> Copies)> PlanDiskCopiesAsync(InventoryContext db, VmRecord vm, Guid? destination, string destinationName)
    {
        List<DiskRecord> disks = await db.Disks.AsNoTracking().Include(d => d.Volume).ThenInclude(v => v!.Pool).Where(d => d.VmId == vm.Id).OrderBy(d => d.Slot).ToListAsync();
        List<DiskRecord> moving = disks.Where(d => !d.Volume!.Pool!.Shared && d.Volume.Pool.HostId != destination).ToList();
        if (moving.Count == 0)
        {
            return (null, []);
        }

        if (moving.Count != disks.Count)
        {
            // The VMM copies every disk it has: one on a pool both hosts see would be written by both.
            throw ApiException.Conflict($"VM '{vm.Name}' has disks both on a shared pool and on its host's own; a migration copies all of a VM's disks or none, so keep them together.");
        }

        if (await db.Snapshots.AnyAsync(s => s.VmId == vm.Id))
        {
            throw ApiException.Conflict($"VM '{vm.Name}' has snapshots, which live inside its disks on this host; a migration that copies the disks carries only their current state, so delete the snapshots first or keep the VM on a shared pool.");
        }

        List<Guid> movingIds = moving.Select(d => d.VolumeId).ToList();
        if (await db.Volumes.AnyAsync(v => v.BackingVolumeId != null && movingIds.Contains(v.BackingVolumeId.Value)))
        {
            throw ApiException.Conflict($"A disk of VM '{vm.Name}' is the base of linked clones on this host, so it stays here.");
        }

        PoolRecord pool = await db.Pools.AsNoTracking().Where(p => !p.Shared && p.HostId == destination)
            .OrderByDescending(p => p.Name == "default").ThenBy(p => p.CreatedAt).FirstOrDefaultAsync()
            ?? throw ApiException.Conflict($"Host '{destinationName}' has no pool of its own for the disks of VM '{vm.Name}'.");
        var service = new VolumeService(db);
        var copies = new List<DiskCopy>();
        foreach (DiskRecord disk in moving)
        {
            VolumeRecord volume = disk.Volume!;
            string name = await service.UniqueNameAsync(pool, volume.Name);
            while (copies.Any(c => c.Name == name))
            {
                name = await service.UniqueNameAsync(pool, name + "-" + copies.Count);
            }

            string fileName = $"{name}.{volume.Format}";
            copies.Add(new DiskCopy(volume.Id, volume.Format, volume.VirtualBytes, VolumeService.PathOf(volume), name, fileName, Path.Combine(pool.Path, fileName)));
        }

        return (pool, copies);
    }

    /// <summary>
    /// A stopped VM's disks go the same way as a running one's: a VMM started paused on its host
    /// (its guest never runs) migrates with them to the destination, where it is stopped again.
    /// Whatever happens, the VM ends stopped, on its destination only if the migration completed.
    /// </summary>
    private async Task CarryStoppedAsync(OperationContext context, VmRecord vm, Guid? destinationId, string destinationName, PoolRecord pool, List<DiskCopy> copies)
    {
        context.Log($"VM '{vm.Name}' is stopped: a paused VMM on its host carries its disks (the guest does not run).");
        await lifecycle.StartNowAsync(context, vm.Id, paused: true);
        try
        {
            await MigrateLiveAsync(context, vm, destinationId, destinationName, null, pool, copies);
        }
        finally
        {
            InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
            VmRecord now = await db.Vms.AsNoTracking().FirstAsync(v => v.Id == vm.Id);
            if (VmStates.HasProcess(now.State))
            {
                VmmSupervisor.VmmInstance carrier = lifecycle.RequireProcess(now);
                await supervisor.SetStateAsync(vm.Id, vm.Name, VmStates.Stopping, carrier.ProcessId);
                await supervisor.QuitAsync(carrier, VmLifecycle.QuitTimeout);
            }
        }

        context.Log($"VM '{vm.Name}' is stopped on host '{destinationName}' with its disks; it starts there.");
    }

    /// <summary>The command that makes the destination's empty images.</summary>
    private static Command PrepareCommand(IEnumerable<DiskCopy> copies)
    {
        var prepare = new PrepareDisks();
        prepare.Images.AddRange(copies.Select(c => new DiskImage { Path = c.To, Format = c.Format, VirtualBytes = c.VirtualBytes }));
        return new Command { PrepareDisks = prepare };
    }

    /// <summary>The launch with each copied disk's drive opening its new file instead.</summary>
    private static VmmLaunchSpec WithCopiedDrives(VmmLaunchSpec spec, IReadOnlyList<DiskCopy> copies) => spec with
    {
        MachineArguments = [.. spec.MachineArguments.Select(argument =>
            copies.FirstOrDefault(c => argument.StartsWith($"file={c.From},", StringComparison.Ordinal)) is { } copy
                ? $"file={copy.To},{argument[$"file={copy.From},".Length..]}"
                : argument)],
    };

    /// <summary>After the migration completed: the volumes are the destination's files, whole and independent of any base.</summary>
    private static async Task MoveVolumeRowsAsync(InventoryContext db, PoolRecord pool, IReadOnlyList<DiskCopy> copies)
    {
        foreach (DiskCopy copy in copies)
        {
            await db.Volumes.Where(v => v.Id == copy.VolumeId).ExecuteUpdateAsync(s => s
                .SetProperty(v => v.PoolId, pool.Id)
                .SetProperty(v => v.Name, copy.Name)
                .SetProperty(v => v.FileName, copy.FileName)
                .SetProperty(v => v.BackingVolumeId, (Guid?)null));
        }
    }
}
