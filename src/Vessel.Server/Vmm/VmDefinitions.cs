using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;
using Vessel.Server.Storage;

namespace Vessel.Server.Vmm;

/// <summary>
/// Reads VMs from the inventory and turns a definition into what the API shows and into the
/// <c>vessel run</c> options that build the machine.
/// </summary>
public static class VmDefinitions
{
    public const long MiB = 1024 * 1024;
    public const int MaxCpus = 8;

    /// <summary>A VM by name or UUID, with its disks (volumes, pools) and NICs (networks).</summary>
    public static async Task<VmRecord> FindAsync(InventoryContext db, string nameOrId, bool tracking = true)
    {
        IQueryable<VmRecord> query = db.Vms
            .Include(v => v.Disks.OrderBy(d => d.Slot)).ThenInclude(d => d.Volume!).ThenInclude(v => v.Pool)
            .Include(v => v.Nics.OrderBy(n => n.Slot)).ThenInclude(n => n.Network)
            .AsSplitQuery();
        if (!tracking)
        {
            query = query.AsNoTracking();
        }

        VmRecord? vm;
        if (Guid.TryParse(nameOrId, out Guid id))
        {
            vm = await query.FirstOrDefaultAsync(v => v.Id == id);
        }
        else
        {
            string name = CheckedName(nameOrId);
            vm = await query.FirstOrDefaultAsync(v => v.Name == name);
        }

        return vm ?? throw ApiException.NotFound($"There is no VM named '{Printable(nameOrId)}'.");
    }

    private static string CheckedName(string name) => Names.Check("VM", name);

    private static string Printable(string text) => text.Length <= 63 ? text : text[..63] + "…";

    public static string[] TagsOf(VmRecord vm) => vm.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public static string JoinTags(IEnumerable<string> tags)
    {
        string[] checkedTags = tags.Select(t => Names.Check("tag", t)).Distinct().ToArray();
        if (checkedTags.Length > 32)
        {
            throw ApiException.BadRequest($"A VM has at most 32 tags, and {checkedTags.Length} were given.");
        }

        return "," + string.Concat(checkedTags.Select(t => t + ",")) ;
    }

    /// <summary>The name of the manager's own host (where VMs without a host run); null before it is recorded.</summary>
    public static Task<string?> LocalHostNameAsync(InventoryContext db) =>
        db.Hosts.Where(h => h.IsLocal).Select(h => h.Name).FirstOrDefaultAsync();

    public static async Task<VmDetails> ToDetailsAsync(InventoryContext db, VmRecord vm)
    {
        string? iso = vm.IsoVolumeId is { } isoId
            ? await db.Volumes.Where(v => v.Id == isoId).Select(v => v.Pool!.Name + "/" + v.Name).FirstOrDefaultAsync()
            : null;
        string? current = vm.CurrentSnapshotId is { } snapshotId
            ? await db.Snapshots.Where(s => s.Id == snapshotId).Select(s => s.Name).FirstOrDefaultAsync()
            : null;
        string? clonedFrom = vm.ClonedFromId is { } sourceId
            ? await db.Vms.Where(v => v.Id == sourceId).Select(v => v.Name).FirstOrDefaultAsync()
            : null;
        string? host = vm.HostId is { } hostId
            ? await db.Hosts.Where(h => h.Id == hostId).Select(h => h.Name).FirstOrDefaultAsync()
            : await LocalHostNameAsync(db);
        return new VmDetails
        {
            Id = vm.Id,
            Name = vm.Name,
            Description = vm.Description,
            Tags = TagsOf(vm),
            State = vm.State,
            Cpus = vm.Cpus,
            MemoryBytes = vm.MemoryBytes,
            BalloonBytes = vm.BalloonBytes,
            Kernel = vm.Kernel,
            Initrd = vm.Initrd,
            Append = vm.Append,
            Firmware = vm.Firmware,
            CpuEngine = vm.CpuEngine,
            Console = vm.Console,
            Display = vm.Display,
            Rng = vm.Rng,
            Balloon = vm.Balloon,
            IsTemplate = vm.IsTemplate,
            Disks = vm.Disks.OrderBy(d => d.Slot).Select(d => new VmDisk(DriveId(d.Slot), VolumeService.ReferenceOf(d.Volume!), d.Volume!.Format, d.ReadOnly, d.Volume.VirtualBytes)).ToArray(),
            Iso = iso,
            Nics = vm.Nics.OrderBy(n => n.Slot).Select(n => new VmNic(n.Network!.Name, n.Mac, SplitForwards(n.PortForwards))).ToArray(),
            Autostart = new VmAutostart(vm.AutostartEnabled, vm.AutostartOrder, vm.AutostartDelaySeconds),
            ProcessId = vm.ProcessId,
            CurrentSnapshot = current,
            ClonedFrom = clonedFrom,
            Host = host,
            PendingChanges = PendingChanges(vm),
            CreatedAt = DateTime.SpecifyKind(vm.CreatedAt, DateTimeKind.Utc),
            UpdatedAt = DateTime.SpecifyKind(vm.UpdatedAt, DateTimeKind.Utc),
            Version = vm.Version,
        };
    }

    public static string DriveId(int slot) => $"disk{slot}";

    public static string[] SplitForwards(string forwards) => forwards.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The options that define the machine (everything but the VMM's sockets and name). The NICs'
    /// <c>--net</c> values are given, because what a NIC becomes depends on its network's process.
    /// </summary>
    public static List<string> MachineArguments(VmRecord vm, IReadOnlyList<string> netValues, string? isoPath)
    {
        var arguments = new List<string>
        {
            "--memory", (vm.MemoryBytes / MiB).ToString(CultureInfo.InvariantCulture) + "M",
            "--cpus", vm.Cpus.ToString(CultureInfo.InvariantCulture),
            "--cpu-engine", vm.CpuEngine,
            "--uuid", vm.Id.ToString(),
        };
        if (vm.Firmware == "uboot")
        {
            arguments.AddRange(["--bios", "uboot"]);
        }
        else
        {
            arguments.AddRange(["--bios", vm.Firmware]);
            if (vm.Kernel is not null)
            {
                arguments.AddRange(["--kernel", vm.Kernel]);
            }

            if (vm.Initrd is not null)
            {
                arguments.AddRange(["--initrd", vm.Initrd]);
            }

            if (vm.Append is not null)
            {
                arguments.AddRange(["--append", vm.Append]);
            }
        }

        foreach (DiskRecord disk in vm.Disks.OrderBy(d => d.Slot))
        {
            VolumeRecord volume = disk.Volume!;
            bool readOnly = disk.ReadOnly || volume.ReadOnly;
            arguments.AddRange(["--drive", $"file={VolumeService.PathOf(volume)},format={(volume.Format == "qcow2" ? "qcow2" : "raw")},id={DriveId(disk.Slot)}{(readOnly ? ",readonly=on" : "")}"]);
        }

        if (isoPath is not null)
        {
            // A CD/DVD drive (scsi-cd) with the ISO in it: /dev/sr0 in a guest with the driver.
            arguments.AddRange(["--cdrom", isoPath]);
        }

        if (netValues.Count == 0)
        {
            arguments.AddRange(["--net", "none"]);
        }

        foreach (string net in netValues)
        {
            arguments.AddRange(["--net", net]);
        }

        if (vm.Rng)
        {
            arguments.AddRange(["--device", "virtio-rng"]);
        }

        if (vm.Balloon)
        {
            arguments.AddRange(["--device", "virtio-balloon"]);
        }

        if (vm.Console == "virtio")
        {
            arguments.AddRange(["--console", "virtio"]);
        }

        return arguments;
    }

    /// <summary>The VMM's id of the CD/DVD drive that <c>--cdrom</c> makes.</summary>
    public const string OpticalDriveId = "cd0";

    /// <summary>Whether the VMM that runs <paramref name="runningDefinition"/> was started with a CD/DVD drive.</summary>
    public static bool HasOpticalDrive(string runningDefinition) =>
        SettingsOf(runningDefinition).TryGetValue("iso", out string? iso) && iso.Length > 0;

    /// <summary><paramref name="runningDefinition"/> with the disc changed in the running VMM.</summary>
    public static string WithDisc(string runningDefinition, Guid? isoVolumeId) =>
        string.Join('\n', runningDefinition.Split('\n').Select(l => l.StartsWith("iso=", StringComparison.Ordinal) ? $"iso={isoVolumeId}" : l));

    /// <summary>What the definition says now, for telling pending changes apart from what runs.</summary>
    public static string DefinitionText(VmRecord vm) => string.Join('\n',
    [
        $"cpus={vm.Cpus}", $"memory={vm.MemoryBytes}", $"kernel={vm.Kernel}", $"initrd={vm.Initrd}", $"append={vm.Append}",
        $"firmware={vm.Firmware}", $"cpu-engine={vm.CpuEngine}", $"console={vm.Console}", $"rng={vm.Rng}", $"balloon={vm.Balloon}",
        $"iso={vm.IsoVolumeId}",
        // Only a display is written: what VMMs started without one ran is then still "no display".
        .. vm.Display == VmDisplays.None ? Array.Empty<string>() : [$"display={vm.Display}"],
        .. vm.Disks.OrderBy(d => d.Slot).Select(d => $"disk{d.Slot}={d.VolumeId}:{d.ReadOnly}"),
        .. vm.Nics.OrderBy(n => n.Slot).Select(n => $"nic{n.Slot}={n.NetworkId}:{n.Mac}:{n.PortForwards}"),
    ]);

    /// <summary>Whether the VMM that runs <paramref name="runningDefinition"/> was started with a VNC display.</summary>
    public static bool HasVncDisplay(string? runningDefinition) =>
        runningDefinition is not null && SettingsOf(runningDefinition).GetValueOrDefault("display") == VmDisplays.Vnc;

    /// <summary>The settings that differ between the running VMM and the definition (applied at the next start).</summary>
    public static IReadOnlyList<string> PendingChanges(VmRecord vm)
    {
        if (vm.RunningDefinition is null || !VmStates.HasProcess(vm.State))
        {
            return [];
        }

        Dictionary<string, string> running = SettingsOf(vm.RunningDefinition);
        Dictionary<string, string> now = SettingsOf(DefinitionText(vm));
        return now.Keys.Union(running.Keys)
            .Where(k => !(running.TryGetValue(k, out string? a) && now.TryGetValue(k, out string? b) && a == b))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>A definition text's settings, name to value.</summary>
    private static Dictionary<string, string> SettingsOf(string definitionText) => definitionText.Split('\n')
        .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

    /// <summary>A MAC address in QEMU's locally administered range 52:54:00, random in the last three bytes.</summary>
    public static string NewMac()
    {
        Span<byte> random = stackalloc byte[3];
        System.Security.Cryptography.RandomNumberGenerator.Fill(random);
        return $"52:54:00:{random[0]:x2}:{random[1]:x2}:{random[2]:x2}";
    }

    public static string CheckMac(string mac)
    {
        string[] parts = mac.Split(':');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !p.All(char.IsAsciiHexDigit)))
        {
            throw ApiException.BadRequest($"The MAC address '{Printable(mac)}' is not one; write it like 52:54:00:12:34:56.");
        }

        if ((Convert.ToByte(parts[0], 16) & 1) != 0)
        {
            throw ApiException.BadRequest($"The MAC address {mac} is a multicast address; a NIC needs a unicast one (an even first byte).");
        }

        return mac.ToLowerInvariant();
    }

    /// <summary>Checks a port forward in QEMU's hostfwd spelling: <c>tcp:[ADDR]:HOSTPORT-:GUESTPORT</c>.</summary>
    public static string CheckForward(string forward)
    {
        string[] halves = forward.Split('-');
        bool ok = halves.Length == 2;
        if (ok)
        {
            string[] host = halves[0].Split(':');
            string[] guest = halves[1].Split(':');
            ok = host.Length == 3 && host[0] is "tcp" or "udp" && IsPort(host[2]) && guest.Length == 2 && IsPort(guest[1]);
        }

        return ok ? forward : throw ApiException.BadRequest($"The port forward '{Printable(forward)}' is not one; write it like tcp::2222-:22 or tcp:0.0.0.0:8080-:80.");

        static bool IsPort(string text) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536;
    }

    public static long CheckMemory(long bytes)
    {
        if (bytes < 16 * MiB)
        {
            throw ApiException.BadRequest($"A VM needs at least 16 MiB of memory, and {bytes} bytes is less.");
        }

        if (bytes > 64L * 1024 * MiB)
        {
            throw ApiException.BadRequest($"A VM has at most 64 GiB of memory (what the virt board addresses), and {bytes} bytes is more.");
        }

        if (bytes % (2 * MiB) != 0)
        {
            throw ApiException.BadRequest($"A VM's memory must be a multiple of 2 MiB, and {bytes} bytes is not.");
        }

        return bytes;
    }

    public static int CheckCpus(int cpus) => cpus is >= 1 and <= MaxCpus
        ? cpus
        : throw ApiException.BadRequest($"A VM has 1 to {MaxCpus} harts, not {cpus}.");

    public static string? CheckHostFile(string what, string? path)
    {
        if (path is null)
        {
            return null;
        }

        if (!Path.IsPathFullyQualified(path))
        {
            throw ApiException.BadRequest($"The {what} must be given as an absolute path on the server's host, and '{Printable(path)}' is not one.");
        }

        if (!File.Exists(path))
        {
            throw ApiException.BadRequest($"The {what} '{Printable(path)}' does not exist on the server's host.");
        }

        return path;
    }
}
