using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// Which host a VM goes to. A host qualifies when it is up (not in maintenance, not
/// unreachable), sees the VM's storage (shared pools and its own: the manager's host the pools
/// made on it, an agent's host its <c>HOST-local</c> pool; a live migration may copy the disks
/// along instead) and can give it its networks (NAT runs inside the VMM on any host;
/// isolated and bridged networks live on the manager's host). Among those, a host asked for by
/// name must be one; otherwise the one with the most free memory wins (the manager's own host on
/// a tie).
/// </summary>
public static class Placement
{
    /// <summary>
    /// What a VM needs of a host: its storage and networks, and its rules — pinned, the hosts where
    /// VMs it is kept apart from run (host id, null for the manager's own → that VM's name), and
    /// the host of a VM it is kept together with.
    /// </summary>
    public sealed record Needs(IReadOnlyList<PoolNeed> LocalPools, IReadOnlyList<string> LocalNetworks)
    {
        /// <summary>The VM's writable disks may be copied to the host (a live block migration): their pools need not be seen there.</summary>
        public bool CopyDisks { get; init; }

        public bool Pinned { get; init; }

        public IReadOnlyList<(Guid? Host, string Vm)> ApartHosts { get; init; } = [];

        public (Guid? Host, string Vm)? Together { get; init; }
    }

    /// <summary>A pool that not every host sees: its name, its host (null: the manager's own) and whether only copyable disks are in it (not an ISO, not a read-only disk).</summary>
    public sealed record PoolNeed(string Name, Guid? HostId, bool Copyable);

    /// <summary>The pools among <paramref name="pools"/> that not every host sees.</summary>
    public static List<PoolNeed> LocalPoolsOf(IEnumerable<(PoolRecord Pool, bool Copyable)> pools) =>
        pools.Where(p => !p.Pool.Shared).GroupBy(p => p.Pool.Id)
            .Select(g => new PoolNeed(g.First().Pool.Name, g.First().Pool.HostId, g.All(p => p.Copyable))).ToList();

    /// <summary>The states in which a VM occupies a host (a VMM exists, or may).</summary>
    private static readonly string[] s_occupying = [VmStates.Running, VmStates.Paused, VmStates.Starting, VmStates.Stopping, VmStates.Suspending, VmStates.Unknown];

    /// <summary>
    /// The rules' part of the needs of VM <paramref name="vmId"/> (saved or about to be) with the
    /// given rules: the hosts of the VMs it is kept apart from and with, counting also the VMs
    /// whose own rules name it (the rules hold both ways); only VMs that occupy a host count.
    /// </summary>
    public static async Task<Needs> WithRulesAsync(InventoryContext db, Needs needs, Guid vmId, bool pinned, string apartFrom, string togetherWith)
    {
        string self = $",{vmId},";
        var occupying = await db.Vms.AsNoTracking().Where(v => v.Id != vmId && s_occupying.Contains(v.State))
            .Select(v => new { v.Id, v.Name, v.HostId, v.KeepApartFrom, v.KeepTogetherWith }).ToListAsync();
        var apart = occupying.Where(v => apartFrom.Contains($",{v.Id},", StringComparison.Ordinal) || v.KeepApartFrom.Contains(self, StringComparison.Ordinal))
            .Select(v => (v.HostId, v.Name)).ToList();
        var together = occupying.FirstOrDefault(v => togetherWith.Contains($",{v.Id},", StringComparison.Ordinal) || v.KeepTogetherWith.Contains(self, StringComparison.Ordinal));
        return needs with { Pinned = pinned, ApartHosts = apart, Together = together is null ? null : (together.HostId, together.Name) };
    }

    /// <summary>The needs of the VM as saved.</summary>
    public static async Task<Needs> NeedsOfAsync(InventoryContext db, Guid vmId)
    {
        Needs needs = await ResourceNeedsAsync(db, vmId);
        var rules = await db.Vms.AsNoTracking().Where(v => v.Id == vmId).Select(v => new { v.PinToHost, v.KeepApartFrom, v.KeepTogetherWith }).FirstAsync();
        return await WithRulesAsync(db, needs, vmId, rules.PinToHost, rules.KeepApartFrom, rules.KeepTogetherWith);
    }

    private static async Task<Needs> ResourceNeedsAsync(InventoryContext db, Guid vmId)
    {
        var disks = await db.Disks.Where(d => d.VmId == vmId).Select(d => new { d.Volume!.Pool, Copyable = !d.ReadOnly && !d.Volume.ReadOnly }).ToListAsync();
        var used = disks.Select(d => (d.Pool!, d.Copyable)).ToList();
        Guid? iso = await db.Vms.Where(v => v.Id == vmId).Select(v => v.IsoVolumeId).FirstOrDefaultAsync();
        if (iso is { } isoId && await db.Volumes.Where(v => v.Id == isoId).Select(v => v.Pool).FirstOrDefaultAsync() is { } isoPool)
        {
            used.Add((isoPool, false));
        }

        List<string> networks = await db.Nics.Where(n => n.VmId == vmId && n.Network!.Kind != "nat").Select(n => n.Network!.Name).Distinct().ToListAsync();
        return new Needs(LocalPoolsOf(used), networks);
    }

    /// <summary>
    /// The host for the VM: <paramref name="requested"/> (a name) when given and fit, else the
    /// best fit other than <paramref name="excluding"/>. Null means the manager's own host.
    /// Throws 404 for a host that does not exist, 409 with the reason when none fits.
    /// </summary>
    public static async Task<Guid?> ChooseAsync(InventoryContext db, string vmName, Needs needs, string? requested, Guid? excluding)
    {
        List<HostRecord> hosts = await db.Hosts.AsNoTracking().Where(h => h.State != HostStates.Removed).ToListAsync();
        if (needs.Pinned && requested is null && excluding is not null)
        {
            throw ApiException.Conflict($"VM '{vmName}' is pinned to its host; only a migration that names a host moves it.");
        }

        if (requested is null && excluding is null && hosts.All(h => h.IsLocal && h.State != HostStates.Maintenance) && needs.ApartHosts.Count == 0)
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

        Guid? key = host.IsLocal ? null : host.Id;
        foreach ((Guid? apartHost, string vm) in needs.ApartHosts)
        {
            if (apartHost == key)
            {
                return $"VM '{vm}' runs there, and the two are kept apart";
            }
        }

        if (needs.Together is { } together && together.Host != key)
        {
            return $"it is kept together with VM '{together.Vm}', which runs on another host";
        }

        foreach (PoolNeed pool in needs.LocalPools)
        {
            if (pool.HostId != key && !(needs.CopyDisks && pool.Copyable))
            {
                return pool.HostId is null
                    ? $"its disks are in the pool '{pool.Name}', which only the manager's host sees (a migration carries them along; VMs on a shared pool start on any host)"
                    : $"its disks are in the pool '{pool.Name}' of another host (a migration carries them along)";
            }
        }

        return !host.IsLocal && needs.LocalNetworks.Count > 0 ? $"its network '{needs.LocalNetworks[0]}' lives on the manager's host" : null;
    }

    private static Guid? HostIdOf(HostRecord host) => host.IsLocal ? null : host.Id;
}
