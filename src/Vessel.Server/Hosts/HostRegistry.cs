using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Audit;
using Vessel.Server.Events;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// The hosts' live side: which agents are connected (one stream each), their heartbeats, and
/// every change of a host's state, which is saved, published on the events hub
/// (<c>host.up</c>, <c>host.unreachable</c>, ...) and written to the audit log.
/// </summary>
public sealed class HostRegistry(IServiceScopeFactory scopes, EventHub events, AuditLog audit, ServerOptions options, TimeProvider time, ILogger<HostRegistry> logger)
{
    private readonly ConcurrentDictionary<Guid, AgentSession> _sessions = new();

    /// <summary>State changes one at a time: a heartbeat and the unreachable check must not cross.</summary>
    private readonly SemaphoreSlim _stateGate = new(1, 1);

    /// <summary>The agent endpoint's port as bound (port 0 becomes a real one), once it listens.</summary>
    public int? AgentEndpointPort { get; set; }

    public TimeSpan HeartbeatInterval => options.AgentHeartbeatInterval;

    /// <summary>A host is unreachable after this long without a heartbeat.</summary>
    public TimeSpan UnreachableAfter => 3 * options.AgentHeartbeatInterval;

    public bool IsConnected(Guid hostId) => _sessions.ContainsKey(hostId);

    /// <summary>The connected agent of a host; null while none is.</summary>
    public AgentSession? FindSession(Guid hostId) => _sessions.TryGetValue(hostId, out AgentSession? session) ? session : null;

    /// <summary>Raised (on a pool thread) when an agent's stream has been admitted and welcomed, and when it ended.</summary>
    public event Action<AgentSession, bool>? SessionChanged;

    /// <summary>Registers a connected agent; an older stream of the same host is cut (the agent reconnected).</summary>
    public AgentSession Attach(Guid hostId, string hostName, Grpc.Core.IAsyncStreamWriter<ManagerMessage> writer, string? managerAddress)
    {
        var session = new AgentSession(hostId, hostName, writer) { ManagerAddress = managerAddress };
        AgentSession? previous = null;
        _sessions.AddOrUpdate(hostId, session, (_, old) =>
        {
            previous = old;
            return session;
        });
        previous?.Cancel();
        return session;
    }

    /// <summary>Tells the VM side an agent's stream is ready for commands (after its welcome).</summary>
    public void Announce(AgentSession session) => SessionChanged?.Invoke(session, true);

    /// <summary>The stream ended: whatever waited on it fails, and the VM side hears of it.</summary>
    public void Detach(AgentSession session)
    {
        session.Cancel();
        if (_sessions.TryRemove(new KeyValuePair<Guid, AgentSession>(session.HostId, session)))
        {
            SessionChanged?.Invoke(session, false);
        }
    }

    /// <summary>Cuts a host's agent off (removed).</summary>
    public void Disconnect(Guid hostId)
    {
        if (_sessions.TryRemove(hostId, out AgentSession? session))
        {
            session.Cancel();
            SessionChanged?.Invoke(session, false);
        }
    }

    /// <summary>A host's record as it is now (not tracked); null when there is none.</summary>
    public async Task<HostRecord?> FindAsync(Guid hostId, CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        return await db.Hosts.AsNoTracking().FirstOrDefaultAsync(h => h.Id == hostId, cancellationToken);
    }

    /// <summary>Ends every agent's stream (the manager stops: open streams would hold its shutdown up).</summary>
    public void DisconnectAll()
    {
        foreach (Guid hostId in _sessions.Keys)
        {
            Disconnect(hostId);
        }
    }

    /// <summary>Records what an agent reported (hello or heartbeat): capacity and time; a host not up becomes up.</summary>
    public async Task ReportAsync(Guid hostId, Capacity capacity, string? agentVersion, string? address, CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        await _stateGate.WaitAsync(cancellationToken);
        try
        {
            HostRecord? host = await db.Hosts.FirstOrDefaultAsync(h => h.Id == hostId, cancellationToken);
            if (host is null || host.State == HostStates.Removed)
            {
                return;
            }

            host.Harts = capacity.Harts;
            host.MemoryTotalBytes = capacity.MemoryTotalBytes;
            host.MemoryAvailableBytes = capacity.MemoryAvailableBytes;
            host.RunningVms = capacity.RunningVms;
            host.LoadAverage = capacity.LoadAverage;
            host.AgentVersion = agentVersion ?? host.AgentVersion;
            host.Address = address ?? host.Address;
            host.LastHeartbeatAt = time.GetUtcNow().UtcDateTime;
            if (host.State is HostStates.Connecting or HostStates.Unreachable)
            {
                await ChangeStateAsync(db, host, host.Maintenance ? HostStates.Maintenance : HostStates.Up, "its agent reports", cancellationToken);
            }
            else
            {
                await db.SaveChangesAsync(cancellationToken);
            }
        }
        finally
        {
            _stateGate.Release();
        }
    }

    /// <summary>The name of the pool an agent's host gets in its data directory.</summary>
    public static string HostPoolName(string hostName) => hostName + "-local";

    /// <summary>
    /// Gives an agent's host its own pool, <c>HOST-local</c> at <c>DATA_DIR/pools/default</c> of
    /// the agent (what the manager's <c>default</c> pool is to its host): where disks that migrate
    /// to the host with their VM land. Made at the first hello; its path follows the agent's data
    /// directory while it holds no volume.
    /// </summary>
    public async Task EnsureHostPoolAsync(Guid hostId, string hostName, string dataDirectory, CancellationToken cancellationToken)
    {
        if (!Path.IsPathFullyQualified(dataDirectory))
        {
            return; // an agent of an earlier version says nothing of its data directory
        }

        string path = ServerOptions.DefaultPoolPathOf(dataDirectory);
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        PoolRecord? pool = await db.Pools.FirstOrDefaultAsync(p => p.HostId == hostId, cancellationToken);
        if (pool is null)
        {
            string name = HostPoolName(hostName);
            if (await db.Pools.AnyAsync(p => p.Name == name, cancellationToken))
            {
                logger.LogWarning("Host {Host} gets no pool of its own: the name {Pool} is taken.", hostName, name);
                return;
            }

            db.Pools.Add(new PoolRecord { Id = Guid.NewGuid(), Name = name, Path = path, HostId = hostId, CreatedAt = time.GetUtcNow().UtcDateTime });
        }
        else if (pool.Path != path && !await db.Volumes.AnyAsync(v => v.PoolId == pool.Id, cancellationToken))
        {
            pool.Path = path;
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Sets a host's state (saved, published, audited) unless it is in it already.</summary>
    public async Task SetStateAsync(InventoryContext db, HostRecord host, string state, string reason, CancellationToken cancellationToken)
    {
        await _stateGate.WaitAsync(cancellationToken);
        try
        {
            await ChangeStateAsync(db, host, state, reason, cancellationToken);
        }
        finally
        {
            _stateGate.Release();
        }
    }

    private async Task ChangeStateAsync(InventoryContext db, HostRecord host, string state, string reason, CancellationToken cancellationToken)
    {
        if (host.State == state)
        {
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        string previous = host.State;
        host.State = state;
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Host {Host} is {State} (was {Previous}): {Reason}", host.Name, state, previous, reason);
        events.Publish($"host.{state}", "host", host.Name, state, reason);
        try
        {
            await audit.AppendAsync(new AuditEvent("system", host.Address ?? "manager", $"host.{state}", $"host:{host.Name}", StatusCodes.Status200OK, reason, null));
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            logger.LogError(e, "Could not write the audit entry for host {Host} becoming {State}", host.Name, state);
        }
    }

    /// <summary>Records an agent refused on the channel: logged and audited (the attempt is what an administrator looks for).</summary>
    public async Task RecordRefusalAsync(string address, string target, string reason)
    {
        logger.LogWarning("Refused an agent from {Address}: {Reason}", address, reason);
        try
        {
            await audit.AppendAsync(new AuditEvent("agent", address, "host.refused", target, StatusCodes.Status403Forbidden, reason, null));
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            logger.LogError(e, "Could not write the audit entry for a refused agent from {Address}", address);
        }
    }

    /// <summary>Marks hosts whose agent has been silent for three intervals unreachable; returns how many.</summary>
    public async Task<int> MarkSilentHostsAsync(CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        await _stateGate.WaitAsync(cancellationToken);
        try
        {
            // Read under the gate: a heartbeat that arrived a moment ago must win.
            DateTime silentSince = time.GetUtcNow().UtcDateTime - UnreachableAfter;
            List<HostRecord> silent = await db.Hosts
                .Where(h => !h.IsLocal && (h.State == HostStates.Up || h.State == HostStates.Maintenance) && (h.LastHeartbeatAt == null || h.LastHeartbeatAt < silentSince))
                .ToListAsync(cancellationToken);
            foreach (HostRecord host in silent)
            {
                await ChangeStateAsync(db, host, HostStates.Unreachable, $"no heartbeat for {UnreachableAfter.TotalSeconds:0.#} seconds", cancellationToken);
            }

            return silent.Count;
        }
        finally
        {
            _stateGate.Release();
        }
    }
}
