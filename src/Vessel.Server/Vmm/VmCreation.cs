using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Events;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Storage;

namespace Vessel.Server.Vmm;

/// <summary>
/// Makes VMs: from a definition (disks imported, created or attached), from a template, and as
/// clones of another VM — full (every disk copied), linked (qcow2 overlays on a template's disks
/// or on a base made once from a snapshot) or instant (a new VMM that starts from the source's
/// saved state, its RAM mapped copy-on-write from the state file, its disks overlays on bases
/// frozen at that moment). A clone gets a new UUID, name and MACs, and its own NAT.
/// </summary>
public sealed class VmCreation(ServerOptions options, OperationManager operations, VmmSupervisor supervisor, VmLifecycle lifecycle, EventHub events, Licensing.LicenseGate licenses)
{
    /// <summary>Checks a create request at once (400/404/409), then makes the VM in an operation.</summary>
    public async Task<OperationInfo> CreateAsync(InventoryContext db, VmCreateRequest request)
    {
        string name = Names.Check("VM", request.Name);
        await RequireFreeNameAsync(db, name);
        if (request.Template is not null)
        {
            VmRecord template = await VmDefinitions.FindAsync(db, request.Template, tracking: false);
            if (!template.IsTemplate)
            {
                throw ApiException.BadRequest($"VM '{template.Name}' is not a template; clone it with vessel vm clone, or make it a template first.");
            }

            string mode = request.CloneMode ?? "linked";
            if (mode is not ("linked" or "full"))
            {
                throw ApiException.BadRequest($"A VM is deployed from a template as a linked or full clone, not '{mode}'.");
            }

            return await CloneAsync(db, template, new CloneRequest { Name = name, Mode = mode }, request);
        }

        var vm = new VmRecord
        {
            Id = Guid.NewGuid(),
            Name = name,
            Description = CheckDescription(request.Description),
            Tags = VmDefinitions.JoinTags(request.Tags ?? []),
            Cpus = VmDefinitions.CheckCpus(request.Cpus ?? 1),
            MemoryBytes = VmDefinitions.CheckMemory(request.MemoryBytes ?? 256 * VmDefinitions.MiB),
            Kernel = VmDefinitions.CheckHostFile("kernel", request.Kernel),
            Initrd = VmDefinitions.CheckHostFile("initrd", request.Initrd),
            Append = CheckAppend(request.Append),
            Firmware = CheckFirmware(request.Firmware),
            CpuEngine = CheckEngine(request.CpuEngine),
            Console = CheckConsole(request.Console),
            Display = CheckDisplay(request.Display),
            Rng = request.Rng ?? false,
            Balloon = request.Balloon ?? false,
            State = VmStates.Stopped,
            CreatedAt = DateTime.UtcNow,
            UpdatedAt = DateTime.UtcNow,
        };
        if (vm.Kernel is null && vm.Firmware == "builtin")
        {
            throw ApiException.BadRequest("A VM needs a kernel (or firmware that boots from its disk, such as uboot), or a template to deploy from.");
        }

        if (vm.Initrd is not null && vm.Kernel is null)
        {
            throw ApiException.BadRequest("An initrd needs a kernel.");
        }

        ApplyAutostart(vm, request.Autostart);
        var volumes = new VolumeService(db);
        if (request.Iso is not null)
        {
            VolumeRecord iso = await volumes.FindVolumeAsync(request.Iso);
            vm.IsoVolumeId = iso.Id;
        }

        vm.Nics = await NicsAsync(db, request.Nics);
        IReadOnlyList<DiskRequest> disks = request.Disks ?? [];
        if (disks.Count > 6)
        {
            throw ApiException.BadRequest($"A VM has at most 6 disks, and {disks.Count} were given.");
        }

        var attach = new List<(int Slot, DiskRequest Request, VolumeRecord? Existing, PoolRecord Pool)>();
        for (int slot = 0; slot < disks.Count; slot++)
        {
            DiskRequest disk = disks[slot];
            int given = (disk.Volume is null ? 0 : 1) + (disk.Import is null ? 0 : 1) + (disk.SizeBytes is null ? 0 : 1);
            if (given != 1)
            {
                throw ApiException.BadRequest($"Disk {slot} needs exactly one of a volume, a file to import or a size.");
            }

            PoolRecord pool = await volumes.FindPoolAsync(disk.Pool ?? "default");
            VolumeRecord? existing = null;
            if (disk.Volume is not null)
            {
                existing = await volumes.FindVolumeAsync(disk.Volume);
                if (existing.ReadOnly && !disk.ReadOnly)
                {
                    throw ApiException.Conflict($"Volume '{existing.Name}' is read-only (a template's disk or a clone base); attach it read-only or clone the template.");
                }

                if (!disk.ReadOnly && await db.Disks.AnyAsync(d => d.VolumeId == existing.Id && !d.ReadOnly))
                {
                    throw ApiException.Conflict($"Volume '{existing.Name}' is already a writable disk of another VM.");
                }
            }
            else if (disk.Import is not null)
            {
                VmDefinitions.CheckHostFile("file to import", disk.Import);
            }
            else
            {
                VolumeService.CheckSize(disk.SizeBytes!.Value);
            }

            attach.Add((slot, disk, existing, pool));
        }

        var nicNetworks = new List<string>();
        foreach (NicRecord nic in vm.Nics)
        {
            NetworkRecord network = nic.Network ?? await db.Networks.AsNoTracking().FirstAsync(n => n.Id == nic.NetworkId);
            if (network.Kind != "nat")
            {
                nicNetworks.Add(network.Name);
            }
        }

        var used = attach.Select(a => (a.Existing?.Pool ?? a.Pool, true)).ToList();
        if (vm.IsoVolumeId is { } isoId && await db.Volumes.Where(v => v.Id == isoId).Select(v => v.Pool).FirstOrDefaultAsync() is { } isoPool)
        {
            used.Add((isoPool, false));
        }

        List<Hosts.Placement.PoolNeed> localPools = Hosts.Placement.LocalPoolsOf(used);

        await ApplyRulesAsync(db, vm, request.Rules);
        Hosts.Placement.Needs needs = await Hosts.Placement.WithRulesAsync(db, new Hosts.Placement.Needs(localPools, nicNetworks), vm.Id, vm.PinToHost, vm.KeepApartFrom, vm.KeepTogetherWith);
        vm.HostId = await Hosts.Placement.ChooseAsync(db, name, needs, request.Host, excluding: null);

        return await operations.StartAsync("vm.create", new OperationManager.Target("VM", name, vm.Id, [NameLock(name)]), mayCancel: true, async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            var opVolumes = new VolumeService(opDb);
            var made = new List<VolumeRecord>();
            try
            {
                foreach ((int slot, DiskRequest disk, VolumeRecord? existing, PoolRecord pool) in attach)
                {
                    VolumeRecord volume;
                    if (existing is not null)
                    {
                        volume = existing;
                    }
                    else if (disk.Import is not null)
                    {
                        string volumeName = await opVolumes.UniqueNameAsync(pool, $"{name}-disk{slot}");
                        context.Log($"Importing {disk.Import} as volume {pool.Name}/{volumeName}.");
                        volume = await opVolumes.ImportAsync(pool, volumeName, disk.Import, "qcow2", null, p => context.Progress((slot + p) / attach.Count), context.CancellationToken);
                        made.Add(volume);
                    }
                    else
                    {
                        string volumeName = await opVolumes.UniqueNameAsync(pool, $"{name}-disk{slot}");
                        volume = await opVolumes.CreateAsync(pool, volumeName, "qcow2", disk.SizeBytes);
                        made.Add(volume);
                    }

                    vm.Disks.Add(new DiskRecord { Id = Guid.NewGuid(), VmId = vm.Id, Slot = slot, VolumeId = volume.Id, ReadOnly = disk.ReadOnly });
                }

                await RequireFreeNameAsync(opDb, name);
                foreach (NicRecord nic in vm.Nics)
                {
                    nic.Network = null; // read by the request's context: only the key goes in
                }

                opDb.Vms.Add(vm);
                await opDb.SaveChangesAsync(CancellationToken.None);
            }
            catch
            {
                await DeleteVolumesAsync(opDb, made);
                throw;
            }

            events.Publish("vm.created", "vm", name, VmStates.Stopped);
            return name;
        });
    }

    /// <summary>Clones <paramref name="source"/> (a VM or a template) as the request says.</summary>
    public async Task<OperationInfo> CloneAsync(InventoryContext db, VmRecord source, CloneRequest request, VmCreateRequest? overrides = null)
    {
        string name = Names.Check("VM", request.Name);
        await RequireFreeNameAsync(db, name);
        SnapshotRecord? snapshot = null;
        if (request.Snapshot is not null)
        {
            snapshot = await db.Snapshots.FirstOrDefaultAsync(s => s.VmId == source.Id && s.Name == Names.Check("snapshot", request.Snapshot))
                ?? throw ApiException.NotFound($"VM '{source.Name}' has no snapshot named '{request.Snapshot}'.");
        }

        bool sourceRuns = VmStates.HasProcess(source.State);
        switch (request.Mode)
        {
            case "full":
                if (sourceRuns && snapshot is null)
                {
                    throw ApiException.Conflict($"VM '{source.Name}' is {source.State}; a full clone copies stopped disks, so stop it or clone from a snapshot (--snapshot NAME).");
                }

                break;
            case "linked":
                if (!source.IsTemplate && snapshot is null)
                {
                    throw ApiException.BadRequest($"A linked clone of VM '{source.Name}' needs a snapshot to share (--snapshot NAME); only templates are linked to directly.");
                }

                break;
            case "instant":
                licenses.RequireFeature(Vessel.Licensing.LicenseFeatures.InstantClone);
                if (snapshot is not null)
                {
                    throw ApiException.BadRequest("An instant clone starts from the source's running state, not from a snapshot; use a full or linked clone with --snapshot.");
                }

                if (!sourceRuns || source.State is not (VmStates.Running or VmStates.Paused))
                {
                    throw ApiException.Conflict($"VM '{source.Name}' is {source.State}; an instant clone starts from a running or paused VM.");
                }

                if (source.Disks.Any(d => d.Volume!.Format != "qcow2" && !d.ReadOnly))
                {
                    throw ApiException.Conflict($"VM '{source.Name}' has a raw disk; instant clones need qcow2 disks to overlay.");
                }

                break;
            default:
                throw ApiException.BadRequest($"A clone is full, linked or instant, not '{request.Mode}'.");
        }

        var clone = CopyDefinition(source, name);
        if (overrides is not null)
        {
            clone.Description = overrides.Description is null ? clone.Description : CheckDescription(overrides.Description);
            clone.Tags = overrides.Tags is null ? clone.Tags : VmDefinitions.JoinTags(overrides.Tags);
            clone.Cpus = overrides.Cpus is { } cpus ? VmDefinitions.CheckCpus(cpus) : clone.Cpus;
            clone.MemoryBytes = overrides.MemoryBytes is { } memory ? VmDefinitions.CheckMemory(memory) : clone.MemoryBytes;
            clone.Display = overrides.Display is null ? clone.Display : CheckDisplay(overrides.Display);
            if (overrides.Nics is not null)
            {
                clone.Nics = await NicsAsync(db, overrides.Nics);
            }
        }

        if (request.Mode == "instant")
        {
            // The clone maps its parent's memory copy-on-write: it runs where its parent runs.
            if (source.HostId is not null)
            {
                throw ApiException.Conflict($"VM '{source.Name}' runs on an agent's host; instant clones are made of VMs on the manager's own host (migrate it there first).");
            }

            clone.HostId = null;
        }
        else
        {
            clone.HostId = await Hosts.Placement.ChooseAsync(db, name, await Hosts.Placement.NeedsOfAsync(db, source.Id), overrides?.Host, excluding: null);
        }

        if (request.Mode == "instant" || request.Start)
        {
            await licenses.CheckPowerOnAsync(clone);
        }

        string kind = request.Mode == "instant" ? "vm.clone.instant" : $"vm.clone.{request.Mode}";
        var target = new OperationManager.Target("VM", name, clone.Id, [NameLock(name), source.Id]);
        return await operations.StartAsync(kind, target, mayCancel: request.Mode != "instant", async context =>
        {
            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            VmRecord src = await VmDefinitions.FindAsync(opDb, source.Id.ToString(), tracking: false);
            var made = new List<VolumeRecord>();
            try
            {
                if (request.Mode == "instant")
                {
                    await MakeInstantDisksAsync(context, opDb, src, clone, made);
                }
                else
                {
                    await MakeDisksAsync(context, opDb, src, clone, request.Mode, snapshot?.Name, made);
                }

                await RequireFreeNameAsync(opDb, name);
                foreach (NicRecord nic in clone.Nics)
                {
                    nic.Network = null;
                }

                opDb.Vms.Add(clone);
                await opDb.SaveChangesAsync(CancellationToken.None);
            }
            catch
            {
                await DeleteVolumesAsync(opDb, made.Where(v => v.BaseOfVmId is null).ToList());
                throw;
            }

            events.Publish("vm.created", "vm", name, clone.State);
            if (request.Mode == "instant" || request.Start)
            {
                string? statePath = clone.StatePath;
                await lifecycle.StartNowAsync(context, clone.Id, paused: false);
                // The clone's VMM has mapped the state; the file goes unless the paused source
                // keeps it for its next instant clones (then it goes when the source runs on).
                if (statePath is not null && supervisor.Find(source.Id)?.CurrentClonePoint?.StatePath != statePath)
                {
                    File.Delete(statePath);
                }
            }

            return name;
        });
    }

    private static VmRecord CopyDefinition(VmRecord source, string name) => new()
    {
        Id = Guid.NewGuid(),
        Name = name,
        Description = source.Description,
        Tags = source.Tags,
        Cpus = source.Cpus,
        MemoryBytes = source.MemoryBytes,
        BalloonBytes = source.BalloonBytes,
        Kernel = source.Kernel,
        Initrd = source.Initrd,
        Append = source.Append,
        Firmware = source.Firmware,
        CpuEngine = source.CpuEngine,
        Console = source.Console,
        Display = source.Display,
        Rng = source.Rng,
        Balloon = source.Balloon,
        IsoVolumeId = source.IsoVolumeId,
        ClonedFromId = source.Id,
        State = VmStates.Stopped,
        CreatedAt = DateTime.UtcNow,
        UpdatedAt = DateTime.UtcNow,
        Nics = source.Nics.OrderBy(n => n.Slot).Select(n => new NicRecord
        {
            Id = Guid.NewGuid(),
            Slot = n.Slot,
            NetworkId = n.NetworkId,
            Mac = VmDefinitions.NewMac(),
            PortForwards = "",
        }).ToList(),
    };

    /// <summary>Full copies, or overlays on the template's disks / on bases made once from a snapshot.</summary>
    private static async Task MakeDisksAsync(OperationContext context, InventoryContext db, VmRecord source, VmRecord clone, string mode, string? snapshot, List<VolumeRecord> made)
    {
        var volumes = new VolumeService(db);
        List<DiskRecord> disks = source.Disks.OrderBy(d => d.Slot).ToList();
        for (int i = 0; i < disks.Count; i++)
        {
            DiskRecord disk = disks[i];
            VolumeRecord sourceVolume = disk.Volume!;
            PoolRecord pool = await db.Pools.FirstAsync(p => p.Id == sourceVolume.PoolId);
            VolumeRecord volume;
            if (disk.ReadOnly)
            {
                volume = sourceVolume;
            }
            else if (mode == "full")
            {
                string volumeName = await volumes.UniqueNameAsync(pool, $"{clone.Name}-disk{disk.Slot}");
                context.Log($"Copying {VolumeService.ReferenceOf(sourceVolume)}{(snapshot is null ? "" : $" at snapshot {snapshot}")} to {pool.Name}/{volumeName}.");
                volume = await volumes.ImportAsync(pool, volumeName, VolumeService.PathOf(sourceVolume), sourceVolume.Format == "raw" ? "raw" : "qcow2", snapshot, p => context.Progress((i + p) / disks.Count), context.CancellationToken);
                made.Add(volume);
            }
            else
            {
                VolumeRecord baseVolume = sourceVolume;
                if (!source.IsTemplate)
                {
                    string baseName = $"{source.Name}-{snapshot}-disk{disk.Slot}-base";
                    baseName = baseName.Length > Names.MaxLength ? $"base-{Guid.NewGuid():N}"[..30] : baseName;
                    baseVolume = await db.Volumes.Include(v => v.Pool).FirstOrDefaultAsync(v => v.PoolId == pool.Id && v.Name == baseName && v.BaseOfVmId == source.Id)
                        ?? await MakeBaseAsync(context, volumes, pool, baseName, sourceVolume, snapshot, source.Id, p => context.Progress((i + p) / disks.Count), made);
                }

                string volumeName = await volumes.UniqueNameAsync(pool, $"{clone.Name}-disk{disk.Slot}");
                volume = await volumes.CreateAsync(pool, volumeName, "qcow2", null, baseVolume);
                made.Add(volume);
            }

            clone.Disks.Add(new DiskRecord { Id = Guid.NewGuid(), VmId = clone.Id, Slot = disk.Slot, VolumeId = volume.Id, ReadOnly = disk.ReadOnly });
        }
    }

    private static async Task<VolumeRecord> MakeBaseAsync(OperationContext context, VolumeService volumes, PoolRecord pool, string name, VolumeRecord source, string? snapshot, Guid sourceVmId, Action<double> progress, List<VolumeRecord> made)
    {
        context.Log($"Making the read-only base {pool.Name}/{name} from {VolumeService.ReferenceOf(source)}{(snapshot is null ? "" : $" at snapshot {snapshot}")}.");
        VolumeRecord baseVolume = await volumes.ImportAsync(pool, name, VolumeService.PathOf(source), "qcow2", snapshot, progress, context.CancellationToken, readOnly: true);
        baseVolume.BaseOfVmId = sourceVmId;
        await context.Services.GetRequiredService<InventoryContext>().SaveChangesAsync();
        made.Add(baseVolume);
        return baseVolume;
    }

    /// <summary>
    /// The source pauses for a moment: its state goes to a file, each disk is frozen into a
    /// read-only base, and it runs on. The clone's disks are overlays on those bases, and it
    /// starts from the state file. Clones made while the source stays paused share one state
    /// file and one set of bases, so their RAM pages are shared through the page cache.
    /// </summary>
    private async Task MakeInstantDisksAsync(OperationContext context, InventoryContext db, VmRecord source, VmRecord clone, List<VolumeRecord> made)
    {
        VmmSupervisor.VmmInstance instance = supervisor.Require(source.Id, source.Name);
        var volumes = new VolumeService(db);
        VmmSupervisor.ClonePoint? point = instance.CurrentClonePoint;
        bool wasRunning = await VmmSupervisor.QueryStateAsync(instance, context.CancellationToken) == VmStates.Running;
        if (point is null || wasRunning)
        {
            if (wasRunning)
            {
                await instance.Qmp.ExecuteAsync("stop", null, context.CancellationToken);
            }

            try
            {
                Directory.CreateDirectory(options.StatesDirectory);
                Guid pointId = Guid.NewGuid();
                string statePath = Path.Combine(options.StatesDirectory, $"{source.Id:N}-{pointId:N}.clone.state");
                context.Log($"Saving the state of VM '{source.Name}' to {statePath}.");
                await VmmSupervisor.SaveStateAsync(instance, statePath, context.CancellationToken);
                var bases = new Dictionary<int, Guid>();
                foreach (DiskRecord disk in source.Disks.Where(d => !d.ReadOnly))
                {
                    PoolRecord pool = await db.Pools.FirstAsync(p => p.Id == disk.Volume!.PoolId);
                    string baseName = await volumes.UniqueNameAsync(pool, $"{source.Name}-disk{disk.Slot}-{pointId.ToString("N")[..8]}");
                    VolumeRecord baseVolume = await MakeBaseAsync(context, volumes, pool, baseName, disk.Volume!, null, source.Id, _ => { }, made);
                    bases[disk.Slot] = baseVolume.Id;
                }

                point = new VmmSupervisor.ClonePoint(statePath, bases);
                // Kept only while the source stays paused: once it runs on, its state moved.
                instance.CurrentClonePoint = wasRunning ? null : point;
            }
            finally
            {
                if (wasRunning)
                {
                    await instance.Qmp.ExecuteAsync("cont", null, CancellationToken.None);
                }
            }
        }
        else
        {
            context.Log($"VM '{source.Name}' has stayed paused since its last instant clone; sharing that clone's state.");
        }

        foreach (DiskRecord disk in source.Disks.OrderBy(d => d.Slot))
        {
            VolumeRecord volume = disk.Volume!;
            if (!disk.ReadOnly)
            {
                VolumeRecord baseVolume = await db.Volumes.Include(v => v.Pool).FirstAsync(v => v.Id == point.Bases[disk.Slot]);
                string volumeName = await volumes.UniqueNameAsync(baseVolume.Pool!, $"{clone.Name}-disk{disk.Slot}");
                volume = await volumes.CreateAsync(baseVolume.Pool!, volumeName, "qcow2", null, baseVolume);
                made.Add(volume);
            }

            clone.Disks.Add(new DiskRecord { Id = Guid.NewGuid(), VmId = clone.Id, Slot = disk.Slot, VolumeId = volume.Id, ReadOnly = disk.ReadOnly });
        }

        // An instant clone keeps its source's MACs: the guest's driver already knows its address,
        // and each VM's NAT is its own, so they never collide.
        clone.Nics = source.Nics.OrderBy(n => n.Slot).Select(n => new NicRecord { Id = Guid.NewGuid(), Slot = n.Slot, NetworkId = n.NetworkId, Mac = n.Mac, PortForwards = "" }).ToList();
        clone.State = VmStates.Suspended;
        clone.StatePath = point.StatePath;
    }

    /// <summary>Removes the volumes a failed creation made (the context may hold the failed rows: it starts afresh).</summary>
    private static async Task DeleteVolumesAsync(InventoryContext db, List<VolumeRecord> volumes)
    {
        db.ChangeTracker.Clear();
        var service = new VolumeService(db);
        foreach (Guid id in Enumerable.Reverse(volumes).Select(v => v.Id))
        {
            try
            {
                VolumeRecord? volume = await db.Volumes.Include(v => v.Pool).FirstOrDefaultAsync(v => v.Id == id);
                if (volume is not null && (await service.UsersOfAsync(volume)).Count == 0)
                {
                    await service.DeleteUnusedAsync(volume);
                }
            }
            catch (Exception e) when (e is IOException or DbUpdateException)
            {
            }
        }
    }

    /// <summary>Sets a VM's placement rules from a request: the VMs named must exist and be others.</summary>
    public static async Task ApplyRulesAsync(InventoryContext db, VmRecord vm, VmPlacementRules? rules)
    {
        if (rules is null)
        {
            return;
        }

        async Task<string> IdsAsync(IReadOnlyList<string> names, string what)
        {
            if (names.Count > 32)
            {
                throw ApiException.BadRequest($"A VM is kept {what} at most 32 VMs, and {names.Count} were named.");
            }

            var ids = new List<Guid>();
            foreach (string name in names.Distinct(StringComparer.Ordinal))
            {
                VmRecord other = await VmDefinitions.FindAsync(db, name, tracking: false);
                if (other.Id == vm.Id)
                {
                    throw ApiException.BadRequest($"VM '{vm.Name}' cannot be kept {what} itself.");
                }

                ids.Add(other.Id);
            }

            return "," + string.Concat(ids.Select(id => $"{id},"));
        }

        vm.PinToHost = rules.PinToHost;
        vm.KeepApartFrom = await IdsAsync(rules.KeepApartFrom ?? [], "apart from");
        vm.KeepTogetherWith = await IdsAsync(rules.KeepTogetherWith ?? [], "together with");
        if (vm.KeepApartFrom.Split(',', StringSplitOptions.RemoveEmptyEntries).Intersect(vm.KeepTogetherWith.Split(',', StringSplitOptions.RemoveEmptyEntries)).Any())
        {
            throw ApiException.BadRequest($"VM '{vm.Name}' cannot be kept both apart from and together with the same VM.");
        }
    }

    public static async Task RequireFreeNameAsync(InventoryContext db, string name)
    {
        if (await db.Vms.AnyAsync(v => v.Name == name))
        {
            throw ApiException.Conflict($"There is already a VM named '{name}'.");
        }
    }

    /// <summary>A lock on a name not yet taken, so that two creations of one name cannot race.</summary>
    public static Guid NameLock(string name) => new(MD5.HashData(Encoding.UTF8.GetBytes("vm-name:" + name)));

    public static async Task<List<NicRecord>> NicsAsync(InventoryContext db, IReadOnlyList<NicRequest>? requests)
    {
        requests ??= [new NicRequest()];
        if (requests.Count > 4)
        {
            throw ApiException.BadRequest($"A VM has at most 4 NICs, and {requests.Count} were given.");
        }

        var nics = new List<NicRecord>();
        for (int slot = 0; slot < requests.Count; slot++)
        {
            NicRequest request = requests[slot];
            string networkName = Names.Check("network", request.Network ?? "default");
            NetworkRecord network = await db.Networks.FirstOrDefaultAsync(n => n.Name == networkName)
                ?? throw ApiException.NotFound($"There is no network named '{networkName}'.");
            IReadOnlyList<string> forwards = request.PortForwards ?? [];
            if (forwards.Count > 0 && network.Kind != "nat")
            {
                throw ApiException.BadRequest($"Port forwards belong to NICs on a nat network, and '{network.Name}' is {network.Kind}.");
            }

            nics.Add(new NicRecord
            {
                Id = Guid.NewGuid(),
                Slot = slot,
                NetworkId = network.Id,
                Network = network,
                Mac = request.Mac is null ? VmDefinitions.NewMac() : VmDefinitions.CheckMac(request.Mac),
                PortForwards = string.Join(' ', forwards.Select(VmDefinitions.CheckForward)),
            });
        }

        return nics;
    }

    public static void ApplyAutostart(VmRecord vm, VmAutostart? autostart)
    {
        if (autostart is null)
        {
            return;
        }

        if (autostart.DelaySeconds is < 0 or > 3600 || autostart.Order is < 0 or > 10000)
        {
            throw ApiException.BadRequest("Autostart's order is 0 to 10000 and its delay 0 to 3600 seconds.");
        }

        vm.AutostartEnabled = autostart.Enabled;
        vm.AutostartOrder = autostart.Order;
        vm.AutostartDelaySeconds = autostart.DelaySeconds;
    }

    public static string CheckDescription(string? description)
    {
        description ??= "";
        if (description.Length > 1024)
        {
            throw ApiException.BadRequest($"A description is at most 1024 characters long, and this one has {description.Length}.");
        }

        if (description.Any(c => char.IsControl(c) && c != '\n'))
        {
            throw ApiException.BadRequest("A description cannot hold control characters other than newlines.");
        }

        return description;
    }

    public static string? CheckAppend(string? append)
    {
        if (append is null)
        {
            return null;
        }

        if (append.Length > 2048 || append.Any(char.IsControl))
        {
            throw ApiException.BadRequest("A kernel command line is one line of at most 2048 characters.");
        }

        return append;
    }

    public static string CheckFirmware(string? firmware) => firmware switch
    {
        null or "builtin" => "builtin",
        "uboot" or "none" => firmware,
        _ => VmDefinitions.CheckHostFile("firmware", firmware)!,
    };

    public static string CheckEngine(string? engine) => engine switch
    {
        null or "jit" => "jit",
        "interpreter" => "interpreter",
        _ => throw ApiException.BadRequest($"The CPU engine is jit or interpreter, not '{engine}'."),
    };

    public static string CheckConsole(string? console) => console switch
    {
        null or "serial" => "serial",
        "virtio" => "virtio",
        _ => throw ApiException.BadRequest($"The console is serial or virtio, not '{console}'."),
    };

    public static string CheckDisplay(string? display) => display switch
    {
        null or VmDisplays.None => VmDisplays.None,
        VmDisplays.Vnc => VmDisplays.Vnc,
        _ => throw ApiException.BadRequest($"The display is none or vnc, not '{HttpConventions.Short(display)}'."),
    };
}
