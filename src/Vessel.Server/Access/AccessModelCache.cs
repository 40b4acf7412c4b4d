using Microsoft.EntityFrameworkCore;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary>
/// The ACL, roles and group memberships as one <see cref="AccessModel"/>, read from the
/// inventory once and kept until a change to any of them (every access endpoint that changes
/// them calls <see cref="Invalidate"/>): permission checks on every request cost no query.
/// </summary>
public sealed class AccessModelCache
{
    private readonly Lock _lock = new();
    private AccessModel? _model;
    private long _generation;

    public void Invalidate()
    {
        lock (_lock)
        {
            _model = null;
            _generation++;
        }
    }

    public async Task<AccessModel> GetAsync(InventoryContext db, CancellationToken cancellationToken = default)
    {
        long generation;
        lock (_lock)
        {
            if (_model is not null)
            {
                return _model;
            }

            generation = _generation;
        }

        AccessModel model = await LoadAsync(db, cancellationToken);
        lock (_lock)
        {
            // A change during the load leaves the cache empty, so the next request reads it again.
            if (generation == _generation)
            {
                _model = model;
            }
        }

        return model;
    }

    public static async Task<AccessModel> LoadAsync(InventoryContext db, CancellationToken cancellationToken = default)
    {
        List<AclEntryRecord> acl = await db.AclEntries.AsNoTracking().ToListAsync(cancellationToken);
        List<RoleRecord> roles = await db.Roles.AsNoTracking().ToListAsync(cancellationToken);
        var memberships = await db.GroupMembers.AsNoTracking()
            .Join(db.Groups, m => m.GroupId, g => g.Id, (m, g) => new { m.UserId, Group = g.Name })
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => new { User = u.Name, m.Group })
            .ToListAsync(cancellationToken);
        return new AccessModel(
            acl.Select(ToEntry).ToList(),
            roles.ToDictionary(r => r.Name, r => (IReadOnlySet<string>)new HashSet<string>(SplitPrivileges(r.Privileges), StringComparer.Ordinal), StringComparer.Ordinal),
            memberships.GroupBy(m => m.User, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlySet<string>)g.Select(m => m.Group).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal));
    }

    public static AclEntry ToEntry(AclEntryRecord record) => new(record.Path, KindOf(record.SubjectKind), record.Subject, record.Role, record.Propagate);

    public static SubjectKind KindOf(string kind) => kind switch
    {
        "group" => SubjectKind.Group,
        "token" => SubjectKind.Token,
        _ => SubjectKind.User,
    };

    public static string[] SplitPrivileges(string privileges) => privileges.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
