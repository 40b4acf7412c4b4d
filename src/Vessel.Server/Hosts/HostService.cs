using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// The hosts of the platform as the API sees them: adding one (a record in state
/// <c>connecting</c> and its one-time join token), the enrolment of its agent with that token
/// (a client certificate of the manager's CA for the agent's own key), and removal (from then
/// on its certificate is refused, and a connected agent is cut off).
/// </summary>
public sealed class HostService(
    HostCertificateAuthority authority,
    HostRegistry registry,
    ServerCertificates serverCertificates,
    ServerOptions options,
    TimeProvider time,
    ILogger<HostService> logger)
{
    /// <summary>The name that always means the manager's own host in paths (<c>/api/v1/hosts/local</c>).</summary>
    public const string LocalAlias = "local";

    public async Task<HostRecord> FindAsync(InventoryContext db, string host, CancellationToken cancellationToken = default)
    {
        HostRecord? found = host == LocalAlias
            ? await db.Hosts.FirstOrDefaultAsync(h => h.IsLocal, cancellationToken)
            : Guid.TryParse(host, out Guid id)
                ? await db.Hosts.FirstOrDefaultAsync(h => h.Id == id, cancellationToken)
                : await db.Hosts.FirstOrDefaultAsync(h => h.Name == host, cancellationToken);
        return found ?? throw ApiException.NotFound($"There is no host named '{HttpConventions.Short(host)}'.");
    }

    public async Task<HostCreated> AddAsync(InventoryContext db, HostCreateRequest request, CancellationToken cancellationToken)
    {
        string name = Names.Check("host", request.Name);
        if (name == LocalAlias)
        {
            throw ApiException.BadRequest("The name 'local' always means the manager's own host; give the new host another name.");
        }

        TimeSpan lifetime = request.TokenLifetimeSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : JoinToken.DefaultLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > JoinToken.MaxLifetime)
        {
            throw ApiException.BadRequest($"A join token lasts 1 second to {JoinToken.MaxLifetime.TotalDays:0} days, not {request.TokenLifetimeSeconds} seconds.");
        }

        if (!options.Listen.Any(l => l.Https) || !serverCertificates.IsLoaded)
        {
            throw ApiException.Conflict("Agents join through the manager's HTTPS listener, and this manager has none; start vessel serve with --listen https://ADDRESS:PORT.");
        }

        if (options.AgentListen is null)
        {
            throw ApiException.Conflict("Agents connect to the manager's agent endpoint, and this manager has none; start vessel serve with --agent-listen ADDRESS:PORT.");
        }

        if (await db.Hosts.FirstOrDefaultAsync(h => h.Name == name, cancellationToken) is { } existing)
        {
            if (existing.State != HostStates.Removed)
            {
                throw ApiException.Conflict($"There is already a host named '{name}'.");
            }

            // A removed host's name is free again: its record goes, and with it any certificate of its id.
            db.Hosts.Remove(existing);
        }

        DateTime now = time.GetUtcNow().UtcDateTime;
        var host = new HostRecord { Id = Guid.NewGuid(), Name = name, State = HostStates.Connecting, CreatedAt = now };
        byte[] pin = serverCertificates.Select().GetCertHash(HashAlgorithmName.SHA256);
        JoinToken token = JoinToken.New(pin);
        db.Hosts.Add(host);
        db.JoinTokens.Add(new JoinTokenRecord { Id = token.Id, HostId = host.Id, SecretHash = Secrets.Hash(token.Secret), CreatedAt = now, ExpiresAt = now + lifetime });
        await db.SaveChangesAsync(cancellationToken);
        return new HostCreated(ToInfo(host), token.ToString(), new DateTimeOffset(now + lifetime, TimeSpan.Zero));
    }

    /// <summary>
    /// Enrols an agent: checks the token (known, secret right, unused, unexpired, its host not
    /// removed), marks it used and issues the certificate. Every refusal is 403 with one sentence
    /// and issues nothing.
    /// </summary>
    public async Task<HostJoinResponse> JoinAsync(InventoryContext db, HostJoinRequest request, HttpContext http, CancellationToken cancellationToken)
    {
        JoinToken token = JoinToken.Parse(request.Token)
            ?? throw ApiException.Forbidden("The join token is not a Vessel join token; copy it exactly as vessel host add printed it.");
        JoinTokenRecord? record = await db.JoinTokens.FirstOrDefaultAsync(t => t.Id == token.Id, cancellationToken);
        if (record is null || !Secrets.Matches(token.Secret, record.SecretHash))
        {
            logger.LogWarning("Refused a join from {Address}: a join token this manager did not issue", http.Connection.RemoteIpAddress);
            throw ApiException.Forbidden("The join token is not one this manager issued; make one with vessel host add.");
        }

        DateTime now = time.GetUtcNow().UtcDateTime;
        if (record.UsedAt is { } used)
        {
            logger.LogWarning("Refused a join from {Address}: join token {Token} was used already", http.Connection.RemoteIpAddress, record.Id);
            throw ApiException.Forbidden($"The join token was used already (at {used:yyyy-MM-dd HH:mm:ss} UTC); a token joins one host once, so make a new one with vessel host add.");
        }

        if (record.ExpiresAt <= now)
        {
            throw ApiException.Forbidden($"The join token expired at {record.ExpiresAt:yyyy-MM-dd HH:mm:ss} UTC; make a new one with vessel host add.");
        }

        HostRecord host = await db.Hosts.FirstAsync(h => h.Id == record.HostId, cancellationToken);
        if (host.State == HostStates.Removed)
        {
            throw ApiException.Forbidden($"The host '{host.Name}' was removed; add it again with vessel host add.");
        }

        using X509Certificate2 certificate = authority.IssueHostCertificate(host.Id, host.Name, request.CertificateRequest);
        // One use: the update only succeeds while the token is still unused, so two joins racing
        // with the same token cannot both get a certificate.
        int claimed = await db.JoinTokens.Where(t => t.Id == record.Id && t.UsedAt == null).ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now), cancellationToken);
        if (claimed != 1)
        {
            throw ApiException.Forbidden("The join token was used already; a token joins one host once, so make a new one with vessel host add.");
        }

        host.CertificateSerial = certificate.SerialNumber;
        host.CertificateFingerprint = ServerCertificates.Fingerprint(certificate);
        host.JoinedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Host {Host} ({Id}) joined from {Address}", host.Name, host.Id, http.Connection.RemoteIpAddress);
        return new HostJoinResponse(host.Id, host.Name, certificate.ExportCertificatePem(), authority.CertificatePem, AgentEndpointFor(http));
    }

    /// <summary>
    /// Where the agent dials: the agent endpoint's own address when it listens on one, else the
    /// address the agent reached the manager at (the join URL's host) with the endpoint's port.
    /// </summary>
    private string AgentEndpointFor(HttpContext http)
    {
        ListenAddress listen = options.AgentListen!;
        int port = registry.AgentEndpointPort ?? listen.Port;
        string host = listen.Address is { } address && !listen.IsAny ? address.ToString() : http.Request.Host.Host;
        if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            host = $"[{host.Trim('[', ']')}]";
        }

        return $"https://{host}:{port}";
    }

    public async Task<HostInfo> RemoveAsync(InventoryContext db, string name, CancellationToken cancellationToken)
    {
        HostRecord host = await FindAsync(db, name, cancellationToken);
        if (host.IsLocal)
        {
            throw ApiException.Conflict("The manager's own host cannot be removed.");
        }

        // Its VMs would be lost to the inventory's view (unknown for ever): they move first.
        List<string> vms = await db.Vms.Where(v => v.HostId == host.Id).OrderBy(v => v.Name).Select(v => v.Name).Take(6).ToListAsync(cancellationToken);
        if (vms.Count > 0)
        {
            throw ApiException.Conflict($"Host '{host.Name}' still has VMs ({string.Join(", ", vms.Take(5))}{(vms.Count > 5 ? ", …" : "")}); migrate or delete them first (vessel host maintenance enter moves the running ones).");
        }

        // Volumes in its own pool would be rows without files anyone reaches.
        List<string> volumes = await db.Volumes.Where(v => v.Pool!.HostId == host.Id).OrderBy(v => v.Name).Select(v => v.Pool!.Name + "/" + v.Name).Take(6).ToListAsync(cancellationToken);
        if (volumes.Count > 0)
        {
            throw ApiException.Conflict($"Host '{host.Name}' still holds volumes ({string.Join(", ", volumes.Take(5))}{(volumes.Count > 5 ? ", …" : "")}); migrate their VMs away or delete them first.");
        }

        if (host.State != HostStates.Removed)
        {
            await db.Pools.Where(p => p.HostId == host.Id).ExecuteDeleteAsync(cancellationToken);
            await registry.SetStateAsync(db, host, HostStates.Removed, "removed by an administrator", cancellationToken);
            await db.JoinTokens.Where(t => t.HostId == host.Id && t.UsedAt == null).ExecuteDeleteAsync(cancellationToken);
        }

        // A connected agent is cut off now, not at its next connection.
        registry.Disconnect(host.Id);
        return ToInfo(host);
    }

    public static HostInfo ToInfo(HostRecord host) => new(
        host.Id,
        host.Name,
        host.State,
        host.IsLocal,
        host.Address,
        host.Harts,
        host.MemoryTotalBytes,
        host.MemoryAvailableBytes,
        host.RunningVms,
        host.LoadAverage,
        host.AgentVersion,
        Utc(host.LastHeartbeatAt),
        host.CertificateFingerprint,
        Utc(host.CreatedAt)!.Value,
        Utc(host.JoinedAt),
        !host.Maintenance ? null : host.RunningVms == 0 ? HostMaintenance.Ready : HostMaintenance.Entering);

    private static DateTimeOffset? Utc(DateTime? time) => time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;
}
