using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary><c>/api/v1/access</c>: users, groups and roles (permissions and tokens are in <see cref="AclEndpoints"/>).</summary>
public static class AccessEndpoints
{
    public const string AccessPath = "/access";
    public const int MaxCommentLength = 1024;

    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder access = api.MapGroup("/access").WithTags("Access");
        LoginEndpoints.Map(access);
        access.MapGet("/users", ListUsersAsync).RequirePrivilege(Privileges.SysAudit, AccessPath).WithSummary("List users");
        access.MapPost("/users", CreateUserAsync).RequirePrivilege(Privileges.UserModify, AccessPath).Produces<UserInfo>(StatusCodes.Status201Created).WithSummary("Add a user (vessel realm with a password, or a host user of the pam realm)");
        access.MapGet("/users/{user}", GetUserAsync).RequirePrivilege(Privileges.SysAudit, AccessPath).WithSummary("A user");
        access.MapPatch("/users/{user}", EditUserAsync).RequirePrivilege(Privileges.UserModify, AccessPath).WithSummary("Enable, disable, set an expiry, a comment or the groups");
        access.MapDelete("/users/{user}", DeleteUserAsync).RequirePrivilege(Privileges.UserModify, AccessPath).WithSummary("Delete a user with its tokens, sessions and permissions");
        access.MapGet("/groups", ListGroupsAsync).RequirePrivilege(Privileges.SysAudit, AccessPath).WithSummary("List groups and their members");
        access.MapPost("/groups", CreateGroupAsync).RequirePrivilege(Privileges.UserModify, AccessPath).Produces<GroupInfo>(StatusCodes.Status201Created).WithSummary("Add a group");
        access.MapPatch("/groups/{group}", EditGroupAsync).RequirePrivilege(Privileges.UserModify, AccessPath).WithSummary("Change a group's comment or members");
        access.MapDelete("/groups/{group}", DeleteGroupAsync).RequirePrivilege(Privileges.UserModify, AccessPath).WithSummary("Delete a group with its permissions");
        access.MapGet("/roles", ListRolesAsync).RequireAuthenticatedCaller().WithSummary("List roles (built-in and user-defined) and their privileges");
        access.MapPost("/roles", CreateRoleAsync).RequirePrivilege(Privileges.PermissionsModify, AccessPath).Produces<RoleInfo>(StatusCodes.Status201Created).WithSummary("Define a role");
        access.MapDelete("/roles/{role}", DeleteRoleAsync).RequirePrivilege(Privileges.PermissionsModify, AccessPath).WithSummary("Delete a user-defined role no permission uses");
        AclEndpoints.Map(access);
    }

    public static string CheckComment(string? comment)
    {
        comment ??= "";
        if (comment.Length > MaxCommentLength || comment.Any(c => char.IsControl(c) && c is not '\t'))
        {
            throw ApiException.BadRequest($"A comment is one line of at most {MaxCommentLength} characters.");
        }

        return comment;
    }

    public static async Task<UserRecord> FindUserAsync(InventoryContext db, string user)
    {
        string name = AccessNames.User(user);
        return await db.Users.FirstOrDefaultAsync(u => u.Name == name) ?? throw ApiException.NotFound($"There is no user {name}.");
    }

    private static async Task<List<UserInfo>> ListUsersAsync(InventoryContext db)
    {
        List<UserRecord> users = await db.Users.AsNoTracking().OrderBy(u => u.Name).ToListAsync();
        ILookup<Guid, string> groups = await GroupsByUserAsync(db);
        return users.Select(u => ToInfo(u, groups[u.Id])).ToList();
    }

    private static async Task<UserInfo> GetUserAsync(string user, InventoryContext db)
    {
        UserRecord record = await FindUserAsync(db, user);
        return ToInfo(record, (await GroupsByUserAsync(db))[record.Id]);
    }

    private static async Task<IResult> CreateUserAsync(UserCreateRequest request, InventoryContext db, AccessModelCache cache, TimeProvider time)
    {
        string name = AccessNames.User(request.Name);
        if (await db.Users.AnyAsync(u => u.Name == name))
        {
            throw ApiException.Conflict($"There is already a user {name}.");
        }

        string realm = AccessNames.RealmOf(name);
        var user = new UserRecord
        {
            Id = Guid.NewGuid(),
            Name = name,
            Realm = realm,
            Enabled = request.Enabled ?? true,
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
            Comment = CheckComment(request.Comment),
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        if (realm == AccessNames.VesselRealm)
        {
            user.PasswordHash = Passwords.Hash(user, Passwords.Check(request.Password));
        }
        else if (request.Password is not null)
        {
            throw ApiException.BadRequest($"A user of the pam realm has the host's password; {name} takes none here.");
        }

        db.Users.Add(user);
        await SetGroupsAsync(db, user, request.Groups);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.Created($"/api/v1/access/users/{name}", ToInfo(user, request.Groups ?? []));
    }

    private static async Task<UserInfo> EditUserAsync(string user, UserEditRequest request, InventoryContext db, AccessModelCache cache)
    {
        UserRecord record = await FindUserAsync(db, user);
        record.Enabled = request.Enabled ?? record.Enabled;
        if (request.NeverExpires == true)
        {
            record.ExpiresAt = null;
        }
        else if (request.ExpiresAt is { } expiry)
        {
            record.ExpiresAt = expiry.ToUniversalTime();
        }

        record.Comment = request.Comment is null ? record.Comment : CheckComment(request.Comment);
        await SetGroupsAsync(db, record, request.Groups);
        if (!record.Enabled)
        {
            // Disabling ends the user's sessions at once (its tokens stop by the user's state).
            await db.Sessions.Where(s => s.UserId == record.Id).ExecuteDeleteAsync();
        }

        await db.SaveChangesAsync();
        cache.Invalidate();
        return ToInfo(record, (await GroupsByUserAsync(db))[record.Id]);
    }

    private static async Task<IResult> DeleteUserAsync(string user, HttpContext http, InventoryContext db, AccessModelCache cache)
    {
        UserRecord record = await FindUserAsync(db, user);
        if (http.Access().Identity.User == record.Name)
        {
            throw ApiException.Conflict($"User {record.Name} cannot delete itself; another administrator can.");
        }

        string tokenPrefix = record.Name + "!";
        await db.AclEntries.Where(a => (a.SubjectKind == "user" && a.Subject == record.Name) || (a.SubjectKind == "token" && a.Subject.StartsWith(tokenPrefix))).ExecuteDeleteAsync();
        db.Users.Remove(record);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.NoContent();
    }

    private static async Task SetGroupsAsync(InventoryContext db, UserRecord user, IReadOnlyList<string>? groups)
    {
        if (groups is null)
        {
            return;
        }

        var names = groups.Select(g => Names.Check("group", g)).Distinct().ToList();
        List<GroupRecord> found = await db.Groups.Where(g => names.Contains(g.Name)).ToListAsync();
        if (names.Except(found.Select(g => g.Name)).FirstOrDefault() is { } missing)
        {
            throw ApiException.BadRequest($"There is no group '{missing}'.");
        }

        db.GroupMembers.RemoveRange(await db.GroupMembers.Where(m => m.UserId == user.Id).ToListAsync());
        db.GroupMembers.AddRange(found.Select(g => new GroupMemberRecord { GroupId = g.Id, UserId = user.Id }));
    }

    private static async Task<ILookup<Guid, string>> GroupsByUserAsync(InventoryContext db) =>
        (await db.GroupMembers.AsNoTracking().Join(db.Groups, m => m.GroupId, g => g.Id, (m, g) => new { m.UserId, g.Name }).ToListAsync())
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToLookup(m => m.UserId, m => m.Name);

    private static UserInfo ToInfo(UserRecord user, IEnumerable<string> groups) =>
        new(user.Name, user.Realm, user.Enabled, user.ExpiresAt is { } e ? DateTime.SpecifyKind(e, DateTimeKind.Utc) : null, user.Comment, groups.ToList(), DateTime.SpecifyKind(user.CreatedAt, DateTimeKind.Utc));

    // ---- groups ---------------------------------------------------------------------------

    private static async Task<List<GroupInfo>> ListGroupsAsync(InventoryContext db)
    {
        List<GroupRecord> groups = await db.Groups.AsNoTracking().OrderBy(g => g.Name).ToListAsync();
        ILookup<Guid, string> members = await MembersByGroupAsync(db);
        return groups.Select(g => new GroupInfo(g.Name, g.Comment, members[g.Id].ToList())).ToList();
    }

    private static async Task<IResult> CreateGroupAsync(GroupCreateRequest request, InventoryContext db, AccessModelCache cache, TimeProvider time)
    {
        string name = Names.Check("group", request.Name);
        if (await db.Groups.AnyAsync(g => g.Name == name))
        {
            throw ApiException.Conflict($"There is already a group '{name}'.");
        }

        var group = new GroupRecord { Id = Guid.NewGuid(), Name = name, Comment = CheckComment(request.Comment), CreatedAt = time.GetUtcNow().UtcDateTime };
        db.Groups.Add(group);
        List<UserRecord> members = await SetMembersAsync(db, group, request.Members ?? []);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.Created($"/api/v1/access/groups/{name}", new GroupInfo(name, group.Comment, members.Select(m => m.Name).Order(StringComparer.Ordinal).ToList()));
    }

    private static async Task<GroupInfo> EditGroupAsync(string group, GroupEditRequest request, InventoryContext db, AccessModelCache cache)
    {
        GroupRecord record = await FindGroupAsync(db, group);
        record.Comment = request.Comment is null ? record.Comment : CheckComment(request.Comment);
        if (request.Members is not null)
        {
            await SetMembersAsync(db, record, request.Members);
        }

        await db.SaveChangesAsync();
        cache.Invalidate();
        return new GroupInfo(record.Name, record.Comment, (await MembersByGroupAsync(db))[record.Id].ToList());
    }

    private static async Task<IResult> DeleteGroupAsync(string group, InventoryContext db, AccessModelCache cache)
    {
        GroupRecord record = await FindGroupAsync(db, group);
        await db.AclEntries.Where(a => a.SubjectKind == "group" && a.Subject == record.Name).ExecuteDeleteAsync();
        db.Groups.Remove(record);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.NoContent();
    }

    private static async Task<GroupRecord> FindGroupAsync(InventoryContext db, string group)
    {
        string name = Names.Check("group", group);
        return await db.Groups.FirstOrDefaultAsync(g => g.Name == name) ?? throw ApiException.NotFound($"There is no group '{name}'.");
    }

    private static async Task<List<UserRecord>> SetMembersAsync(InventoryContext db, GroupRecord group, IReadOnlyList<string> members)
    {
        var names = members.Select(AccessNames.User).Distinct().ToList();
        List<UserRecord> users = await db.Users.Where(u => names.Contains(u.Name)).ToListAsync();
        if (names.Except(users.Select(u => u.Name)).FirstOrDefault() is { } missing)
        {
            throw ApiException.BadRequest($"There is no user {missing}.");
        }

        db.GroupMembers.RemoveRange(await db.GroupMembers.Where(m => m.GroupId == group.Id).ToListAsync());
        db.GroupMembers.AddRange(users.Select(u => new GroupMemberRecord { GroupId = group.Id, UserId = u.Id }));
        return users;
    }

    private static async Task<ILookup<Guid, string>> MembersByGroupAsync(InventoryContext db) =>
        (await db.GroupMembers.AsNoTracking().Join(db.Users, m => m.UserId, u => u.Id, (m, u) => new { m.GroupId, u.Name }).ToListAsync())
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToLookup(m => m.GroupId, m => m.Name);

    // ---- roles ----------------------------------------------------------------------------

    private static async Task<List<RoleInfo>> ListRolesAsync(InventoryContext db)
    {
        var roles = BuiltInRoles.PrivilegesOf.Select(r => new RoleInfo(r.Key, Privileges.All.Where(r.Value.Contains).ToList(), BuiltIn: true)).ToList();
        foreach (RoleRecord role in await db.Roles.AsNoTracking().OrderBy(r => r.Name).ToListAsync())
        {
            roles.Add(new RoleInfo(role.Name, AccessModelCache.SplitPrivileges(role.Privileges), BuiltIn: false));
        }

        return roles;
    }

    private static async Task<IResult> CreateRoleAsync(RoleCreateRequest request, InventoryContext db, AccessModelCache cache, TimeProvider time)
    {
        string name = Names.Check("role", request.Name);
        if (BuiltInRoles.IsBuiltIn(name) || await db.Roles.AnyAsync(r => r.Name == name))
        {
            throw ApiException.Conflict($"There is already a role '{name}'.");
        }

        List<string> privileges = (request.Privileges ?? []).Distinct().ToList();
        if (privileges.FirstOrDefault(p => !Privileges.Exists(p)) is { } unknown)
        {
            throw ApiException.BadRequest($"There is no privilege '{HttpConventions.Short(unknown)}'; the privileges are {string.Join(", ", Privileges.All)}.");
        }

        privileges = Privileges.All.Where(privileges.Contains).ToList();
        db.Roles.Add(new RoleRecord { Id = Guid.NewGuid(), Name = name, Privileges = string.Join(',', privileges), CreatedAt = time.GetUtcNow().UtcDateTime });
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.Created($"/api/v1/access/roles/{name}", new RoleInfo(name, privileges, BuiltIn: false));
    }

    private static async Task<IResult> DeleteRoleAsync(string role, InventoryContext db, AccessModelCache cache)
    {
        string name = Names.Check("role", role);
        if (BuiltInRoles.IsBuiltIn(name))
        {
            throw ApiException.Conflict($"Role '{name}' is built in and cannot be deleted.");
        }

        RoleRecord record = await db.Roles.FirstOrDefaultAsync(r => r.Name == name) ?? throw ApiException.NotFound($"There is no role '{name}'.");
        int uses = await db.AclEntries.CountAsync(a => a.Role == name);
        if (uses > 0)
        {
            throw ApiException.Conflict($"Role '{name}' is used by {uses} permission(s); delete them first.");
        }

        db.Roles.Remove(record);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.NoContent();
    }
}
