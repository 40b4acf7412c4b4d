using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Api;

/// <summary><c>/api/v1/operations</c>: list, read (with <c>?wait=SECONDS</c>), cancel (DELETE).</summary>
public static class OperationEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/operations").WithTags("Operations");
        group.MapGet("/", ListAsync).WithSummary("List operations, newest first (filter by status, target)");
        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, OperationManager operations) =>
            await operations.GetAsync(id, HttpConventions.WaitOf(http), http.RequestAborted)).WithSummary("An operation; ?wait=SECONDS waits for it to finish");
        group.MapDelete("/{id:guid}", async (Guid id, OperationManager operations) => await operations.CancelAsync(id)).WithSummary("Cancel an operation");
    }

    private static async Task<Page<OperationInfo>> ListAsync(InventoryContext db, int? page, int? pageSize, string? status, string? target)
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

        int total = await query.CountAsync();
        List<OperationRecord> records = await query.OrderByDescending(o => o.CreatedAt).Skip((p - 1) * size).Take(size).ToListAsync();
        return new Page<OperationInfo>(records.Select(OperationManager.ToInfo).ToArray(), total, p, size);
    }
}
