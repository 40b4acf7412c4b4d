namespace Vessel.Client.Contracts;

/// <summary>A VM's run state as the API reports it (lower-case names in JSON).</summary>
public static class VmStates
{
    public const string Stopped = "stopped";
    public const string Starting = "starting";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Stopping = "stopping";
    public const string Suspending = "suspending";
    public const string Suspended = "suspended";
    public const string Crashed = "crashed";

    /// <summary>The VM's host is not connected (its agent is down or cut off): whatever it does now is not known, and not guessed.</summary>
    public const string Unknown = "unknown";

    /// <summary>The states in which a VMM process exists for the VM.</summary>
    public static bool HasProcess(string state) => state is Running or Paused or Stopping or Suspending;
}

/// <summary>What a VM shows a screen on: nothing, or a VNC server that the daemon relays to the API's WebSocket.</summary>
public static class VmDisplays
{
    public const string None = "none";
    public const string Vnc = "vnc";

    public static readonly IReadOnlyList<string> All = [None, Vnc];
}

/// <summary>One VM as listed: enough for a table, cheap to produce a thousand of.</summary>
/// <param name="Pool">The storage pool of its first disk (the web interface's view by pool); null without disks.</param>
/// <param name="ClonedFromId">The id of the VM or template it was cloned or deployed from (a VM's list of its clones); null for an original.</param>
public sealed record VmSummary(
    Guid Id,
    string Name,
    string State,
    int Cpus,
    long MemoryBytes,
    bool IsTemplate,
    IReadOnlyList<string> Tags,
    DateTime CreatedAt,
    string? Pool = null,
    Guid? ClonedFromId = null,
    string? Host = null);

/// <summary>A VM's whole definition and state.</summary>
public sealed record VmDetails
{
    public required Guid Id { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    public required string State { get; init; }
    public required int Cpus { get; init; }
    public required long MemoryBytes { get; init; }
    public long? BalloonBytes { get; init; }
    public string? Kernel { get; init; }
    public string? Initrd { get; init; }
    public string? Append { get; init; }
    public string Firmware { get; init; } = "builtin";
    public string CpuEngine { get; init; } = "jit";
    public string Console { get; init; } = "serial";

    /// <summary><c>none</c>, or <c>vnc</c>: a screen with a keyboard and a tablet, seen through <c>GET /api/v1/vms/{vm}/vnc</c>.</summary>
    public string Display { get; init; } = VmDisplays.None;
    public bool Rng { get; init; }
    public bool Balloon { get; init; }
    public bool IsTemplate { get; init; }
    public IReadOnlyList<VmDisk> Disks { get; init; } = [];
    public string? Iso { get; init; }
    public IReadOnlyList<VmNic> Nics { get; init; } = [];
    public VmAutostart Autostart { get; init; } = new(false, 0, 0);
    public int? ProcessId { get; init; }
    public string? CurrentSnapshot { get; init; }
    public string? ClonedFrom { get; init; }

    /// <summary>The host the VM runs on (or starts on next).</summary>
    public string? Host { get; init; }

    /// <summary>Changes to a running VM that take effect at its next start (harts, memory, boot, disks, NICs).</summary>
    public IReadOnlyList<string> PendingChanges { get; init; } = [];
    public required DateTime CreatedAt { get; init; }
    public required DateTime UpdatedAt { get; init; }
    public required long Version { get; init; }
}

/// <summary>A disk of a VM: a volume, as <c>pool/name</c>.</summary>
public sealed record VmDisk(string Id, string Volume, string Format, bool ReadOnly, long VirtualBytes);

/// <summary>A network card: the network it is on, its MAC (kept for life) and its port forwards.</summary>
public sealed record VmNic(string Network, string Mac, IReadOnlyList<string> PortForwards);

/// <summary>Whether the daemon starts the VM when it starts (the host boots), in ascending <paramref name="Order"/>, waiting <paramref name="DelaySeconds"/> after this VM before the next (Proxmox's startup order and "up" delay).</summary>
public sealed record VmAutostart(bool Enabled, int Order, int DelaySeconds);

/// <summary>
/// What a new VM is made of. Either a template to clone (<see cref="Template"/>) or a definition:
/// boot files, disks and NICs, as <c>vessel run</c>'s options name them.
/// </summary>
public sealed record VmCreateRequest
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public int? Cpus { get; init; }
    public long? MemoryBytes { get; init; }
    public string? Kernel { get; init; }
    public string? Initrd { get; init; }
    public string? Append { get; init; }
    public string? Firmware { get; init; }
    public string? CpuEngine { get; init; }
    public string? Console { get; init; }

    /// <summary><c>none</c> (the default) or <c>vnc</c>.</summary>
    public string? Display { get; init; }
    public bool? Rng { get; init; }
    public bool? Balloon { get; init; }
    public IReadOnlyList<DiskRequest>? Disks { get; init; }
    public string? Iso { get; init; }

    /// <summary>The NICs; null gives one on the default NAT network, an empty list none.</summary>
    public IReadOnlyList<NicRequest>? Nics { get; init; }
    public VmAutostart? Autostart { get; init; }

    /// <summary>Deploy from this template instead of a definition.</summary>
    public string? Template { get; init; }

    /// <summary><c>linked</c> (default) or <c>full</c>, with <see cref="Template"/>.</summary>
    public string? CloneMode { get; init; }

    /// <summary>The host to put the VM on; null: the one with its storage and networks and the most free memory.</summary>
    public string? Host { get; init; }
}

/// <summary>Moves a VM to another host: live while it runs (its memory copied while it runs on; its disks stay on a pool both hosts see), offline while stopped.</summary>
public sealed record VmMigrateRequest
{
    /// <summary>The destination host; null: the best other host (placement).</summary>
    public string? Host { get; init; }

    /// <summary>The most the migration sends per second, in bytes (QEMU's <c>max-bandwidth</c>, Proxmox's <c>bwlimit</c>); null: the VMM's default.</summary>
    public long? MaxBandwidth { get; init; }
}

/// <summary>
/// A disk of a new VM: an existing volume (<c>pool/name</c>), a file to import as a new volume,
/// or a new empty volume of a size.
/// </summary>
public sealed record DiskRequest
{
    public string? Volume { get; init; }
    public string? Import { get; init; }
    public long? SizeBytes { get; init; }
    public string? Pool { get; init; }
    public bool ReadOnly { get; init; }
}

public sealed record NicRequest
{
    public string? Network { get; init; }
    public string? Mac { get; init; }
    public IReadOnlyList<string>? PortForwards { get; init; }
}

/// <summary>An edit: only the fields given change.</summary>
public sealed record VmEditRequest
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public int? Cpus { get; init; }
    public long? MemoryBytes { get; init; }

    /// <summary>The balloon's target (needs the balloon device); applied live to a running VM.</summary>
    public long? BalloonBytes { get; init; }
    public string? Kernel { get; init; }
    public string? Initrd { get; init; }
    public string? Append { get; init; }

    /// <summary><c>none</c> or <c>vnc</c>; a running VM gets it at its next start.</summary>
    public string? Display { get; init; }
    public bool? Rng { get; init; }
    public bool? Balloon { get; init; }
    public string? CpuEngine { get; init; }
    public string? Iso { get; init; }
    public VmAutostart? Autostart { get; init; }
}

public sealed record CloneRequest
{
    public required string Name { get; init; }

    /// <summary><c>full</c>, <c>linked</c> or <c>instant</c>.</summary>
    public string Mode { get; init; } = "full";
    public string? Snapshot { get; init; }

    /// <summary>Start the clone once made (instant clones always run).</summary>
    public bool Start { get; init; }
}

public sealed record ShutdownRequest(int? TimeoutSeconds);

/// <summary>One page of a list.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total, int PageNumber, int PageSize);
