namespace Vessel.Server.Hosts;

/// <summary>
/// A host of the platform: the manager's own (<see cref="IsLocal"/>) or one whose agent joined
/// with a join token. Its capacity figures are the last the agent reported.
/// </summary>
public sealed class HostRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }

    /// <summary>One of <see cref="Client.Contracts.HostStates"/>.</summary>
    public required string State { get; set; }

    /// <summary>The manager's own host (one, made at start; it is never removed).</summary>
    public bool IsLocal { get; set; }

    /// <summary>An administrator put the host in maintenance: it takes no VMs, and its state is <c>maintenance</c> whenever its agent is there.</summary>
    public bool Maintenance { get; set; }

    /// <summary>Where the agent's connection came from, as the manager saw it.</summary>
    public string? Address { get; set; }

    public int Harts { get; set; }
    public long MemoryTotalBytes { get; set; }
    public long MemoryAvailableBytes { get; set; }
    public int RunningVms { get; set; }
    public double LoadAverage { get; set; }
    public string? AgentVersion { get; set; }
    public DateTime? LastHeartbeatAt { get; set; }

    /// <summary>The serial (hex) of the client certificate issued at enrolment: only that certificate is accepted.</summary>
    public string? CertificateSerial { get; set; }

    /// <summary>Its SHA-256 fingerprint, shown to administrators.</summary>
    public string? CertificateFingerprint { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>When the agent enrolled (its certificate was issued).</summary>
    public DateTime? JoinedAt { get; set; }
}

/// <summary>
/// A one-time join token of a host, kept as the SHA-256 of its secret (the secret is shown once,
/// by <c>vessel host add</c>). Used or expired, it admits nobody.
/// </summary>
public sealed class JoinTokenRecord
{
    /// <summary>The token's public id (the part before its secret), by which the manager finds the hash to compare.</summary>
    public required string Id { get; set; }
    public Guid HostId { get; set; }
    public required byte[] SecretHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? UsedAt { get; set; }
}
