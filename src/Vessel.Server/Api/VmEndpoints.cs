using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Vmm;

namespace Vessel.Server.Api;

/// <summary><c>/api/v1/vms</c> and <c>/api/v1/templates</c>: definitions, life cycle, clones, snapshots.</summary>
public static class VmEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder vms = api.MapGroup("/vms").WithTags("VMs");
        vms.MapGet("/", ListAsync).RequireAuthenticatedCaller().WithSummary("List VMs (paged; sort by name, -name, created, -created, state; filter by name, state, tag)");
        vms.MapPost("/", CreateAsync).RequirePrivilege(Privileges.VmAllocate, "/vms").WithSummary("Create a VM from a definition or a template (an operation)").ProducesOperation();
        vms.MapGet("/{vm}", GetAsync).RequirePrivilege(Privileges.VmAudit, "/vms/{vm}").WithSummary("A VM's definition and state, with its ETag").Produces<VmDetails>();
        // An edit needs VM.Config.CPU, .Memory, .CDROM or .Options by what it changes (checked in EditAsync).
        vms.MapPatch("/{vm}", EditAsync).RequirePrivilege(Privileges.VmAudit, "/vms/{vm}").WithSummary("Edit a VM (If-Match); live for name, description, tags and balloon, at the next start for the rest").Produces<VmDetails>();
        vms.MapDelete("/{vm}", DeleteAsync).RequirePrivilege(Privileges.VmAllocate, "/vms/{vm}").WithSummary("Delete a stopped VM, with its disks when deleteDisks=true (an operation)").ProducesOperation();
        foreach (string action in new[] { "start", "stop", "shutdown", "reboot", "reset", "pause", "resume", "suspend" })
        {
            vms.MapPost("/{vm}/" + action, (string vm, HttpContext http, InventoryContext db, VmLifecycle lifecycle, OperationManager operations, [FromBody] ShutdownRequest? body) =>
                LifecycleAsync(action, vm, http, db, lifecycle, operations, body)).RequirePrivilege(Privileges.VmPowerMgmt, "/vms/{vm}").WithSummary($"{char.ToUpperInvariant(action[0])}{action[1..]} the VM (an operation)").ProducesOperation();
        }

        vms.MapPost("/{vm}/migrate", async (string vm, VmMigrateRequest? request, HttpContext http, InventoryContext db, VmMigration migration, OperationManager operations) =>
                await HttpConventions.OperationResultAsync(http, operations, await migration.MigrateAsync(db, await VmDefinitions.FindAsync(db, vm), request ?? new VmMigrateRequest())))
            .RequirePrivilege(Privileges.VmMigrate, "/vms/{vm}").WithSummary("Move the VM to another host: live while it runs (cancel the operation to stop it; the VM stays on its source), offline while stopped (an operation)").ProducesOperation();
        vms.MapPost("/{vm}/clone", CloneAsync).RequirePrivilege(Privileges.VmClone, "/vms/{vm}").WithSummary("Clone the VM: full, linked (at a snapshot) or instant (from its running state)").ProducesOperation();
        vms.MapPost("/{vm}/template", MakeTemplateAsync).RequirePrivilege(Privileges.VmAllocate, "/vms/{vm}").WithSummary("Turn a stopped VM into a read-only template").Produces<VmDetails>();
        vms.MapGet("/{vm}/snapshots", SnapshotsAsync).RequirePrivilege(Privileges.VmAudit, "/vms/{vm}").WithSummary("The VM's snapshot tree and current position");
        vms.MapPost("/{vm}/snapshots", CreateSnapshotAsync).RequirePrivilege(Privileges.VmSnapshot, "/vms/{vm}").WithSummary("Take a snapshot (with memory when running and asked)").ProducesOperation();
        vms.MapPost("/{vm}/snapshots/{snapshot}/revert", RevertSnapshotAsync).RequirePrivilege(Privileges.VmSnapshotRollback, "/vms/{vm}").WithSummary("Revert to a snapshot").ProducesOperation();
        vms.MapDelete("/{vm}/snapshots/{snapshot}", DeleteSnapshotAsync).RequirePrivilege(Privileges.VmSnapshot, "/vms/{vm}").WithSummary("Delete a snapshot (its children move up)").ProducesOperation();

        api.MapGet("/templates", async (HttpContext http, InventoryContext db, int? page, int? pageSize, string? sort, string? name) =>
            await ListCoreAsync(db, await http.Access().VisibleVmsAsync(db), page, pageSize, sort, name, null, null, templates: true))
            .RequireAuthenticatedCaller().WithTags("VMs").WithSummary("List templates (those the caller may see: VM.Audit)");
    }

    private static async Task<Page<VmSummary>> ListAsync(HttpContext http, InventoryContext db, int? page, int? pageSize, string? sort, string? name, string? state, [FromQuery] string[]? tag) =>
        await ListCoreAsync(db, await http.Access().VisibleVmsAsync(db), page, pageSize, sort, name, state, tag, templates: null);

    /// <summary>A page of VMs or templates; <paramref name="visible"/> (null: all) holds the ones the caller may see.</summary>
    private static async Task<Page<VmSummary>> ListCoreAsync(InventoryContext db, HashSet<Guid>? visible, int? page, int? pageSize, string? sort, string? name, string? state, string[]? tags, bool? templates)
    {
        (int p, int size) = HttpConventions.PagingOf(page, pageSize);
        IQueryable<VmRecord> query = db.Vms.AsNoTracking();
        if (templates is { } t)
        {
            query = query.Where(v => v.IsTemplate == t);
        }

        if (!string.IsNullOrEmpty(name))
        {
            if (name.Length > Names.MaxLength)
            {
                throw ApiException.BadRequest($"A name filter is at most {Names.MaxLength} characters long.");
            }

            query = query.Where(v => v.Name.Contains(name));
        }

        if (!string.IsNullOrEmpty(state))
        {
            query = query.Where(v => v.State == state);
        }

        foreach (string tag in tags ?? [])
        {
            string needle = "," + Names.Check("tag", tag) + ",";
            query = query.Where(v => v.Tags.Contains(needle));
        }

        query = sort switch
        {
            null or "name" => query.OrderBy(v => v.Name),
            "-name" => query.OrderByDescending(v => v.Name),
            "created" => query.OrderBy(v => v.CreatedAt).ThenBy(v => v.Name),
            "-created" => query.OrderByDescending(v => v.CreatedAt).ThenBy(v => v.Name),
            "state" => query.OrderBy(v => v.State).ThenBy(v => v.Name),
            _ => throw ApiException.BadRequest($"Lists sort by name, -name, created, -created or state, not '{HttpConventions.Short(sort)}'."),
        };
        IQueryable<VmRow> selected = query.Select(v => new VmRow(v.Id, v.Name, v.State, v.Cpus, v.MemoryBytes, v.IsTemplate, v.Tags, v.CreatedAt,
            v.Disks.OrderBy(d => d.Slot).Select(d => d.Volume!.Pool!.Name).FirstOrDefault(), v.ClonedFromId,
            v.HostId == null ? null : db.Hosts.Where(h => h.Id == v.HostId).Select(h => h.Name).FirstOrDefault()));
        int total;
        List<VmRow> rows;
        if (visible is null)
        {
            total = await query.CountAsync();
            rows = await selected.Skip((p - 1) * size).Take(size).ToListAsync();
        }
        else
        {
            // The caller's visible VMs filter the rows in memory, after the database has applied
            // the other filters and the order: a parameter set of every VM id in the SQL made each
            // row search the whole set (a list of 1,000 VMs took 17 ms instead of 4 for a token).
            List<VmRow> seen = (await selected.ToListAsync()).Where(v => visible.Contains(v.Id)).ToList();
            total = seen.Count;
            rows = seen.Skip((p - 1) * size).Take(size).ToList();
        }

        string? local = rows.Any(r => r.Host is null) ? await VmDefinitions.LocalHostNameAsync(db) : null;
        VmSummary[] items = rows.Select(v => new VmSummary(v.Id, v.Name, v.State, v.Cpus, v.MemoryBytes, v.IsTemplate,
            v.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries), DateTime.SpecifyKind(v.CreatedAt, DateTimeKind.Utc), v.Pool, v.ClonedFromId, v.Host ?? local)).ToArray();
        return new Page<VmSummary>(items, total, p, size);
    }

    private sealed record VmRow(Guid Id, string Name, string State, int Cpus, long MemoryBytes, bool IsTemplate, string Tags, DateTime CreatedAt, string? Pool, Guid? ClonedFromId, string? Host);

    private static async Task<IResult> CreateAsync(VmCreateRequest request, HttpContext http, InventoryContext db, VmCreation creation, OperationManager operations)
    {
        RequestPrivileges.RequireCreate(http.Access(), request);
        return await HttpConventions.OperationResultAsync(http, operations, await creation.CreateAsync(db, request));
    }

    private static async Task<IResult> GetAsync(string vm, HttpContext http, InventoryContext db)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        http.Response.Headers.ETag = HttpConventions.ETagOf(record.Version);
        return Results.Ok(await VmDefinitions.ToDetailsAsync(db, record));
    }

    private static async Task<IResult> EditAsync(string vm, VmEditRequest request, HttpContext http, InventoryContext db, VmmSupervisor supervisor, OperationManager operations)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm);
        RequestPrivileges.RequireEdit(http.Access(), request, CallerAccess.VmPath(record.Id), "/vms/" + vm);
        HttpConventions.CheckIfMatch(http, record.Version, $"VM '{record.Name}'");
        if (operations.IsBusy(record.Id))
        {
            throw ApiException.Conflict($"VM '{record.Name}' is busy with an operation; edit it once that is done.");
        }

        if (record.IsTemplate && (request.Cpus ?? request.MemoryBytes ?? (object?)request.Kernel ?? request.Initrd ?? request.Append ?? request.Iso) is not null)
        {
            throw ApiException.Conflict($"Template '{record.Name}' is read-only; deploy a VM from it and change that.");
        }

        string oldName = record.Name;
        if (request.Name is not null && request.Name != record.Name)
        {
            string name = Names.Check("VM", request.Name);
            await VmCreation.RequireFreeNameAsync(db, name);
            record.Name = name;
        }

        if (request.Description is not null)
        {
            record.Description = VmCreation.CheckDescription(request.Description);
        }

        if (request.Tags is not null)
        {
            record.Tags = VmDefinitions.JoinTags(request.Tags);
        }

        record.Cpus = request.Cpus is { } cpus ? VmDefinitions.CheckCpus(cpus) : record.Cpus;
        record.MemoryBytes = request.MemoryBytes is { } memory ? VmDefinitions.CheckMemory(memory) : record.MemoryBytes;
        if (request.Kernel is not null)
        {
            record.Kernel = request.Kernel.Length == 0 ? null : VmDefinitions.CheckHostFile("kernel", request.Kernel);
        }

        if (request.Initrd is not null)
        {
            record.Initrd = request.Initrd.Length == 0 ? null : VmDefinitions.CheckHostFile("initrd", request.Initrd);
        }

        if (request.Append is not null)
        {
            record.Append = request.Append.Length == 0 ? null : VmCreation.CheckAppend(request.Append);
        }

        record.Display = request.Display is null ? record.Display : VmCreation.CheckDisplay(request.Display);
        record.Rng = request.Rng ?? record.Rng;
        record.Balloon = request.Balloon ?? record.Balloon;
        record.CpuEngine = request.CpuEngine is null ? record.CpuEngine : VmCreation.CheckEngine(request.CpuEngine);
        VolumeRecord? disc = null;
        if (request.Iso is not null)
        {
            disc = request.Iso.Length == 0 ? null : await new Storage.VolumeService(db).FindVolumeAsync(request.Iso);
            record.IsoVolumeId = disc?.Id;
        }

        VmCreation.ApplyAutostart(record, request.Autostart);
        VmmSupervisor.VmmInstance? instance = supervisor.Find(record.Id);
        if (request.Iso is not null && instance is not null)
        {
            await VmLifecycle.ChangeDiscAsync(record, instance, disc, http.RequestAborted);
        }
        if (request.BalloonBytes is { } balloon)
        {
            if (balloon < 16 * VmDefinitions.MiB || balloon > record.MemoryBytes)
            {
                throw ApiException.BadRequest($"The balloon target is between 16 MiB and the VM's memory ({record.MemoryBytes} bytes), and {balloon} is not.");
            }

            if (instance is not null)
            {
                if (!VmDefinitions.PendingChanges(record).Contains("balloon") && !record.Balloon)
                {
                    throw ApiException.Conflict($"VM '{record.Name}' has no balloon device; add one (balloon: true) and restart it first.");
                }

                await VmLifecycle.SetBalloonAsync(instance, balloon);
            }

            record.BalloonBytes = balloon;
        }

        record.UpdatedAt = DateTime.UtcNow;
        record.Version++;
        await db.SaveChangesAsync();
        if (instance is not null && oldName != record.Name)
        {
            // A rename is live for the API; the VMM keeps the name it was started with (QMP has no set-name).
            instance.Name = record.Name;
        }

        http.Response.Headers.ETag = HttpConventions.ETagOf(record.Version);
        return Results.Ok(await VmDefinitions.ToDetailsAsync(db, record));
    }

    private static async Task<IResult> DeleteAsync(string vm, bool? deleteDisks, HttpContext http, InventoryContext db, VmLifecycle lifecycle, OperationManager operations)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        HttpConventions.CheckIfMatch(http, record.Version, $"VM '{record.Name}'");
        await VmLifecycle.RequireNoDependentsAsync(db, record);
        return await HttpConventions.OperationResultAsync(http, operations, await lifecycle.DeleteAsync(record, deleteDisks ?? false));
    }

    private static async Task<IResult> LifecycleAsync(string action, string vm, HttpContext http, InventoryContext db, VmLifecycle lifecycle, OperationManager operations, ShutdownRequest? body)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        int timeoutSeconds = body?.TimeoutSeconds ?? 60;
        if (timeoutSeconds is < 0 or > 3600)
        {
            throw ApiException.BadRequest($"A shutdown timeout is 0 to 3600 seconds, not {timeoutSeconds}.");
        }

        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        OperationInfo operation = action switch
        {
            "start" => await lifecycle.StartAsync(record),
            "stop" => await lifecycle.StopAsync(record),
            "shutdown" => await lifecycle.ShutdownAsync(record, timeout),
            "reboot" => await lifecycle.RebootAsync(record, timeout),
            "reset" => await lifecycle.ResetAsync(record),
            "pause" => await lifecycle.PauseAsync(record),
            "resume" => await lifecycle.ResumeAsync(record),
            "suspend" => await lifecycle.SuspendAsync(record),
            _ => throw ApiException.NotFound($"There is no VM action '{action}'."),
        };
        return await HttpConventions.OperationResultAsync(http, operations, operation);
    }

    private static async Task<IResult> CloneAsync(string vm, CloneRequest request, HttpContext http, InventoryContext db, VmCreation creation, OperationManager operations)
    {
        // A clone is a new VM as well as a use of its source.
        http.Access().Require(Privileges.VmAllocate, "/vms");
        VmRecord source = await VmDefinitions.FindAsync(db, vm, tracking: false);
        return await HttpConventions.OperationResultAsync(http, operations, await creation.CloneAsync(db, source, request));
    }

    private static async Task<IResult> MakeTemplateAsync(string vm, HttpContext http, InventoryContext db, OperationManager operations)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm);
        HttpConventions.CheckIfMatch(http, record.Version, $"VM '{record.Name}'");
        if (record.IsTemplate)
        {
            throw ApiException.Conflict($"VM '{record.Name}' is a template already.");
        }

        if (record.State != VmStates.Stopped)
        {
            throw ApiException.Conflict($"VM '{record.Name}' is {record.State}; only a stopped VM becomes a template.");
        }

        if (operations.IsBusy(record.Id))
        {
            throw ApiException.Conflict($"VM '{record.Name}' is busy with an operation.");
        }

        record.IsTemplate = true;
        foreach (DiskRecord disk in record.Disks)
        {
            disk.Volume!.ReadOnly = true;
        }

        record.Version++;
        record.UpdatedAt = DateTime.UtcNow;
        await db.SaveChangesAsync();
        http.Response.Headers.ETag = HttpConventions.ETagOf(record.Version);
        return Results.Ok(await VmDefinitions.ToDetailsAsync(db, record));
    }

    private static async Task<SnapshotTree> SnapshotsAsync(string vm, InventoryContext db) =>
        await SnapshotService.TreeAsync(db, await VmDefinitions.FindAsync(db, vm, tracking: false));

    private static async Task<IResult> CreateSnapshotAsync(string vm, SnapshotCreateRequest request, HttpContext http, InventoryContext db, SnapshotService snapshots, OperationManager operations) =>
        await HttpConventions.OperationResultAsync(http, operations, await snapshots.CreateAsync(db, await VmDefinitions.FindAsync(db, vm, tracking: false), request));

    private static async Task<IResult> RevertSnapshotAsync(string vm, string snapshot, HttpContext http, InventoryContext db, SnapshotService snapshots, OperationManager operations) =>
        await HttpConventions.OperationResultAsync(http, operations, await snapshots.RevertAsync(db, await VmDefinitions.FindAsync(db, vm, tracking: false), snapshot));

    private static async Task<IResult> DeleteSnapshotAsync(string vm, string snapshot, HttpContext http, InventoryContext db, SnapshotService snapshots, OperationManager operations) =>
        await HttpConventions.OperationResultAsync(http, operations, await snapshots.DeleteAsync(db, await VmDefinitions.FindAsync(db, vm, tracking: false), snapshot));
}
