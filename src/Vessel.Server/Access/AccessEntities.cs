namespace Vessel.Server.Access;

/// <summary>A user: <c>name@vessel</c> (our own realm, with a password hash) or <c>name@pam</c> (the host's Linux users).</summary>
public sealed class UserRecord
{
    public Guid Id { get; set; }

    /// <summary>The full user id, <c>name@realm</c>.</summary>
    public required string Name { get; set; }
    public required string Realm { get; set; }
    public bool Enabled { get; set; } = true;
    public DateTime? ExpiresAt { get; set; }
    public string Comment { get; set; } = "";

    /// <summary>PasswordHasher's self-describing hash (realm vessel only; never the password).</summary>
    public string? PasswordHash { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class GroupRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string Comment { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

public sealed class GroupMemberRecord
{
    public Guid GroupId { get; set; }
    public Guid UserId { get; set; }
}

/// <summary>A user-defined role (the built-in ones live in code, read-only).</summary>
public sealed class RoleRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }

    /// <summary>The privileges, comma-separated.</summary>
    public string Privileges { get; set; } = "";
    public DateTime CreatedAt { get; set; }
}

/// <summary>One permission: on a path, a subject (a user, group or token) has a role, also below the path when it propagates.</summary>
public sealed class AclEntryRecord
{
    public Guid Id { get; set; }
    public required string Path { get; set; }

    /// <summary><c>user</c>, <c>group</c> or <c>token</c>.</summary>
    public required string SubjectKind { get; set; }

    /// <summary><c>name@realm</c>, a group's name, or <c>name@realm!token</c>.</summary>
    public required string Subject { get; set; }
    public required string Role { get; set; }
    public bool Propagate { get; set; } = true;
}

/// <summary>An API token of a user: the secret is only ever stored as its SHA-256.</summary>
public sealed class TokenRecord
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string Name { get; set; }
    public required byte[] SecretHash { get; set; }
    public DateTime? ExpiresAt { get; set; }

    /// <summary>Privilege-separated: the token's rights are its own ACL entries, capped by its user's.</summary>
    public bool PrivilegeSeparated { get; set; }
    public string Comment { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public UserRecord? User { get; set; }
}

/// <summary>A login session; its key is the SHA-256 of the cookie's value, so a copy of the database opens no session.</summary>
public sealed class SessionRecord
{
    public required byte[] IdHash { get; set; }
    public Guid UserId { get; set; }
    public required string CsrfToken { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime LastSeenAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public UserRecord? User { get; set; }
}
