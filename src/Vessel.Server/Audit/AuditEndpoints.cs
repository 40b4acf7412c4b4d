using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Audit;

/// <summary><c>/api/v1/audit</c>: the log (filtered, paged), its export (CSV or JSON, streamed), verification and retention.</summary>
public static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder audit = api.MapGroup("/audit").WithTags("Audit");
        audit.MapGet("/", ListAsync).RequirePrivilege("Sys.Audit")
            .WithSummary("The audit log, newest first (paged; filter by user, action, object, result: success, failure or a status; from, to)");
        audit.MapGet("/export", ExportAsync).RequirePrivilege("Sys.Audit")
            .WithSummary("The audit log, oldest first, as CSV or JSON (format=csv|json; the list's filters), streamed");
        audit.MapGet("/verify", VerifyAsync).RequirePrivilege("Sys.Audit").WithSummary("Verify the audit log's hash chain");
        audit.MapPost("/verify", VerifyAsync).RequirePrivilege("Sys.Audit").WithAuditAction("audit.verify").WithSummary("Verify the audit log's hash chain");
        audit.MapGet("/settings", async (InventoryContext db, AuditLog log) => new AuditSettings(await log.RetentionDaysAsync(db)))
            .RequirePrivilege("Sys.Audit").WithSummary("The audit log's retention");
        audit.MapPut("/settings", async (AuditSettings settings, AuditLog log) => new AuditSettings(await log.SetRetentionDaysAsync(settings.RetentionDays)))
            .RequirePrivilege("Sys.Modify").WithAuditAction("audit.settings").WithSummary("Set the audit log's retention in days (applied at once)");
    }

    private sealed record Filter(string? User, string? Action, string? Object, string? Result, DateTimeOffset? From, DateTimeOffset? To);

    private static async Task<Page<AuditEntryInfo>> ListAsync(InventoryContext db, int? page, int? pageSize, string? user, string? action, string? @object, string? result, DateTimeOffset? from, DateTimeOffset? to)
    {
        (int p, int size) = HttpConventions.PagingOf(page, pageSize);
        IQueryable<AuditEntryRecord> query = Filtered(db, new Filter(user, action, @object, result, from, to));
        int total = await query.CountAsync();
        List<AuditEntryRecord> rows = await query.OrderByDescending(e => e.Sequence).Skip((p - 1) * size).Take(size).ToListAsync();
        return new Page<AuditEntryInfo>(rows.Select(InfoOf).ToArray(), total, p, size);
    }

    private static async Task ExportAsync(HttpContext http, InventoryContext db, string? format, string? user, string? action, string? @object, string? result, DateTimeOffset? from, DateTimeOffset? to)
    {
        format ??= "json";
        if (format is not ("csv" or "json"))
        {
            throw ApiException.BadRequest($"The audit log exports as csv or json, not '{HttpConventions.Short(format)}'.");
        }

        IAsyncEnumerable<AuditEntryRecord> entries = Filtered(db, new Filter(user, action, @object, result, from, to))
            .OrderBy(e => e.Sequence).AsAsyncEnumerable();
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"vessel-audit.{format}\"";
        CancellationToken cancellationToken = http.RequestAborted;
        if (format == "csv")
        {
            http.Response.ContentType = "text/csv; charset=utf-8";
            await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            await writer.WriteAsync(AuditCsv.Row(AuditCsv.Header));
            await foreach (AuditEntryRecord e in entries.WithCancellation(cancellationToken))
            {
                await writer.WriteAsync(AuditCsv.Row([
                    e.Sequence.ToString(CultureInfo.InvariantCulture), AuditChain.TimeText(e.Time), e.User, e.Source, e.Action, e.Object,
                    e.Status.ToString(CultureInfo.InvariantCulture), e.Detail, e.OperationId?.ToString("D"), e.PreviousHash, e.Hash]));
            }

            return;
        }

        http.Response.ContentType = "application/json; charset=utf-8";
        // Over the response's pipe: the writer's flushes only hand bytes to the pipe, which is sent asynchronously.
        System.IO.Pipelines.PipeWriter body = http.Response.BodyWriter;
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartArray();
            await foreach (AuditEntryRecord e in entries.WithCancellation(cancellationToken))
            {
                JsonSerializer.Serialize(json, InfoOf(e), Client.VesselClient.JsonOptions);
                if (body.UnflushedBytes > 32 * 1024)
                {
                    await body.FlushAsync(cancellationToken);
                }
            }

            json.WriteEndArray();
        }

        await body.FlushAsync(cancellationToken);
    }

    private static async Task<AuditVerification> VerifyAsync(AuditLog log, HttpContext http) => await log.VerifyAsync(http.RequestAborted);

    private static IQueryable<AuditEntryRecord> Filtered(InventoryContext db, Filter filter)
    {
        IQueryable<AuditEntryRecord> query = db.AuditEntries.AsNoTracking();
        if (!string.IsNullOrEmpty(filter.User))
        {
            query = query.Where(e => e.User == filter.User);
        }

        if (!string.IsNullOrEmpty(filter.Action))
        {
            // vm.start names one action; "vm" or "vm." names them all.
            string family = filter.Action.TrimEnd('.') + ".";
            query = query.Where(e => e.Action == filter.Action || e.Action.StartsWith(family));
        }

        if (!string.IsNullOrEmpty(filter.Object))
        {
            query = query.Where(e => e.Object.Contains(filter.Object));
        }

        switch (filter.Result)
        {
            case null or "":
                break;
            case "success":
                query = query.Where(e => e.Status < 400);
                break;
            case "failure":
                query = query.Where(e => e.Status >= 400);
                break;
            default:
                if (!int.TryParse(filter.Result, NumberStyles.None, CultureInfo.InvariantCulture, out int status) || status is < 100 or > 599)
                {
                    throw ApiException.BadRequest($"The result filter is success, failure or an HTTP status, not '{HttpConventions.Short(filter.Result)}'.");
                }

                query = query.Where(e => e.Status == status);
                break;
        }

        if (filter.From is { } from)
        {
            DateTime utc = from.UtcDateTime;
            query = query.Where(e => e.Time >= utc);
        }

        if (filter.To is { } to)
        {
            DateTime utc = to.UtcDateTime;
            query = query.Where(e => e.Time < utc);
        }

        return query;
    }

    public static AuditEntryInfo InfoOf(AuditEntryRecord e) => new()
    {
        Sequence = e.Sequence,
        Time = DateTime.SpecifyKind(e.Time, DateTimeKind.Utc),
        User = e.User,
        Source = e.Source,
        Action = e.Action,
        Object = e.Object,
        Status = e.Status,
        Detail = e.Detail,
        OperationId = e.OperationId,
        PreviousHash = e.PreviousHash,
        Hash = e.Hash,
    };
}
