namespace Vessel.Client.Contracts;

/// <summary>One entry of the audit log, as listed and exported.</summary>
public sealed record AuditEntryInfo
{
    public required long Sequence { get; init; }
    public required DateTime Time { get; init; }
    public required string User { get; init; }
    public required string Source { get; init; }
    public required string Action { get; init; }

    /// <summary>The objects the request named (<c>vm:web1/snapshot:s1</c>); empty when none.</summary>
    public required string Object { get; init; }

    /// <summary>The HTTP status the request was answered with (101: a WebSocket session opened).</summary>
    public required int Status { get; init; }

    /// <summary>Why the request failed, in one sentence; null when it succeeded.</summary>
    public string? Detail { get; init; }

    public Guid? OperationId { get; init; }
    public required string PreviousHash { get; init; }
    public required string Hash { get; init; }
}

/// <summary>The outcome of verifying the audit log's hash chain.</summary>
public sealed record AuditVerification
{
    public required bool Ok { get; init; }

    /// <summary>Entries checked (those retention kept).</summary>
    public required long Entries { get; init; }

    /// <summary>The last entry retention removed (0 when none): verification starts after it, from its recorded hash.</summary>
    public long CheckpointSequence { get; init; }

    public AuditBreak? FirstBroken { get; init; }
}

/// <summary>Where the chain breaks first, and why, as one sentence naming the entry.</summary>
public sealed record AuditBreak(long Sequence, string Reason);

/// <summary>The audit log's settings: how many days entries are kept.</summary>
public sealed record AuditSettings(int RetentionDays);
