namespace Vessel.Server.Audit;

/// <summary>
/// One entry of the audit log: who did what, from where, on which object, with which result and
/// when. <see cref="Hash"/> is SHA-256 over the entry's canonical fields and
/// <see cref="PreviousHash"/> (<see cref="AuditChain"/>), so that changing, removing or
/// inserting an entry breaks the chain at that entry. Never holds a request's body.
/// </summary>
public sealed class AuditEntryRecord
{
    public const int UserLength = 255;
    public const int SourceLength = 64;
    public const int ActionLength = 64;
    public const int ObjectLength = 512;
    public const int DetailLength = 1024;

    /// <summary>1, 2, 3, ... without gaps: a gap is a removed entry.</summary>
    public long Sequence { get; set; }

    public DateTime Time { get; set; }

    /// <summary><c>user@realm</c>, <c>user@realm!token</c>, <c>root@pam</c> (the Unix socket), or the name a failed login tried.</summary>
    public string User { get; set; } = "";

    /// <summary>The client's IP address, or <c>unix</c>.</summary>
    public string Source { get; set; } = "";

    /// <summary><c>vm.start</c>, <c>snapshot.create</c>, <c>access.login</c>, ...</summary>
    public string Action { get; set; } = "";

    /// <summary>The objects the request named, as <c>vm:web1/snapshot:before-upgrade</c>; empty when none.</summary>
    public string Object { get; set; } = "";

    /// <summary>The HTTP status answered (101 for a WebSocket session opened).</summary>
    public int Status { get; set; }

    /// <summary>The problem detail's sentence when the request failed.</summary>
    public string? Detail { get; set; }

    /// <summary>The operation the request started, when it started one.</summary>
    public Guid? OperationId { get; set; }

    public string PreviousHash { get; set; } = "";

    public string Hash { get; set; } = "";
}

/// <summary>
/// The audit log's one state row: the chain's head (the last entry written, so that entries
/// removed from the end are noticed too), the checkpoint left by retention (the last entry it
/// removed: verification starts after it), and the retention set through the API.
/// </summary>
public sealed class AuditStateRecord
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;

    public long HeadSequence { get; set; }

    public string HeadHash { get; set; } = AuditChain.Genesis;

    public long CheckpointSequence { get; set; }

    public string CheckpointHash { get; set; } = AuditChain.Genesis;

    /// <summary>Days entries are kept, when set through the API (overrides <c>--audit-retention-days</c>).</summary>
    public int? RetentionDays { get; set; }
}
