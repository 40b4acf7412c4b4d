using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Inventory;
using Vessel.Server.Networks;

namespace Vessel.Server.Api;

/// <summary><c>/api/v1/networks</c>: nat, isolated (a virtual switch) and bridged networks.</summary>
public static class NetworkEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder networks = api.MapGroup("/networks").WithTags("Networks");
        networks.MapGet("/", async (HttpContext http, InventoryContext db, NetworkService service) =>
        {
            var result = new List<NetworkInfo>();
            CallerAccess access = http.Access();
            foreach (NetworkRecord network in await db.Networks.AsNoTracking().OrderBy(n => n.Name).ToListAsync())
            {
                if (access.Allows(Privileges.NetworkAudit, CallerAccess.NetworkPath(network.Name)))
                {
                    result.Add(await service.ToInfoAsync(db, network));
                }
            }

            return result;
        }).RequireAuthenticatedCaller().WithSummary("List networks (those the caller may see: Network.Audit)");
        networks.MapGet("/{network}", async (string network, InventoryContext db, NetworkService service) =>
            await service.ToInfoAsync(db, await FindAsync(db, network))).RequirePrivilege(Privileges.NetworkAudit, "/networks/{network}").WithSummary("A network");
        networks.MapPost("/", CreateAsync).RequirePrivilege(Privileges.NetworkAllocate, "/networks").Produces<NetworkInfo>(StatusCodes.Status201Created).WithSummary("Create a network: nat, isolated or bridged (bridge=NAME)");
        networks.MapDelete("/{network}", DeleteAsync).RequirePrivilege(Privileges.NetworkAllocate, "/networks/{network}").Produces(StatusCodes.Status204NoContent).WithSummary("Delete a network no NIC uses");
    }

    private static async Task<NetworkRecord> FindAsync(InventoryContext db, string name)
    {
        Names.Check("network", name);
        return await db.Networks.FirstOrDefaultAsync(n => n.Name == name)
            ?? throw ApiException.NotFound($"There is no network named '{name}'.");
    }

    private static async Task<IResult> CreateAsync(NetworkCreateRequest request, InventoryContext db, NetworkService service)
    {
        string name = Names.Check("network", request.Name);
        string kind = NetworkService.CheckKind(request.Kind);
        string? bridge = null;
        if (kind == "bridged")
        {
            bridge = request.Bridge;
            if (string.IsNullOrEmpty(bridge) || bridge.Length > 15 || !bridge.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw ApiException.BadRequest("A bridged network names its host bridge (bridge=NAME, at most 15 letters, digits, '-', '_' or '.').");
            }
        }
        else if (request.Bridge is not null)
        {
            throw ApiException.BadRequest($"Only a bridged network has a bridge, and this one is {kind}.");
        }

        if (await db.Networks.AnyAsync(n => n.Name == name))
        {
            throw ApiException.Conflict($"There is already a network named '{name}'.");
        }

        var network = new NetworkRecord { Id = Guid.NewGuid(), Name = name, Kind = kind, Bridge = bridge, CreatedAt = DateTime.UtcNow };
        db.Networks.Add(network);
        await db.SaveChangesAsync();
        return Results.Created($"/api/v1/networks/{name}", await service.ToInfoAsync(db, network));
    }

    private static async Task<IResult> DeleteAsync(string network, InventoryContext db, NetworkService service)
    {
        NetworkRecord record = await FindAsync(db, network);
        if (record.Name == "default")
        {
            throw ApiException.Conflict("The default network cannot be deleted.");
        }

        List<string> users = await db.Nics.Where(n => n.NetworkId == record.Id).Join(db.Vms, n => n.VmId, v => v.Id, (n, v) => v.Name).Distinct().ToListAsync();
        if (users.Count > 0)
        {
            throw ApiException.Conflict($"Network '{record.Name}' is in use by {string.Join(", ", users.Take(5))}; move or delete their NICs first.");
        }

        db.Networks.Remove(record);
        await db.SaveChangesAsync();
        if (record.Kind == "isolated")
        {
            service.StopSwitch(record);
        }

        return Results.NoContent();
    }
}
