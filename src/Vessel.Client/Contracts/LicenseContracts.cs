namespace Vessel.Client.Contracts;

/// <summary>
/// The host's licence as <c>GET /api/v1/license</c> shows it: an installed licence, or the
/// evaluation (every feature, no capacity limit) that runs from the first start.
/// </summary>
public sealed record LicenseInfo
{
    /// <summary><c>licensed</c> or <c>evaluation</c>.</summary>
    public required string Mode { get; init; }

    public string? Id { get; init; }
    public string? Licensee { get; init; }
    public string? Edition { get; init; }
    public required DateTime ValidFrom { get; init; }
    public required DateTime ExpiresAt { get; init; }

    /// <summary>Whether VMs may no longer be powered on: past the expiry (or before the start).</summary>
    public bool Expired { get; init; }

    /// <summary>Whole days left before <see cref="ExpiresAt"/> (0 once expired).</summary>
    public int DaysLeft { get; init; }

    public LicenseCapacityInfo Capacity { get; init; } = new();
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>From 30 days before the expiry, and after it: the sentence that warns (also in the <c>Warning</c> header of every API response).</summary>
    public string? Warning { get; init; }

    public DateTime? InstalledAt { get; init; }
    public string? InstalledBy { get; init; }
}

/// <summary>A licence's limits; null is unlimited.</summary>
public sealed record LicenseCapacityInfo
{
    public int? Hosts { get; init; }
    public int? Sockets { get; init; }
    public int? Vcpus { get; init; }
    public int? RunningVms { get; init; }
}

/// <summary><c>PUT /api/v1/license</c>: the licence file's text, exactly as the vendor issued it.</summary>
public sealed record LicenseInstallRequest(string License);
