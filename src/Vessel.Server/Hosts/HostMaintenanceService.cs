using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Vmm;

namespace Vessel.Server.Hosts;

/// <summary>
/// Maintenance mode, as vSphere's: a host entering it takes no new VMs at once (placement skips
/// it, a VM of it that starts goes elsewhere) and its running VMs migrate away, a few at a time,
/// each to the best other host; it shows <c>ready</c> once empty. Leaving it makes the host take
/// VMs again. A VM that cannot leave (its disks on a pool only this host sees, no other host up)
/// fails the operation with its reason and stays where it runs.
/// </summary>
public sealed class HostMaintenanceService(HostService hosts, HostRegistry registry, OperationManager operations, VmMigration migration, ILogger<HostMaintenanceService> logger)
{
    /// <summary>Migrations of one evacuation that run at once.</summary>
    public const int ParallelMigrations = 2;

    public async Task<OperationInfo> EnterAsync(InventoryContext db, string name, CancellationToken cancellationToken)
    {
        HostRecord host = await hosts.FindAsync(db, name, cancellationToken);
        if (host.State == HostStates.Removed)
        {
            throw ApiException.Conflict($"Host '{host.Name}' was removed.");
        }

        host.Maintenance = true;
        if (host.State == HostStates.Up)
        {
            await registry.SetStateAsync(db, host, HostStates.Maintenance, "an administrator put it in maintenance", cancellationToken);
        }
        else
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        Guid hostId = host.Id;
        bool local = host.IsLocal;
        string hostName = host.Name;
        return await operations.StartAsync("host.maintenance", new OperationManager.Target("host", hostName, hostId), mayCancel: true, async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            List<VmRecord> vms = await opDb.Vms.AsNoTracking()
                .Where(v => (local ? v.HostId == null : v.HostId == hostId) && (v.State == VmStates.Running || v.State == VmStates.Paused))
                .OrderBy(v => v.Name).ToListAsync();
            context.Log(vms.Count == 0 ? $"Host '{hostName}' runs no VMs: it is ready for work." : $"Migrating {vms.Count} VMs away from host '{hostName}', {ParallelMigrations} at a time.");
            var failures = new List<string>();
            using var slots = new SemaphoreSlim(ParallelMigrations);
            int done = 0;
            await Task.WhenAll(vms.Select(async vm =>
            {
                await slots.WaitAsync(context.CancellationToken);
                try
                {
                    string? failure = await MigrateAwayAsync(context, vm);
                    lock (failures)
                    {
                        if (failure is not null)
                        {
                            failures.Add(failure);
                        }

                        context.Progress(++done / (double)vms.Count);
                    }
                }
                finally
                {
                    slots.Release();
                }
            }));
            if (failures.Count > 0)
            {
                throw new OperationFailedException($"{failures.Count} of {vms.Count} VMs could not leave host '{hostName}': {string.Join(" ", failures)}");
            }

            context.Log($"Host '{hostName}' is empty and ready for work.");
            return hostName;
        });
    }

    /// <summary>Migrates one VM to the best other host; the failure's sentence, or null.</summary>
    private async Task<string?> MigrateAwayAsync(OperationContext context, VmRecord vm)
    {
        try
        {
            InventoryContext db = context.Services.GetRequiredService<InventoryContext>();
            VmRecord current = await VmDefinitions.FindAsync(db, vm.Id.ToString());
            OperationInfo started = await migration.MigrateAsync(db, current, new VmMigrateRequest());
            context.Log($"VM '{vm.Name}': migrating (operation {started.Id}).");
            OperationInfo finished = started;
            while (finished.Status is OperationStatuses.Queued or OperationStatuses.Running)
            {
                if (context.CancellationToken.IsCancellationRequested)
                {
                    await operations.CancelAsync(started.Id);
                }

                finished = await operations.GetAsync(started.Id, TimeSpan.FromSeconds(1), CancellationToken.None);
            }

            if (finished.Status == OperationStatuses.Succeeded)
            {
                context.Log($"VM '{vm.Name}' left.");
                return null;
            }

            context.Log($"VM '{vm.Name}' did not leave: {finished.Error}");
            return $"VM '{vm.Name}': {finished.Error}";
        }
        catch (ApiException e)
        {
            logger.LogInformation("VM {Name} cannot leave for maintenance: {Reason}", vm.Name, e.Message);
            context.Log($"VM '{vm.Name}' cannot leave: {e.Message}");
            return $"VM '{vm.Name}': {e.Message}";
        }
    }

    public async Task<HostInfo> ExitAsync(InventoryContext db, string name, CancellationToken cancellationToken)
    {
        HostRecord host = await hosts.FindAsync(db, name, cancellationToken);
        host.Maintenance = false;
        if (host.State == HostStates.Maintenance)
        {
            await registry.SetStateAsync(db, host, HostStates.Up, "an administrator took it out of maintenance", cancellationToken);
        }
        else
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        return HostService.ToInfo(host);
    }
}
