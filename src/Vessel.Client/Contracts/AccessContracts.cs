namespace Vessel.Client.Contracts;

// Users, groups, roles, permissions (ACL), API tokens and login sessions (/api/v1/access).

/// <summary>A login: <c>name@realm</c> (realm <c>vessel</c> when omitted) and its password.</summary>
public sealed record LoginRequest(string Username, string Password);

/// <summary>A session: the cookie <c>VesselSession</c> comes with it; send <c>CsrfToken</c> as the <c>CSRFPreventionToken</c> header on every request that changes something.</summary>
public sealed record LoginResponse(string Username, string CsrfToken, DateTime ExpiresAt);

public sealed record UserInfo(string Name, string Realm, bool Enabled, DateTime? ExpiresAt, string Comment, IReadOnlyList<string> Groups, DateTime CreatedAt);

/// <summary>A new user; a <c>vessel</c> user needs a password, a <c>pam</c> user has the host's.</summary>
public sealed record UserCreateRequest(string Name, string? Password = null, string? Comment = null, DateTime? ExpiresAt = null, bool? Enabled = null, IReadOnlyList<string>? Groups = null);

/// <summary>Changes to a user; <c>NeverExpires</c> removes an expiry.</summary>
public sealed record UserEditRequest(bool? Enabled = null, DateTime? ExpiresAt = null, bool? NeverExpires = null, string? Comment = null, IReadOnlyList<string>? Groups = null);

/// <summary>A new password: the user's own change gives the old one; with User.Modify it is not needed.</summary>
public sealed record PasswordChangeRequest(string NewPassword, string? OldPassword = null);

public sealed record GroupInfo(string Name, string Comment, IReadOnlyList<string> Members);

public sealed record GroupCreateRequest(string Name, string? Comment = null, IReadOnlyList<string>? Members = null);

public sealed record GroupEditRequest(string? Comment = null, IReadOnlyList<string>? Members = null);

public sealed record RoleInfo(string Name, IReadOnlyList<string> Privileges, bool BuiltIn);

public sealed record RoleCreateRequest(string Name, IReadOnlyList<string> Privileges);

/// <summary>A permission: on <c>Path</c>, one of User, Group or Token has <c>Role</c> (also below the path when it propagates).</summary>
public sealed record AclEntryInfo(string Path, string? User, string? Group, string? Token, string Role, bool Propagate);

public sealed record AclSetRequest(string Path, string Role, string? User = null, string? Group = null, string? Token = null, bool? Propagate = null);

public sealed record TokenInfo(string Id, string User, string Name, DateTime? ExpiresAt, bool PrivilegeSeparated, string Comment, DateTime CreatedAt);

/// <summary>A new API token of the caller (or, with User.Modify, of <c>User</c>).</summary>
public sealed record TokenCreateRequest(string Name, DateTime? ExpiresAt = null, bool? PrivilegeSeparated = null, string? Comment = null, string? User = null);

/// <summary>The new token and its secret, shown this once: use it as <c>Authorization: Bearer SECRET</c>.</summary>
public sealed record TokenCreated(TokenInfo Token, string Secret);

/// <summary>The caller's privileges on a path.</summary>
public sealed record PermissionsInfo(string Caller, string Path, IReadOnlyList<string> Privileges);
