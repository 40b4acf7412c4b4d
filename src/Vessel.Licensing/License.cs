using System.Text.Json.Serialization;

namespace Vessel.Licensing;

/// <summary>
/// What a licence grants: to whom, which edition, how much (capacity) and which features, from
/// when until when. This is the payload the vendor signs; its JSON bytes are what the signature
/// covers, exactly as they stand in the licence file.
/// </summary>
public sealed record License
{
    public required string Id { get; init; }

    public required string Licensee { get; init; }

    /// <summary>The edition's name (<c>standard</c>, <c>enterprise</c>, ...), as sentences name it.</summary>
    public required string Edition { get; init; }

    public LicenseCapacity Capacity { get; init; } = new();

    /// <summary>The features the edition includes (<see cref="LicenseFeatures"/>).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset NotAfter { get; init; }

    public bool HasFeature(string feature) => Features.Contains(feature, StringComparer.Ordinal);
}

/// <summary>Limits a licence sets; a limit left out (null) is unlimited.</summary>
public sealed record LicenseCapacity
{
    /// <summary>Hosts in one platform (checked when a host joins).</summary>
    public int? Hosts { get; init; }

    /// <summary>Physical CPU sockets over all hosts (checked when a host joins).</summary>
    public int? Sockets { get; init; }

    /// <summary>vCPUs of all running VMs together.</summary>
    [JsonPropertyName("vcpus")]
    public int? Vcpus { get; init; }

    /// <summary>VMs running at once.</summary>
    public int? RunningVms { get; init; }
}

/// <summary>The features an edition may include, as licences spell them.</summary>
public static class LicenseFeatures
{
    public const string LiveMigration = "live-migration";
    public const string InstantClone = "instant-clone";

    /// <summary>Every feature: what the evaluation grants.</summary>
    public static readonly IReadOnlyList<string> All = [LiveMigration, InstantClone];
}
