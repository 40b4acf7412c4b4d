using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary><c>/api/v1/access/acl</c> (permissions), <c>/tokens</c> (API tokens) and <c>/permissions</c> (the caller's own).</summary>
public static class AclEndpoints
{
    public static void Map(RouteGroupBuilder access)
    {
        access.MapGet("/acl", ListAsync).RequirePrivilege(Privileges.SysAudit, AccessEndpoints.AccessPath).WithSummary("List permissions");
        // Setting and removing a permission needs Permissions.Modify on the permission's own
        // path (a body value, so the endpoint checks it): delegation stays within a subtree.
        access.MapPut("/acl", SetAsync).RequireAuthenticatedCaller().Produces<AclEntryInfo>().WithSummary("Give a user, group or token a role on a path (Permissions.Modify on the path)");
        access.MapDelete("/acl", DeleteAsync).RequireAuthenticatedCaller().WithSummary("Remove a permission (?path=&role=&user=|group=|token=; Permissions.Modify on the path)");
        access.MapGet("/permissions", PermissionsAsync).RequireAuthenticatedCaller().WithSummary("The caller's privileges on a path (?path=, default /)");
        access.MapGet("/tokens", ListTokensAsync).RequireAuthenticatedCaller().WithSummary("The caller's API tokens (?user= another's, with Sys.Audit on /access)");
        access.MapPost("/tokens", CreateTokenAsync).RequireAuthenticatedCaller().Produces<TokenCreated>(StatusCodes.Status201Created).WithSummary("Create an API token; its secret is in this answer only");
        access.MapDelete("/tokens/{token}", DeleteTokenAsync).RequireAuthenticatedCaller().WithSummary("Delete an API token (its name, or user@realm!name)");
    }

    private static async Task<List<AclEntryInfo>> ListAsync(InventoryContext db)
    {
        List<AclEntryRecord> entries = await db.AclEntries.AsNoTracking().ToListAsync();
        Dictionary<Guid, string> vmNames = await db.Vms.AsNoTracking().ToDictionaryAsync(v => v.Id, v => v.Name);
        return entries
            .Select(e => new AclEntryInfo(ShownPath(e.Path, vmNames), e.SubjectKind == "user" ? e.Subject : null, e.SubjectKind == "group" ? e.Subject : null, e.SubjectKind == "token" ? e.Subject : null, e.Role, e.Propagate))
            .OrderBy(e => e.Path, StringComparer.Ordinal).ThenBy(e => e.User ?? e.Group ?? e.Token, StringComparer.Ordinal).ThenBy(e => e.Role, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>VM paths are stored by id (a rename keeps its permissions) and shown by name.</summary>
    private static string ShownPath(string path, Dictionary<Guid, string> vmNames) =>
        path.StartsWith("/vms/", StringComparison.Ordinal) && Guid.TryParse(path[5..], out Guid id) && vmNames.TryGetValue(id, out string? name) ? "/vms/" + name : path;

    /// <summary>The stored path of a path as written: a VM by name or id becomes <c>/vms/ID</c> (the VM must exist).</summary>
    private static async Task<string> StoredPathAsync(InventoryContext db, string? written)
    {
        string path = AccessNames.Path(written);
        if (!path.StartsWith("/vms/", StringComparison.Ordinal))
        {
            return path;
        }

        string vm = path[5..];
        Guid? id = Guid.TryParse(vm, out Guid parsed)
            ? await db.Vms.AnyAsync(v => v.Id == parsed) ? parsed : null
            : await db.Vms.Where(v => v.Name == vm).Select(v => (Guid?)v.Id).FirstOrDefaultAsync();
        return id is { } found ? CallerAccess.VmPath(found) : throw ApiException.NotFound($"There is no VM named '{vm}' for the path {path}.");
    }

    private static async Task<(string Kind, string Subject)> SubjectAsync(InventoryContext db, string? user, string? group, string? token, bool mustExist)
    {
        if ((user is null ? 0 : 1) + (group is null ? 0 : 1) + (token is null ? 0 : 1) != 1)
        {
            throw ApiException.BadRequest("A permission is for exactly one of a user, a group or a token.");
        }

        if (user is not null)
        {
            string name = AccessNames.User(user);
            return !mustExist || await db.Users.AnyAsync(u => u.Name == name) ? ("user", name) : throw ApiException.BadRequest($"There is no user {name}.");
        }

        if (group is not null)
        {
            string name = Names.Check("group", group);
            return !mustExist || await db.Groups.AnyAsync(g => g.Name == name) ? ("group", name) : throw ApiException.BadRequest($"There is no group '{name}'.");
        }

        (string owner, string tokenName) = AccessNames.Token(token);
        bool exists = await db.Tokens.AnyAsync(t => t.Name == tokenName && t.User!.Name == owner);
        return !mustExist || exists ? ("token", $"{owner}!{tokenName}") : throw ApiException.BadRequest($"There is no token {owner}!{tokenName}.");
    }

    private static async Task<IResult> SetAsync(AclSetRequest request, HttpContext http, InventoryContext db, AccessModelCache cache)
    {
        string path = await StoredPathAsync(db, request.Path);
        http.Access().Require(Privileges.PermissionsModify, path, request.Path);
        (string kind, string subject) = await SubjectAsync(db, request.User, request.Group, request.Token, mustExist: true);
        string role = Names.Check("role", request.Role);
        if (!BuiltInRoles.IsBuiltIn(role) && !await db.Roles.AnyAsync(r => r.Name == role))
        {
            throw ApiException.BadRequest($"There is no role '{role}'.");
        }

        AclEntryRecord? entry = await db.AclEntries.FirstOrDefaultAsync(a => a.Path == path && a.SubjectKind == kind && a.Subject == subject && a.Role == role);
        if (entry is null)
        {
            entry = new AclEntryRecord { Id = Guid.NewGuid(), Path = path, SubjectKind = kind, Subject = subject, Role = role };
            db.AclEntries.Add(entry);
        }

        entry.Propagate = request.Propagate ?? true;
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.Ok(new AclEntryInfo(request.Path, request.User is null ? null : subject, request.Group is null ? null : subject, request.Token is null ? null : subject, role, entry.Propagate));
    }

    private static async Task<IResult> DeleteAsync(string? path, string? role, string? user, string? group, string? token, HttpContext http, InventoryContext db, AccessModelCache cache)
    {
        string stored = await StoredPathAsync(db, path);
        http.Access().Require(Privileges.PermissionsModify, stored, path);
        (string kind, string subject) = await SubjectAsync(db, user, group, token, mustExist: false);
        IQueryable<AclEntryRecord> query = db.AclEntries.Where(a => a.Path == stored && a.SubjectKind == kind && a.Subject == subject);
        if (role is not null)
        {
            string name = Names.Check("role", role);
            query = query.Where(a => a.Role == name);
        }

        int removed = await query.ExecuteDeleteAsync();
        cache.Invalidate();
        return removed > 0 ? Results.NoContent() : throw ApiException.NotFound($"There is no such permission on {path}.");
    }

    private static PermissionsInfo PermissionsAsync(string? path, HttpContext http)
    {
        CallerAccess access = http.Access();
        string checkedPath = AccessNames.Path(path ?? "/");
        return new PermissionsInfo(access.Identity.Name, checkedPath, PermissionEvaluator.PrivilegesAt(access.Model, access.Identity, checkedPath).Order(StringComparer.Ordinal).ToList());
    }

    // ---- tokens ---------------------------------------------------------------------------

    /// <summary>Whose tokens a request is about: the caller's own, or another user's with <paramref name="privilege"/> on /access. Tokens do not manage tokens.</summary>
    private static async Task<UserRecord> TokenOwnerAsync(HttpContext http, InventoryContext db, string? user, string privilege)
    {
        CallerAccess access = http.Access();
        if (access.Identity.Token is not null)
        {
            throw ApiException.Forbidden("An API token cannot manage tokens; log in as the user to do that.");
        }

        if (user is null || AccessNames.User(user) == access.Identity.User)
        {
            if (access.IsRoot)
            {
                throw ApiException.BadRequest("root on the host has no tokens of its own; name the user whose token this is.");
            }

            return await AccessEndpoints.FindUserAsync(db, access.Identity.User);
        }

        access.Require(privilege, AccessEndpoints.AccessPath);
        return await AccessEndpoints.FindUserAsync(db, user);
    }

    private static async Task<List<TokenInfo>> ListTokensAsync(string? user, HttpContext http, InventoryContext db)
    {
        UserRecord owner = await TokenOwnerAsync(http, db, user, Privileges.SysAudit);
        List<TokenRecord> tokens = await db.Tokens.AsNoTracking().Where(t => t.UserId == owner.Id).OrderBy(t => t.Name).ToListAsync();
        return tokens.Select(t => ToInfo(t, owner)).ToList();
    }

    private static async Task<IResult> CreateTokenAsync(TokenCreateRequest request, HttpContext http, InventoryContext db, TimeProvider time)
    {
        UserRecord owner = await TokenOwnerAsync(http, db, request.User, Privileges.UserModify);
        string name = Names.Check("token", request.Name);
        DateTime now = time.GetUtcNow().UtcDateTime;
        if (request.ExpiresAt is { } expiry && expiry.ToUniversalTime() <= now)
        {
            throw ApiException.BadRequest("A token's expiry is in the future.");
        }

        if (await db.Tokens.AnyAsync(t => t.UserId == owner.Id && t.Name == name))
        {
            throw ApiException.Conflict($"User {owner.Name} already has a token '{name}'.");
        }

        var id = Guid.NewGuid();
        string secret = Secrets.NewTokenSecret(id);
        var token = new TokenRecord
        {
            Id = id,
            UserId = owner.Id,
            Name = name,
            SecretHash = Secrets.Hash(secret),
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
            PrivilegeSeparated = request.PrivilegeSeparated ?? false,
            Comment = AccessEndpoints.CheckComment(request.Comment),
            CreatedAt = now,
        };
        db.Tokens.Add(token);
        await db.SaveChangesAsync();
        return Results.Created($"/api/v1/access/tokens/{owner.Name}!{name}", new TokenCreated(ToInfo(token, owner), secret));
    }

    private static async Task<IResult> DeleteTokenAsync(string token, HttpContext http, InventoryContext db, AccessModelCache cache)
    {
        (string? user, string name) = token.Contains('!') ? AccessNames.Token(token) : (null, Names.Check("token", token));
        UserRecord owner = await TokenOwnerAsync(http, db, user, Privileges.UserModify);
        TokenRecord record = await db.Tokens.FirstOrDefaultAsync(t => t.UserId == owner.Id && t.Name == name)
            ?? throw ApiException.NotFound($"User {owner.Name} has no token '{name}'.");
        string id = $"{owner.Name}!{name}";
        await db.AclEntries.Where(a => a.SubjectKind == "token" && a.Subject == id).ExecuteDeleteAsync();
        db.Tokens.Remove(record);
        await db.SaveChangesAsync();
        cache.Invalidate();
        return Results.NoContent();
    }

    private static TokenInfo ToInfo(TokenRecord token, UserRecord owner) =>
        new($"{owner.Name}!{token.Name}", owner.Name, token.Name, token.ExpiresAt is { } e ? DateTime.SpecifyKind(e, DateTimeKind.Utc) : null, token.PrivilegeSeparated, token.Comment, DateTime.SpecifyKind(token.CreatedAt, DateTimeKind.Utc));
}
