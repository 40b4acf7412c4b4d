using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Audit;
using Vessel.Server.Inventory;

namespace Vessel.Server.Hosts;

/// <summary>
/// <c>/api/v1/hosts</c>: the platform's hosts (the manager's own, <c>local</c>, and those whose
/// agents joined), adding one with its one-time join token, removing one, and the agents'
/// anonymous, token-authorised enrolment (<c>POST /api/v1/hosts/join</c>).
/// </summary>
public static class HostEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder hosts = api.MapGroup("/hosts").WithTags("Hosts");
        hosts.MapGet("/", async (InventoryContext db, CancellationToken cancellationToken) =>
            (await db.Hosts.AsNoTracking().OrderByDescending(h => h.IsLocal).ThenBy(h => h.Name).ToListAsync(cancellationToken)).Select(HostService.ToInfo).ToList())
            .RequirePrivilege(Privileges.SysAudit, "/hosts").WithSummary("List hosts: the manager's own first, then the joined ones, with their states and capacity");
        hosts.MapGet("/{host}", async (string host, InventoryContext db, HostService service, CancellationToken cancellationToken) =>
            HostService.ToInfo(await service.FindAsync(db, host, cancellationToken)))
            .RequirePrivilege(Privileges.SysAudit, "/hosts/{host}").WithSummary("A host by name or id ('local': the manager's own)");
        hosts.MapPost("/", async (HostCreateRequest request, InventoryContext db, HostService service, CancellationToken cancellationToken) =>
        {
            HostCreated created = await service.AddAsync(db, request, cancellationToken);
            return Results.Created($"/api/v1/hosts/{created.Host.Name}", created);
        }).RequirePrivilege(Privileges.SysModify, "/hosts").WithAuditAction("host.add").Produces<HostCreated>(StatusCodes.Status201Created)
            .WithSummary("Add a host to join: it is 'connecting' until its agent joins with the one-time join token returned (shown once)");
        hosts.MapDelete("/{host}", async (string host, InventoryContext db, HostService service, CancellationToken cancellationToken) =>
            await service.RemoveAsync(db, host, cancellationToken))
            .RequirePrivilege(Privileges.SysModify, "/hosts/{host}").WithAuditAction("host.remove").WithSummary("Remove a host: its agent is cut off and its certificate refused from then on");
        hosts.MapPost("/{host}/maintenance", async (string host, InventoryContext db, HostMaintenanceService maintenance, HttpContext http, Operations.OperationManager operations, CancellationToken cancellationToken) =>
            await HttpConventions.OperationResultAsync(http, operations, await maintenance.EnterAsync(db, host, cancellationToken)))
            .RequirePrivilege(Privileges.SysModify, "/hosts/{host}").WithAuditAction("host.enter-maintenance").ProducesOperation()
            .WithSummary("Put a host in maintenance: it takes no new VMs and its running VMs migrate away, a few at a time (an operation); it shows maintenance 'ready' once empty");
        hosts.MapDelete("/{host}/maintenance", async (string host, InventoryContext db, HostMaintenanceService maintenance, CancellationToken cancellationToken) =>
            await maintenance.ExitAsync(db, host, cancellationToken))
            .RequirePrivilege(Privileges.SysModify, "/hosts/{host}").WithAuditAction("host.exit-maintenance")
            .WithSummary("Take a host out of maintenance: it takes VMs again");
        hosts.MapPost("/join", async (HostJoinRequest request, InventoryContext db, HostService service, HttpContext http, CancellationToken cancellationToken) =>
            await service.JoinAsync(db, request, http, cancellationToken))
            .AllowAnonymous().WithAuditAction("host.join")
            .WithSummary("An agent's enrolment: its join token and a certificate signing request; answers its certificate, the manager's CA and the agent endpoint");
    }
}
