using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Hosts;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Storage;

namespace Vessel.Server.Api;

/// <summary><c>/api/v1/pools</c> and their volumes: create, upload (streamed), import, resize, copy, delete.</summary>
public static class StorageEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder pools = api.MapGroup("/pools").WithTags("Storage");
        pools.MapGet("/", async (HttpContext http, InventoryContext db) =>
        {
            var service = new VolumeService(db);
            var result = new List<PoolInfo>();
            CallerAccess access = http.Access();
            foreach (PoolRecord pool in await db.Pools.AsNoTracking().OrderBy(p => p.Name).ToListAsync())
            {
                if (access.Allows(Privileges.DatastoreAudit, CallerAccess.StoragePath(pool.Name)))
                {
                    result.Add(await service.ToInfoAsync(pool));
                }
            }

            return result;
        }).RequireAuthenticatedCaller().WithSummary("List storage pools with capacity and allocation (those the caller may see: Datastore.Audit)");
        pools.MapPost("/", CreatePoolAsync).RequirePrivilege(Privileges.DatastoreAllocate, "/storage").Produces<PoolInfo>(StatusCodes.Status201Created).WithSummary("Add a directory pool");
        pools.MapGet("/{pool}", async (string pool, InventoryContext db) =>
        {
            var service = new VolumeService(db);
            return await service.ToInfoAsync(await service.FindPoolAsync(pool));
        }).RequirePrivilege(Privileges.DatastoreAudit, "/storage/{pool}").WithSummary("A pool");
        pools.MapDelete("/{pool}", DeletePoolAsync).RequirePrivilege(Privileges.DatastoreAllocate, "/storage/{pool}").Produces(StatusCodes.Status204NoContent).WithSummary("Remove an empty pool (its directory stays)");
        pools.MapGet("/{pool}/volumes", ListVolumesAsync).RequirePrivilege(Privileges.DatastoreAudit, "/storage/{pool}").Produces<Page<VolumeInfo>>().WithSummary("List a pool's volumes");
        pools.MapPost("/{pool}/volumes", CreateVolumeAsync).RequirePrivilege(Privileges.DatastoreAllocateSpace, "/storage/{pool}").Produces<VolumeInfo>(StatusCodes.Status201Created).ProducesOperation().WithSummary("Create an empty volume, or import a file on the host (an operation)");
        pools.MapGet("/{pool}/volumes/{volume}", async (string pool, string volume, InventoryContext db) =>
        {
            var service = new VolumeService(db);
            return await service.ToInfoAsync(await service.FindVolumeAsync($"{pool}/{volume}"));
        }).RequirePrivilege(Privileges.DatastoreAudit, "/storage/{pool}").WithSummary("A volume");
        pools.MapPut("/{pool}/volumes/{volume}/content", UploadAsync).RequirePrivilege(Privileges.DatastoreAllocateSpace, "/storage/{pool}").Produces<VolumeInfo>(StatusCodes.Status201Created).WithSummary("Upload a new volume's content (streamed to disk; format=qcow2|raw|iso)")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute());
        pools.MapPost("/{pool}/volumes/{volume}/resize", ResizeAsync).RequirePrivilege(Privileges.DatastoreAllocateSpace, "/storage/{pool}").Produces<VolumeInfo>().WithSummary("Grow a volume");
        pools.MapPost("/{pool}/volumes/{volume}/copy", CopyAsync).RequirePrivilege(Privileges.DatastoreAllocateSpace, "/storage/{pool}").ProducesOperation().WithSummary("Copy or convert a volume into a new one (an operation)");
        pools.MapDelete("/{pool}/volumes/{volume}", DeleteVolumeAsync).RequirePrivilege(Privileges.DatastoreAllocateSpace, "/storage/{pool}").Produces(StatusCodes.Status204NoContent).WithSummary("Delete a volume nothing uses");
    }

    private static async Task<IResult> CreatePoolAsync(PoolCreateRequest request, HttpContext http, InventoryContext db)
    {
        // A pool is a directory of the host's choosing: the daemon writes there as itself.
        http.Access().Require(RequestPrivileges.HostFiles, "/");
        string name = Names.Check("pool", request.Name);
        if (string.IsNullOrEmpty(request.Path) || !Path.IsPathFullyQualified(request.Path) || request.Path.Any(char.IsControl))
        {
            throw ApiException.BadRequest("A pool's path must be an absolute path on the server's host.");
        }

        if (await db.Pools.AnyAsync(p => p.Name == name))
        {
            throw ApiException.Conflict($"There is already a pool named '{name}'.");
        }

        string path = Path.GetFullPath(request.Path);
        if (await db.Pools.AnyAsync(p => p.Path == path))
        {
            throw ApiException.Conflict($"Another pool already uses {path}.");
        }

        Directory.CreateDirectory(path);
        var pool = new PoolRecord { Id = Guid.NewGuid(), Name = name, Path = path, Shared = request.Shared, CreatedAt = DateTime.UtcNow };
        db.Pools.Add(pool);
        await db.SaveChangesAsync();
        return Results.Created($"/api/v1/pools/{name}", await new VolumeService(db).ToInfoAsync(pool));
    }

    private static async Task<IResult> DeletePoolAsync(string pool, InventoryContext db)
    {
        PoolRecord record = await new VolumeService(db).FindPoolAsync(pool);
        if (record.Name == "default")
        {
            throw ApiException.Conflict("The default pool cannot be removed.");
        }

        if (await db.Volumes.AnyAsync(v => v.PoolId == record.Id))
        {
            throw ApiException.Conflict($"Pool '{record.Name}' still holds volumes; delete them first.");
        }

        db.Pools.Remove(record);
        await db.SaveChangesAsync();
        return Results.NoContent();
    }

    private static async Task<IResult> ListVolumesAsync(string pool, InventoryContext db, int? page, int? pageSize)
    {
        (int p, int size) = HttpConventions.PagingOf(page, pageSize);
        var service = new VolumeService(db);
        PoolRecord record = await service.FindPoolAsync(pool);
        IQueryable<VolumeRecord> query = db.Volumes.AsNoTracking().Include(v => v.Pool).Where(v => v.PoolId == record.Id).OrderBy(v => v.Name);
        int total = await query.CountAsync();
        var items = new List<VolumeInfo>();
        foreach (VolumeRecord volume in await query.Skip((p - 1) * size).Take(size).ToListAsync())
        {
            items.Add(await service.ToInfoAsync(volume));
        }

        return Results.Ok(new Page<VolumeInfo>(items, total, p, size));
    }

    private static async Task<IResult> CreateVolumeAsync(string pool, VolumeCreateRequest request, HttpContext http, InventoryContext db, OperationManager operations)
    {
        var service = new VolumeService(db);
        PoolRecord record = await service.FindPoolAsync(pool);
        string name = Names.Check("volume", request.Name);
        await service.RequireFreeNameAsync(record, name);
        string format = VolumeService.CheckFormat(request.Format, allowIso: request.Import is not null);
        if (request.Import is null)
        {
            long size = VolumeService.CheckSize(request.SizeBytes ?? throw ApiException.BadRequest("A new empty volume needs a size."));
            VolumeRecord volume = await service.CreateAsync(record, name, format, size);
            return Results.Created($"/api/v1/pools/{record.Name}/volumes/{name}", await service.ToInfoAsync(volume));
        }

        http.Access().Require(RequestPrivileges.HostFiles, "/");
        Vmm.VmDefinitions.CheckHostFile("file to import", request.Import);
        OperationInfo operation = await operations.StartAsync("volume.import", new OperationManager.Target("volume", $"{record.Name}/{name}", VolumeLock(record, name)), mayCancel: true, async context =>
        {
            var opService = new VolumeService(context.Services.GetRequiredService<InventoryContext>());
            context.Log($"Importing {request.Import} as {record.Name}/{name} ({format}).");
            await opService.ImportAsync(record, name, request.Import, format, null, context.Progress, context.CancellationToken);
            return $"{record.Name}/{name}";
        });
        return await HttpConventions.OperationResultAsync(http, operations, operation);
    }

    private static async Task<IResult> UploadAsync(string pool, string volume, string? format, HttpContext http, InventoryContext db, OperationManager operations)
    {
        var service = new VolumeService(db);
        PoolRecord record = await service.FindPoolAsync(pool);
        string name = Names.Check("volume", volume);
        await service.RequireFreeNameAsync(record, name);
        string checkedFormat = VolumeService.CheckFormat(format ?? "raw", allowIso: true);
        Guid lockId = VolumeLock(record, name);
        if (operations.IsBusy(lockId))
        {
            throw ApiException.Conflict($"Volume '{record.Name}/{name}' is being uploaded or imported already.");
        }

        VolumeRecord created;
        try
        {
            created = await service.UploadAsync(record, name, checkedFormat, http.Request.Body, http.Request.ContentLength, http.RequestAborted);
        }
        catch (VolumeException e)
        {
            throw ApiException.BadRequest(Sentences.Of(e.Message));
        }

        return Results.Created($"/api/v1/pools/{record.Name}/volumes/{name}", await service.ToInfoAsync(created));
    }

    private static async Task<IResult> ResizeAsync(string pool, string volume, VolumeResizeRequest request, InventoryContext db)
    {
        var service = new VolumeService(db);
        VolumeRecord record = await service.FindVolumeAsync($"{pool}/{volume}");
        List<string> users = await service.UsersOfAsync(record);
        if (await db.Disks.Where(d => d.VolumeId == record.Id).Join(db.Vms, d => d.VmId, v => v.Id, (d, v) => v.State).AnyAsync(s => s != VmStates.Stopped))
        {
            throw ApiException.Conflict($"Volume '{record.Name}' is a disk of a VM that is not stopped ({string.Join(", ", users)}); stop it first.");
        }

        await service.ResizeAsync(record, request.SizeBytes);
        return Results.Ok(await service.ToInfoAsync(record));
    }

    private static async Task<IResult> CopyAsync(string pool, string volume, VolumeCopyRequest request, HttpContext http, InventoryContext db, OperationManager operations)
    {
        var service = new VolumeService(db);
        VolumeRecord source = await service.FindVolumeAsync($"{pool}/{volume}");
        PoolRecord target = await service.FindPoolAsync(request.Pool ?? source.Pool!.Name);
        string name = Names.Check("volume", request.Name);
        await service.RequireFreeNameAsync(target, name);
        string format = source.Format == "iso" ? "iso" : VolumeService.CheckFormat(request.Format ?? source.Format, allowIso: false);
        string sourcePath = VolumeService.PathOf(source);
        OperationInfo operation = await operations.StartAsync("volume.copy", new OperationManager.Target("volume", $"{target.Name}/{name}", VolumeLock(target, name), [source.Id]), mayCancel: true, async context =>
        {
            var opService = new VolumeService(context.Services.GetRequiredService<InventoryContext>());
            await opService.ImportAsync(target, name, sourcePath, format, null, context.Progress, context.CancellationToken);
            return $"{target.Name}/{name}";
        });
        return await HttpConventions.OperationResultAsync(http, operations, operation);
    }

    private static async Task<IResult> DeleteVolumeAsync(string pool, string volume, InventoryContext db, OperationManager operations, HostCommands hosts)
    {
        var service = new VolumeService(db, hosts);
        VolumeRecord record = await service.FindVolumeAsync($"{pool}/{volume}");
        if (operations.IsBusy(record.Id))
        {
            throw ApiException.Conflict($"Volume '{record.Name}' is being copied; delete it once that is done.");
        }

        await service.DeleteAsync(record);
        return Results.NoContent();
    }

    private static Guid VolumeLock(PoolRecord pool, string name) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"volume:{pool.Id}/{name}")));
}
