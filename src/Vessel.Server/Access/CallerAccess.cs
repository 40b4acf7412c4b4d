using Microsoft.EntityFrameworkCore;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary>
/// Endpoint metadata: any authenticated caller may call the endpoint, which itself shows only
/// what the caller may see (lists) or checks the object it is given (an operation, a password).
/// </summary>
public sealed record AnyAuthenticatedCaller;

public static class AnyAuthenticatedCallerExtensions
{
    public static TBuilder RequireAuthenticatedCaller<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AnyAuthenticatedCaller());
}

/// <summary>
/// The request's caller and what it may do, for endpoints that decide per object (lists,
/// operations). The access middleware puts one on every authenticated request.
/// </summary>
public sealed class CallerAccess(AccessIdentity identity, AccessModel model)
{
    public AccessIdentity Identity { get; } = identity;

    public AccessModel Model { get; } = model;

    public bool IsRoot => Identity.IsRoot;

    public bool Allows(string privilege, string path) => PermissionEvaluator.Allows(Model, Identity, privilege, path);

    /// <summary>Refuses (403) with a sentence naming the missing privilege and the path as the caller wrote it.</summary>
    public void Require(string privilege, string path, string? shownPath = null)
    {
        if (!Allows(privilege, path))
        {
            throw Denied(Identity.Name, privilege, shownPath ?? path);
        }
    }

    public static ApiException Denied(string who, string privilege, string path) =>
        ApiException.Forbidden($"Permission denied: {who} needs {privilege} on {path}.");

    public static string VmPath(Guid id) => "/vms/" + id;

    /// <summary>The ACL path of a storage pool.</summary>
    public static string StoragePath(string pool) => "/storage/" + pool;

    /// <summary>The ACL path of a network.</summary>
    public static string NetworkPath(string network) => "/networks/" + network;

    /// <summary>The VMs whose <paramref name="privilege"/> the caller has, or null for all (root needs no filter).</summary>
    public async Task<HashSet<Guid>?> VisibleVmsAsync(InventoryContext db, string privilege = Privileges.VmAudit)
    {
        if (IsRoot)
        {
            return null;
        }

        // Most VMs have no ACL entry and no resource pool of their own: they all inherit the same
        // answer, evaluated once (a list of 1,000 VMs cost 1,000 evaluations before). The set is
        // returned even when it holds every VM: one created meanwhile is not let through unchecked.
        List<Guid> ids = await db.Vms.AsNoTracking().Select(v => v.Id).ToListAsync();
        bool? inherited = null;
        var visible = new HashSet<Guid>();
        foreach (Guid id in ids)
        {
            string path = VmPath(id);
            bool allowed = Model.InheritsOnly(path)
                ? inherited ??= Allows(privilege, path)
                : Allows(privilege, path);
            if (allowed)
            {
                visible.Add(id);
            }
        }

        return visible;
    }

    /// <summary>
    /// Whether the caller may see an object an operation or event names (a VM by name or id, a
    /// volume as pool/name, a pool, a network). Kinds are compared without case: operations say
    /// "VM", events "vm".
    /// </summary>
    public async Task<bool> MaySeeAsync(InventoryContext db, string? targetKind, string? target, Guid? targetId = null)
    {
        if (IsRoot)
        {
            return true;
        }

        switch (targetKind?.ToLowerInvariant())
        {
            case "vm" when targetId is { } known:
                return Allows(Privileges.VmAudit, VmPath(known));
            case "vm" when target is not null:
                Guid? id = await db.Vms.AsNoTracking().Where(v => v.Name == target).Select(v => (Guid?)v.Id).FirstOrDefaultAsync();
                return Allows(Privileges.VmAudit, id is { } vm ? VmPath(vm) : "/vms/" + target);
            case "volume" when target is not null:
                return Allows(Privileges.DatastoreAudit, StoragePath(target.Split('/')[0]));
            case "pool" when target is not null:
                return Allows(Privileges.DatastoreAudit, StoragePath(target));
            case "network" when target is not null:
                return Allows(Privileges.NetworkAudit, NetworkPath(target));
            default:
                return Allows(Privileges.SysAudit, "/");
        }
    }
}

public static class CallerAccessExtensions
{
    /// <summary>The caller's access; the middleware sets it on every request that reaches an endpoint.</summary>
    public static CallerAccess Access(this HttpContext http) =>
        http.Features.Get<CallerAccess>() ?? throw new InvalidOperationException("The access middleware did not run for this request.");
}
