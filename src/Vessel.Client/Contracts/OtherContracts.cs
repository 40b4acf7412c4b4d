namespace Vessel.Client.Contracts;

public sealed record SnapshotInfo(
    string Name,
    string? Parent,
    string Description,
    bool Memory,
    string VmState,
    DateTime CreatedAt,
    bool Current);

/// <summary>A VM's snapshots in creation order with the current position (the snapshot the VM's state descends from).</summary>
public sealed record SnapshotTree(string? Current, IReadOnlyList<SnapshotInfo> Snapshots);

public sealed record SnapshotCreateRequest
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public bool Memory { get; init; }
}

/// <summary>A long piece of work: start, clone, snapshot, import, ...</summary>
public sealed record OperationInfo
{
    public required Guid Id { get; init; }
    public required string Kind { get; init; }
    public string? TargetKind { get; init; }
    public string? Target { get; init; }

    /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; init; }

    /// <summary>0 to 1.</summary>
    public double Progress { get; init; }
    public bool MayCancel { get; init; }
    public IReadOnlyList<string> Log { get; init; } = [];
    public string? Result { get; init; }
    public string? Error { get; init; }
    public required DateTime CreatedAt { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }

    public bool IsFinished => Status is OperationStatuses.Succeeded or OperationStatuses.Failed or OperationStatuses.Cancelled;
}

public static class OperationStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <param name="Host">The host whose directory it is (null when shared: every host sees it); on another host than the manager's, the figures are the inventory's (allocation and free space are read on the manager's host only).</param>
public sealed record PoolInfo(string Name, string Path, long CapacityBytes, long AvailableBytes, long AllocatedBytes, int Volumes, bool Shared = false, string? Host = null);

/// <param name="Shared">Every host sees the directory at the same path (NFS, a cluster filesystem); VMs on it may run on any host.</param>
public sealed record PoolCreateRequest(string Name, string Path, bool Shared = false);

public sealed record VolumeInfo(
    string Pool,
    string Name,
    string Format,
    long VirtualBytes,
    long AllocatedBytes,
    string? Backing,
    IReadOnlyList<string> UsedBy,
    bool ReadOnly);

public sealed record VolumeCreateRequest
{
    public required string Name { get; init; }

    /// <summary><c>qcow2</c> (default), <c>raw</c> or <c>iso</c> (uploads only).</summary>
    public string? Format { get; init; }
    public long? SizeBytes { get; init; }

    /// <summary>A file on the server's host to import (copy/convert) into the new volume.</summary>
    public string? Import { get; init; }
}

public sealed record VolumeResizeRequest(long SizeBytes);

public sealed record VolumeCopyRequest(string Name, string? Pool, string? Format);

public sealed record NetworkInfo(string Name, string Kind, string? Bridge, IReadOnlyList<string> UsedBy, bool Running);

public sealed record NetworkCreateRequest(string Name, string Kind, string? Bridge);

/// <summary>Something that happened: an operation's progress, a VM's state, ... (the events WebSocket sends these).</summary>
public sealed record ServerEvent(string Type, string? TargetKind, string? Target, string? State, string? Message, Guid? OperationId, DateTime Time);

/// <summary>One sample of a running VM's figures; network rates are null where its VMM does not count its cards' traffic.</summary>
public sealed record MetricSample(DateTime Time, double CpuPercent, long MemoryBytes, double DiskReadBytesPerSecond, double DiskWriteBytesPerSecond, double? NetworkReceiveBytesPerSecond, double? NetworkTransmitBytesPerSecond);

public sealed record ServerInfo(string Version, string DataDirectory, int Vms, int RunningVms, string? DefaultTemplate, string? DefaultTemplateStatus);
