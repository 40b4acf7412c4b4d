using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// Which host a VM goes to. A host qualifies when it is up (not in maintenance, not
/// unreachable), sees the VM's storage (an agent's host sees only shared pools; the manager's
/// own host sees every pool) and can give it its networks (NAT runs inside the VMM on any host;
/// isolated and bridged networks live on the manager's host). Among those, a host asked for by
/// name must be one; otherwise the one with the most free memory wins (the manager's own host on
/// a tie).
/// </summary>
public static class Placement
{
    /// <summary>What a VM needs of a host.</summary>
    public sealed record Needs(IReadOnlyList<string> LocalPools, IReadOnlyList<string> LocalNetworks);

    /// <summary>The needs of the VM as saved.</summary>
    public static async Task<Needs> NeedsOfAsync(InventoryContext db, Guid vmId)
    {
        List<string> pools = await db.Disks.Where(d => d.VmId == vmId && !d.Volume!.Pool!.Shared).Select(d => d.Volume!.Pool!.Name).Distinct().ToListAsync();
        Guid? iso = await db.Vms.Where(v => v.Id == vmId).Select(v => v.IsoVolumeId).FirstOrDefaultAsync();
        if (iso is { } isoId && await db.Volumes.Where(v => v.Id == isoId && !v.Pool!.Shared).Select(v => v.Pool!.Name).FirstOrDefaultAsync() is { } isoPool)
        {
            pools.Add(isoPool);
        }

        List<string> networks = await db.Nics.Where(n => n.VmId == vmId && n.Network!.Kind != "nat").Select(n => n.Network!.Name).Distinct().ToListAsync();
        return new Needs(pools.Distinct().ToList(), networks);
    }

    /// <summary>
    /// The host for the VM: <paramref name="requested"/> (a name) when given and fit, else the
    /// best fit other than <paramref name="excluding"/>. Null means the manager's own host.
    /// Throws 404 for a host that does not exist, 409 with the reason when none fits.
    /// </summary>
    public static async Task<Guid?> ChooseAsync(InventoryContext db, string vmName, Needs needs, string? requested, Guid? excluding)
    {
        List<HostRecord> hosts = await db.Hosts.AsNoTracking().Where(h => h.State != HostStates.Removed).ToListAsync();
        if (requested is null && excluding is null && hosts.All(h => h.IsLocal && h.State != HostStates.Maintenance))
        {
            return null; // one host: the manager's own
        }

        if (requested is not null)
        {
            HostRecord host = hosts.FirstOrDefault(h => h.Name == requested || (requested == "local" && h.IsLocal))
                ?? throw ApiException.NotFound($"There is no host named '{HttpConventions.Short(requested)}'.");
            if (host.Id == excluding)
            {
                throw ApiException.Conflict($"VM '{vmName}' is on host '{host.Name}' already.");
            }

            return UnfitReason(host, needs) is { } why ? throw ApiException.Conflict($"VM '{vmName}' cannot go to host '{host.Name}': {why}.") : HostIdOf(host);
        }

        List<HostRecord> fit = hosts.Where(h => h.Id != excluding && UnfitReason(h, needs) is null).ToList();
        if (fit.Count == 0)
        {
            string reasons = string.Join("; ", hosts.Where(h => h.Id != excluding).Select(h => $"{h.Name}: {UnfitReason(h, needs)}"));
            throw ApiException.Conflict($"No host can take VM '{vmName}' ({(reasons.Length == 0 ? "there is no other host" : reasons)}).");
        }

        HostRecord best = fit.OrderByDescending(h => h.MemoryAvailableBytes).ThenByDescending(h => h.IsLocal).First();
        return HostIdOf(best);
    }

    /// <summary>Why a host cannot take the VM now (a clause), or null when it can.</summary>
    public static string? UnfitReason(HostRecord host, Needs needs)
    {
        if (host.State != HostStates.Up)
        {
            return host.State == HostStates.Maintenance ? "it is in maintenance" : $"it is {host.State}";
        }

        if (host.IsLocal)
        {
            return null;
        }

        if (needs.LocalPools.Count > 0)
        {
            return $"its disks are in the pool '{needs.LocalPools[0]}', which only the manager's host sees (make VMs that move on a shared pool)";
        }

        return needs.LocalNetworks.Count > 0 ? $"its network '{needs.LocalNetworks[0]}' lives on the manager's host" : null;
    }

    private static Guid? HostIdOf(HostRecord host) => host.IsLocal ? null : host.Id;
}
