namespace Vessel.Server.Inventory;

// The inventory's rows. The model stays provider-neutral so that PostgreSQL can take the same
// migrations later: Guid keys, UTC DateTime, strings and integers only, no provider-specific
// column types, and a plain integer Version as the concurrency token (SQLite has no rowversion).

/// <summary>A VM's definition: what it is made of and what the user wants of it.</summary>
public sealed class VmRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string Description { get; set; } = "";

    /// <summary>The tags as <c>,a,b,</c>: a filter by one tag is a LIKE on any database.</summary>
    public string Tags { get; set; } = ",";
    public string State { get; set; } = "stopped";
    public int Cpus { get; set; } = 1;
    public long MemoryBytes { get; set; } = 256L * 1024 * 1024;
    public long? BalloonBytes { get; set; }
    public string? Kernel { get; set; }
    public string? Initrd { get; set; }
    public string? Append { get; set; }
    public string Firmware { get; set; } = "builtin";
    public string CpuEngine { get; set; } = "jit";
    public string Console { get; set; } = "serial";

    /// <summary><c>none</c>, or <c>vnc</c>: a screen, keyboard and tablet, served on the VM's run directory's <c>vnc.sock</c>.</summary>
    public string Display { get; set; } = "none";
    public bool Rng { get; set; }
    public bool Balloon { get; set; }
    public bool IsTemplate { get; set; }
    public Guid? IsoVolumeId { get; set; }
    public bool AutostartEnabled { get; set; }
    public int AutostartOrder { get; set; }
    public int AutostartDelaySeconds { get; set; }

    /// <summary>The VMM's process while one runs (also in its pidfile), on <see cref="HostId"/>'s host.</summary>
    public int? ProcessId { get; set; }

    /// <summary>The host the VM runs on, or runs on next (placement, migration); null: the manager's own host.</summary>
    public Guid? HostId { get; set; }

    /// <summary>Placement never moves the VM off its host (a migration naming a host moves the pin).</summary>
    public bool PinToHost { get; set; }

    /// <summary>The ids of VMs it never shares a host with, as <c>,id,id,</c>.</summary>
    public string KeepApartFrom { get; set; } = ",";

    /// <summary>The ids of VMs it runs beside, as <c>,id,id,</c>.</summary>
    public string KeepTogetherWith { get; set; } = ",";

    /// <summary>The definition the running VMM was started with, to tell pending changes apart.</summary>
    public string? RunningDefinition { get; set; }
    public Guid? CurrentSnapshotId { get; set; }
    public Guid? ClonedFromId { get; set; }

    /// <summary>The saved state a suspended VM resumes from, or an instant clone starts from.</summary>
    public string? StatePath { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>Bumped by every change: the ETag, and EF Core's concurrency token.</summary>
    public long Version { get; set; }

    public List<DiskRecord> Disks { get; set; } = [];
    public List<NicRecord> Nics { get; set; } = [];
}

/// <summary>A VM's disk: one volume in a slot (vda, vdb, ... in order).</summary>
public sealed class DiskRecord
{
    public Guid Id { get; set; }
    public Guid VmId { get; set; }
    public int Slot { get; set; }
    public Guid VolumeId { get; set; }
    public bool ReadOnly { get; set; }
    public VolumeRecord? Volume { get; set; }
}

public sealed class NicRecord
{
    public Guid Id { get; set; }
    public Guid VmId { get; set; }
    public int Slot { get; set; }
    public Guid NetworkId { get; set; }
    public required string Mac { get; set; }

    /// <summary>Port forwards in QEMU's hostfwd spelling, separated by spaces.</summary>
    public string PortForwards { get; set; } = "";
    public NetworkRecord? Network { get; set; }
}

public sealed class PoolRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Path { get; set; }

    /// <summary>Every host sees the directory at the same path (NFS, a cluster filesystem): VMs on it may run on, and move between, any host.</summary>
    public bool Shared { get; set; }

    /// <summary>
    /// The host whose directory this is, when it is not shared: null for the manager's own host;
    /// an agent's host has its own pool (made when it first connects), where disks that migrate
    /// to it with their VM land.
    /// </summary>
    public Guid? HostId { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>A disk image or ISO file in a pool.</summary>
public sealed class VolumeRecord
{
    public Guid Id { get; set; }
    public Guid PoolId { get; set; }
    public required string Name { get; set; }

    /// <summary><c>qcow2</c>, <c>raw</c> or <c>iso</c>.</summary>
    public required string Format { get; set; }

    /// <summary>The file's name in the pool's directory.</summary>
    public required string FileName { get; set; }
    public long VirtualBytes { get; set; }

    /// <summary>The volume this one's qcow2 backing file is (linked clones); it cannot go while this one exists.</summary>
    public Guid? BackingVolumeId { get; set; }

    /// <summary>A template's disk or a clone base: VMs may read it, none may write it.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>The VM whose snapshot or state a clone base was made from (its clones depend on that VM).</summary>
    public Guid? BaseOfVmId { get; set; }
    public DateTime CreatedAt { get; set; }
    public PoolRecord? Pool { get; set; }
}

/// <summary>A snapshot in a VM's tree.</summary>
public sealed class SnapshotRecord
{
    public Guid Id { get; set; }
    public Guid VmId { get; set; }
    public required string Name { get; set; }
    public Guid? ParentId { get; set; }
    public string Description { get; set; } = "";
    public bool Memory { get; set; }

    /// <summary>The VM's state when taken (<c>running</c>, <c>paused</c> or <c>stopped</c>).</summary>
    public string VmState { get; set; } = "stopped";
    public DateTime CreatedAt { get; set; }
}

public sealed class NetworkRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }

    /// <summary><c>nat</c>, <c>isolated</c> or <c>bridged</c>.</summary>
    public required string Kind { get; set; }
    public string? Bridge { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>A long operation, kept after it ends so that its result and log can be read.</summary>
public sealed class OperationRecord
{
    public Guid Id { get; set; }
    public required string Kind { get; set; }
    public string? TargetKind { get; set; }
    public string? Target { get; set; }
    public Guid? TargetId { get; set; }
    public string Status { get; set; } = "queued";
    public double Progress { get; set; }
    public bool MayCancel { get; set; }

    /// <summary>The log's lines, separated by newlines.</summary>
    public string Log { get; set; } = "";
    public string? Result { get; set; }
    public string? Error { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}
