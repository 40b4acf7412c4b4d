namespace Vessel.Server.Access;

/// <summary>Who an ACL entry is for.</summary>
public enum SubjectKind
{
    User,
    Group,
    Token,
}

/// <summary>One permission as the evaluator reads it.</summary>
public sealed record AclEntry(string Path, SubjectKind Kind, string Subject, string Role, bool Propagate = true);

/// <summary>
/// The caller as the evaluator sees it: the user (<c>name@realm</c>), the token's id when a
/// token authenticated (<c>name@realm!token</c>) and whether it is privilege-separated, and
/// whether the user may act at all (enabled, not expired: the caller decides, with its clock).
/// </summary>
public sealed record AccessIdentity(string User, bool Active, string? Token = null, bool PrivilegeSeparated = false)
{
    /// <summary>root on the host (the Unix socket): every privilege everywhere.</summary>
    public static readonly AccessIdentity Root = new(Caller.UnixRoot, Active: true);

    public bool IsRoot => ReferenceEquals(this, Root);

    public string Name => Token ?? User;
}

/// <summary>
/// What the evaluator decides on: the ACL, the roles' privileges (built-in and user-defined),
/// each user's groups, and which resource pool a VM (<c>/vms/{id}</c>) or storage
/// (<c>/storage/{name}</c>) belongs to.
/// </summary>
public sealed class AccessModel(
    IReadOnlyList<AclEntry> entries,
    IReadOnlyDictionary<string, IReadOnlySet<string>>? customRoles = null,
    IReadOnlyDictionary<string, IReadOnlySet<string>>? groupsOfUser = null,
    IReadOnlyDictionary<string, string>? resourcePoolOf = null)
{
    private readonly ILookup<string, AclEntry> _byPath = entries.ToLookup(e => e.Path, StringComparer.Ordinal);

    public IReadOnlyList<AclEntry> Entries { get; } = entries;

    public IReadOnlySet<string> GroupsOf(string user) =>
        groupsOfUser is not null && groupsOfUser.TryGetValue(user, out IReadOnlySet<string>? groups) ? groups : EmptySet;

    public IReadOnlySet<string> PrivilegesOf(string role) =>
        BuiltInRoles.PrivilegesOf.TryGetValue(role, out IReadOnlySet<string>? builtIn) ? builtIn
        : customRoles is not null && customRoles.TryGetValue(role, out IReadOnlySet<string>? custom) ? custom
        : EmptySet;

    public IEnumerable<AclEntry> At(string path) => _byPath[path];

    public string? ResourcePoolOf(string path) => resourcePoolOf is not null && resourcePoolOf.TryGetValue(path, out string? pool) ? pool : null;

    /// <summary>Whether nothing names <paramref name="path"/> itself (no ACL entry, no resource pool): its rights are those inherited by any such sibling.</summary>
    public bool InheritsOnly(string path) => !_byPath.Contains(path) && ResourcePoolOf(path) is null;

    internal static readonly IReadOnlySet<string> EmptySet = new HashSet<string>();
}

/// <summary>
/// Proxmox VE's rules, as pure code: walking from <c>/</c> down to the path, the entries of a
/// deeper level replace what was inherited; at one level a user's own entries replace its
/// groups'; an entry that does not propagate counts only on its own path; <c>NoAccess</c>
/// among the roles that count takes everything away. A privilege-separated token has at most
/// what both its own entries and its user give it; a token without separation has its user's
/// rights; a disabled or expired user has none; root on the host has all.
/// </summary>
public static class PermissionEvaluator
{
    private static readonly IReadOnlySet<string> All = new HashSet<string>(Privileges.All, StringComparer.Ordinal);

    public static IReadOnlySet<string> PrivilegesAt(AccessModel model, AccessIdentity identity, string path)
    {
        if (identity.IsRoot)
        {
            return All;
        }

        if (!identity.Active)
        {
            return AccessModel.EmptySet;
        }

        IReadOnlySet<string> groups = model.GroupsOf(identity.User);
        IReadOnlySet<string> userRights = Evaluate(model, path,
            e => e.Kind == SubjectKind.User && e.Subject == identity.User,
            e => e.Kind == SubjectKind.Group && groups.Contains(e.Subject));
        if (identity.Token is null || !identity.PrivilegeSeparated)
        {
            return userRights;
        }

        IReadOnlySet<string> tokenRights = Evaluate(model, path, e => e.Kind == SubjectKind.Token && e.Subject == identity.Token, _ => false);
        var both = new HashSet<string>(tokenRights, StringComparer.Ordinal);
        both.IntersectWith(userRights);
        return both;
    }

    public static bool Allows(AccessModel model, AccessIdentity identity, string privilege, string path) =>
        PrivilegesAt(model, identity, path).Contains(privilege);

    /// <summary>The levels from <c>/</c> to the path: <c>/</c>, <c>/vms</c>, the VM's resource pool if it has one, <c>/vms/ID</c>.</summary>
    public static IReadOnlyList<string> LevelsOf(AccessModel model, string path)
    {
        var levels = new List<string> { "/" };
        string[] segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string current = "";
        for (int i = 0; i < segments.Length; i++)
        {
            current += "/" + segments[i];
            if (i == segments.Length - 1 && model.ResourcePoolOf(current) is { } pool)
            {
                levels.Add("/pools/" + pool);
            }

            levels.Add(current);
        }

        return levels;
    }

    private static IReadOnlySet<string> Evaluate(AccessModel model, string path, Func<AclEntry, bool> own, Func<AclEntry, bool> ofGroups)
    {
        List<string>? roles = null;
        foreach (string level in LevelsOf(model, path))
        {
            bool exact = level == path;
            List<AclEntry> counting = model.At(level).Where(e => e.Propagate || exact).ToList();
            List<string> ownRoles = counting.Where(own).Select(e => e.Role).ToList();
            if (ownRoles.Count > 0)
            {
                roles = ownRoles;
                continue;
            }

            List<string> groupRoles = counting.Where(ofGroups).Select(e => e.Role).ToList();
            if (groupRoles.Count > 0)
            {
                roles = groupRoles;
            }
        }

        if (roles is null || roles.Contains(BuiltInRoles.NoAccess))
        {
            return AccessModel.EmptySet;
        }

        var privileges = new HashSet<string>(StringComparer.Ordinal);
        foreach (string role in roles)
        {
            privileges.UnionWith(model.PrivilegesOf(role));
        }

        return privileges;
    }
}
