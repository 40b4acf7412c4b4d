using System.Net;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// Keeps the hosts' states true to their heartbeats: every heartbeat interval it reads the
/// manager's own host's capacity (with the code the agents use: the manager's host is a host like
/// any other) and marks agents silent for three intervals unreachable.
/// </summary>
public sealed class HostMonitor(IServiceScopeFactory scopes, HostRegistry registry, ILogger<HostMonitor> logger) : BackgroundService
{
    /// <summary>The manager's own host's name: the machine's, else <c>local</c>.</summary>
    public static string LocalHostName()
    {
        string name = Dns.GetHostName();
        return name.Length is > 0 and <= InventoryContext.NameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') && char.IsAsciiLetterOrDigit(name[0])
            ? name
            : HostService.LocalAlias;
    }

    /// <summary>Makes the manager's own host's record on first start (or renames it to the machine's name).</summary>
    public static void EnsureLocalHost(InventoryContext db, DateTime now)
    {
        string name = LocalHostName();
        HostRecord? local = db.Hosts.FirstOrDefault(h => h.IsLocal);
        if (local is null)
        {
            // A joined host of the same name would clash: the manager's own then goes by 'local'.
            string free = db.Hosts.Any(h => h.Name == name) ? HostService.LocalAlias : name;
            db.Hosts.Add(new HostRecord { Id = Guid.NewGuid(), Name = free, State = HostStates.Up, IsLocal = true, CreatedAt = now, JoinedAt = now, AgentVersion = AgentVersion.Current });
        }
        else if (local.Name != name && !db.Hosts.Any(h => h.Name == name))
        {
            local.Name = name;
        }

        db.SaveChanges();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(registry.HeartbeatInterval);
        do
        {
            try
            {
                await RefreshLocalHostAsync(stoppingToken);
                await registry.MarkSilentHostsAsync(stoppingToken);
            }
            catch (Exception e) when (e is DbUpdateException or InvalidOperationException or TimeoutException)
            {
                logger.LogWarning(e, "Could not update the hosts' states");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RefreshLocalHostAsync(CancellationToken cancellationToken)
    {
        Guid? localId;
        int running;
        await using (AsyncServiceScope scope = scopes.CreateAsyncScope())
        {
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            localId = await db.Hosts.Where(h => h.IsLocal).Select(h => (Guid?)h.Id).FirstOrDefaultAsync(cancellationToken);
            running = await db.Vms.CountAsync(v => v.HostId == null && (v.State == VmStates.Running || v.State == VmStates.Paused), cancellationToken);
        }

        if (localId is { } id)
        {
            await registry.ReportAsync(id, HostCapacity.Read(running), AgentVersion.Current, null, cancellationToken);
        }
    }
}

/// <summary>The version agents report: the assembly's.</summary>
public static class AgentVersion
{
    public static readonly string Current = typeof(AgentVersion).Assembly.GetName().Version?.ToString(3) ?? "0";
}
