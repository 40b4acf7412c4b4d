namespace Vessel.Client.Contracts;

/// <summary>
/// A host's states: <c>connecting</c> (its join token was issued; its agent never connected),
/// <c>up</c> (heartbeats arrive), <c>maintenance</c>, <c>unreachable</c> (no heartbeat for three
/// intervals) and <c>removed</c> (its certificate is refused from then on).
/// </summary>
public static class HostStates
{
    public const string Connecting = "connecting";
    public const string Up = "up";
    public const string Maintenance = "maintenance";
    public const string Unreachable = "unreachable";
    public const string Removed = "removed";
}

/// <summary>
/// A host as <c>GET /api/v1/hosts</c> shows it. The capacity figures are the last its agent
/// reported (the manager's own host: read by the manager itself); <paramref name="Local"/> marks
/// the manager's own host, which the path <c>/api/v1/hosts/local</c> also names.
/// </summary>
public sealed record HostInfo(
    Guid Id,
    string Name,
    string State,
    bool Local,
    string? Address,
    int Harts,
    long MemoryTotalBytes,
    long MemoryAvailableBytes,
    int RunningVms,
    double LoadAverage,
    string? AgentVersion,
    DateTimeOffset? LastHeartbeatAt,
    string? CertificateFingerprint,
    DateTimeOffset CreatedAt,
    DateTimeOffset? JoinedAt,
    string? Maintenance = null);

/// <summary>Where a host in maintenance is: <c>entering</c> while VMs still run on it, <c>ready</c> once it is empty and ready for work.</summary>
public static class HostMaintenance
{
    public const string Entering = "entering";
    public const string Ready = "ready";
}

/// <summary><c>POST /api/v1/hosts</c>: a host to join, and how long its join token lasts (default an hour).</summary>
public sealed record HostCreateRequest(string Name, int? TokenLifetimeSeconds = null);

/// <summary>The host added, in state <c>connecting</c>, with its one-time join token: shown this once.</summary>
public sealed record HostCreated(HostInfo Host, string JoinToken, DateTimeOffset TokenExpiresAt);

/// <summary>
/// <c>POST /api/v1/hosts/join</c> (anonymous; the token authorises it): the join token and a
/// PKCS#10 certificate signing request (PEM) for the agent's own key.
/// </summary>
public sealed record HostJoinRequest(string Token, string CertificateRequest);

/// <summary>
/// What a joined agent keeps: its host's id and name, its client certificate, the manager's CA
/// (the only authority it trusts on the agent channel) and where the agent endpoint is.
/// </summary>
public sealed record HostJoinResponse(Guid HostId, string Name, string Certificate, string CaCertificate, string AgentEndpoint);
