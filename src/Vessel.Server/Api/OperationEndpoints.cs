using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Api;

/// <summary><c>/api/v1/operations</c>: list, read (with <c>?wait=SECONDS</c>), cancel (DELETE).</summary>
public static class OperationEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/operations").WithTags("Operations");
        // Operations are seen by whoever may see their target (VM.Audit on the VM, ...); the
        // endpoints check the operation they are given.
        group.MapGet("/", ListAsync).RequireAuthenticatedCaller().WithSummary("List operations, newest first (filter by status, target; those whose target the caller may see)");
        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, InventoryContext db, OperationManager operations) =>
        {
            await RequireVisibleAsync(http, db, id);
            return await operations.GetAsync(id, HttpConventions.WaitOf(http), http.RequestAborted);
        }).RequireAuthenticatedCaller().WithSummary("An operation; ?wait=SECONDS waits for it to finish");
        group.MapDelete("/{id:guid}", async (Guid id, HttpContext http, InventoryContext db, OperationManager operations) =>
        {
            await RequireVisibleAsync(http, db, id);
            return await operations.CancelAsync(id);
        }).RequireAuthenticatedCaller().WithSummary("Cancel an operation");
    }

    private static async Task RequireVisibleAsync(HttpContext http, InventoryContext db, Guid id)
    {
        var target = await db.Operations.AsNoTracking().Where(o => o.Id == id).Select(o => new { o.TargetKind, o.Target, o.TargetId }).FirstOrDefaultAsync();
        if (target is not null && !await http.Access().MaySeeAsync(db, target.TargetKind, target.Target, target.TargetId))
        {
            // Not found rather than forbidden: an operation one may not see is not there for one.
            throw ApiException.NotFound($"There is no operation {id}.");
        }
    }

    private static async Task<Page<OperationInfo>> ListAsync(HttpContext http, InventoryContext db, int? page, int? pageSize, string? status, string? target)
    {
        (int p, int size) = HttpConventions.PagingOf(page, pageSize);
        IQueryable<OperationRecord> query = db.Operations.AsNoTracking();
        if (!string.IsNullOrEmpty(status))
        {
            query = query.Where(o => o.Status == status);
        }

        if (!string.IsNullOrEmpty(target))
        {
            query = query.Where(o => o.Target == target);
        }

        CallerAccess access = http.Access();
        if (access.IsRoot)
        {
            int total = await query.CountAsync();
            List<OperationRecord> records = await query.OrderByDescending(o => o.CreatedAt).Skip((p - 1) * size).Take(size).ToListAsync();
            return new Page<OperationInfo>(records.Select(OperationManager.ToInfo).ToArray(), total, p, size);
        }

        // Filtered in memory: whether a target may be seen is the permission model's, not SQL's.
        var visible = new List<OperationRecord>();
        foreach (OperationRecord record in await query.OrderByDescending(o => o.CreatedAt).ToListAsync())
        {
            if (await access.MaySeeAsync(db, record.TargetKind, record.Target, record.TargetId))
            {
                visible.Add(record);
            }
        }

        return new Page<OperationInfo>(visible.Skip((p - 1) * size).Take(size).Select(OperationManager.ToInfo).ToArray(), visible.Count, p, size);
    }
}
