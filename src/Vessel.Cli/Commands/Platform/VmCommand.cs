using System.CommandLine;
using System.Globalization;
using Vessel.Client;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary>
/// <c>vessel vm list|create|show|edit|start|stop|shutdown|reboot|reset|pause|resume|suspend|delete|console|clone|migrate</c>:
/// VMs kept by <c>vessel serve</c>, through its API.
/// </summary>
internal static class VmCommand
{
    private static readonly Argument<string> s_vmName = new("NAME") { Description = "The VM's name (or UUID)" };
    private static readonly Option<bool> s_noWait = new("--no-wait") { Description = "Print the operation and return at once instead of waiting for it" };

    public static Command Create() => ClientCommand.Group("vm", "Manage the VMs that vessel serve keeps (create, start, stop, clone, console, ...).",
        List(), CreateVm(), Show(), Edit(),
        Action("start", "Start the VM (a suspended VM resumes where it was)"),
        Action("stop", "Stop the VM at once, as pulling the power"),
        Action("shutdown", "Ask the guest to power off; stop it after --timeout seconds", withTimeout: true),
        Action("reboot", "Shut the guest down and start it again (pending changes apply)", withTimeout: true),
        Action("reset", "Reset the VM's board, as pressing reset"),
        Action("pause", "Pause the guest"),
        Action("resume", "Let a paused guest run on, or start a suspended one from its saved state"),
        Action("suspend", "Save the VM's state to disk and stop it; start or resume continues it"),
        Delete(), ConsoleCommand.Create(), Clone(), Migrate());

    private static Command List()
    {
        var state = new Option<string?>("--state") { Description = "Only VMs in this state", HelpName = "STATE" };
        var tag = new Option<string[]>("--tag") { Description = "Only VMs with this tag (repeatable: all must match)", HelpName = "TAG" };
        var name = new Option<string?>("--name") { Description = "Only VMs whose name contains this", HelpName = "TEXT" };
        var sort = new Option<string?>("--sort") { Description = "name, -name, created, -created or state", HelpName = "KEY" };
        var page = new Option<int>("--page") { Description = "Page number", HelpName = "N", DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { Description = "VMs per page (1-1000)", HelpName = "N", DefaultValueFactory = _ => 1000 };
        var command = new Command("list", "List VMs") { state, tag, name, sort, page, pageSize };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Page<VmSummary> result = await client.ListVmsAsync(parseResult.GetValue(page), parseResult.GetValue(pageSize), parseResult.GetValue(sort), parseResult.GetValue(name), parseResult.GetValue(state), parseResult.GetValue(tag), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(result);
                return 0;
            }

            Table.Write(["NAME", "STATE", "CPUS", "MEMORY", "TAGS"], result.Items.Select(v => (IReadOnlyList<string>)
                [v.IsTemplate ? v.Name + " (template)" : v.Name, v.State, v.Cpus.ToString(CultureInfo.InvariantCulture), ClientCommand.Size(v.MemoryBytes), string.Join(",", v.Tags)]));
            if (result.Total > result.Items.Count)
            {
                Console.Error.WriteLine($"({result.Items.Count} of {result.Total}; --page and --page-size show more)");
            }

            return 0;
        });
        return command;
    }

    private static Command CreateVm()
    {
        var name = new Argument<string>("NAME") { Description = "The new VM's name" };
        var template = new Option<string?>("--template") { Description = "Deploy from this template instead of a definition", HelpName = "NAME" };
        var cloneMode = new Option<string>("--clone-mode") { Description = "With --template: linked (overlays on the template's disks) or full (copies)", HelpName = "linked|full", DefaultValueFactory = _ => "linked" }.OneOf("linked", "full");
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to boot (a Linux Image or ELF file on this host)", HelpName = "PATH" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk", HelpName = "PATH" };
        var append = new Option<string?>("--append") { Description = "Kernel command line", HelpName = "CMDLINE" };
        var memory = new Option<string?>("--memory", "-m") { Description = "Guest RAM, e.g. 256M or 1G (a plain number is MiB)", HelpName = "SIZE" };
        var cpus = new Option<int?>("--cpus", "--smp") { Description = "Number of harts (1-8)", HelpName = "N" };
        var drives = new Option<string[]>("--drive") { Description = "A disk: file=PATH (imported as a new qcow2 volume), volume=POOL/NAME (an existing volume) or size=8G (a new empty one); add readonly=on, pool=NAME", HelpName = "file=PATH|volume=REF|size=SIZE,..." };
        var nets = new Option<string[]>("--net", "--nic") { Description = "A NIC: user[,hostfwd=tcp::2222-:22] (the default NAT), network=NAME[,mac=...][,hostfwd=...], or none", HelpName = "KIND,..." };
        var devices = new Option<string[]>("--device") { Description = "virtio-rng or virtio-balloon (repeatable)", HelpName = "DEVICE" };
        var console = new Option<string?>("--console") { Description = "serial or virtio", HelpName = "serial|virtio" };
        var display = new Option<string?>("--display") { Description = "vnc: a screen, keyboard and tablet, seen through the daemon (the web console); none (the default): no screen", HelpName = "vnc|none" };
        var engine = new Option<string?>("--cpu-engine") { Description = "jit or interpreter", HelpName = "jit|interpreter" };
        var bios = new Option<string?>("--bios") { Description = "builtin, uboot, none or a firmware file", HelpName = "FIRMWARE" };
        var iso = new Option<string?>("--iso") { Description = "An ISO volume for the optical drive (POOL/NAME)", HelpName = "VOLUME" };
        var description = new Option<string?>("--description") { Description = "What the VM is for", HelpName = "TEXT" };
        var tags = new Option<string[]>("--tag") { Description = "A tag (repeatable)", HelpName = "TAG" };
        var start = new Option<bool>("--start") { Description = "Start the VM once created" };
        var host = new Option<string?>("--host") { Description = "The host to put the VM on (default: the one with its storage and networks and the most free memory)", HelpName = "HOST" };
        var autostart = new AutostartOptions();
        var command = new Command("create", "Create a VM from vessel run's options, or from a template (--template NAME)")
        {
            name, template, cloneMode, kernel, initrd, append, memory, cpus, drives, nets, devices, console, display, engine, bios, iso, description, tags, host, start, s_noWait,
        };
        autostart.AddTo(command);
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string[] deviceList = parseResult.GetValue(devices) ?? [];
            foreach (string device in deviceList)
            {
                if (device is not ("virtio-rng" or "virtio-balloon"))
                {
                    throw UserErrorException.Usage($"--device takes virtio-rng or virtio-balloon, not '{device}'");
                }
            }

            var request = new VmCreateRequest
            {
                Name = parseResult.GetValue(name)!,
                Template = parseResult.GetValue(template),
                Host = parseResult.GetValue(host),
                CloneMode = parseResult.GetValue(template) is null ? null : parseResult.GetValue(cloneMode),
                Kernel = FullPath(parseResult.GetValue(kernel)),
                Initrd = FullPath(parseResult.GetValue(initrd)),
                Append = parseResult.GetValue(append),
                MemoryBytes = parseResult.GetValue(memory) is { } m ? ClientCommand.ParseSize("--memory", m, 1024 * 1024) : null,
                Cpus = parseResult.GetValue(cpus),
                Disks = parseResult.GetValue(drives) is { Length: > 0 } d ? d.Select(ParseDrive).ToArray() : null,
                Nics = ParseNets(parseResult.GetValue(nets) ?? []),
                Rng = deviceList.Contains("virtio-rng") ? true : null,
                Balloon = deviceList.Contains("virtio-balloon") ? true : null,
                Console = parseResult.GetValue(console),
                Display = parseResult.GetValue(display),
                CpuEngine = parseResult.GetValue(engine),
                Firmware = parseResult.GetValue(bios) is { } b && b is not ("builtin" or "uboot" or "none") ? Path.GetFullPath(b) : parseResult.GetValue(bios),
                Iso = parseResult.GetValue(iso),
                Description = parseResult.GetValue(description),
                Tags = parseResult.GetValue(tags) is { Length: > 0 } t ? t : null,
                Autostart = autostart.From(parseResult, new VmAutostart(false, 0, 0)),
            };
            if (request.Template is not null && (request.Kernel ?? request.Initrd ?? request.Append) is not null)
            {
                throw UserErrorException.Usage("--template gives the boot files; --kernel, --initrd and --append go with a definition instead");
            }

            OperationInfo operation = await client.CreateVmAsync(request, cancellationToken);
            if (parseResult.GetValue(s_noWait))
            {
                ClientCommand.Report(parseResult, operation);
                return 0;
            }

            await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken);
            if (parseResult.GetValue(start))
            {
                await ClientCommand.FollowAsync(parseResult, client, await client.VmActionAsync(request.Name, "start", null, cancellationToken), cancellationToken);
            }

            return await PrintVmAsync(parseResult, client, request.Name, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Whether <c>vessel serve</c> starts the VM when it starts: <c>--autostart</c> with its order
    /// and the delay after it (Proxmox's <c>onboot</c> and <c>startup order=,up=</c>). Options not
    /// given keep the VM's current values.
    /// </summary>
    private sealed class AutostartOptions
    {
        private readonly Option<bool?> _enabled = new("--autostart") { Description = "Start the VM when vessel serve starts (--autostart false to stop that)", HelpName = "true|false" };
        private readonly Option<int?> _order = new("--start-order") { Description = "Autostart order, lowest first (0 to 10000)", HelpName = "N" };
        private readonly Option<int?> _delay = new("--start-delay") { Description = "Seconds to wait after this VM's autostart before the next VM's (0 to 3600)", HelpName = "SECONDS" };

        public void AddTo(Command command)
        {
            command.Options.Add(_enabled);
            command.Options.Add(_order);
            command.Options.Add(_delay);
        }

        public VmAutostart? From(ParseResult parseResult, VmAutostart current)
        {
            bool? enabled = parseResult.GetValue(_enabled);
            int? order = parseResult.GetValue(_order);
            int? delay = parseResult.GetValue(_delay);
            return enabled is null && order is null && delay is null
                ? null
                : new VmAutostart(enabled ?? current.Enabled, order ?? current.Order, delay ?? current.DelaySeconds);
        }
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    /// <summary><c>file=PATH</c>, <c>volume=POOL/NAME</c> or <c>size=SIZE</c>, with <c>readonly=on</c> and <c>pool=NAME</c>.</summary>
    internal static DiskRequest ParseDrive(string text)
    {
        var disk = new DiskRequest();
        foreach ((string key, string? value) in KeyValueOptions.Parse(text))
        {
            string v = value ?? throw UserErrorException.Usage($"--drive {key} needs a value ({key}=...)");
            disk = key switch
            {
                "file" => disk with { Import = Path.GetFullPath(v) },
                "volume" => disk with { Volume = v },
                "size" => disk with { SizeBytes = ClientCommand.ParseSize("--drive size", v) },
                "pool" => disk with { Pool = v },
                "readonly" => disk with { ReadOnly = KeyValueOptions.ParseSwitch(v) ?? throw UserErrorException.Usage($"--drive readonly={v} is not on or off") },
                "format" or "if" => disk,
                _ => throw UserErrorException.Usage($"--drive takes file=, volume=, size=, pool= and readonly=, not '{key}='"),
            };
        }

        return disk;
    }

    /// <summary>vessel run's spellings: <c>user[,hostfwd=...]</c>, <c>none</c>; and <c>network=NAME</c>.</summary>
    internal static IReadOnlyList<NicRequest>? ParseNets(string[] texts)
    {
        if (texts.Length == 0)
        {
            return null;
        }

        if (texts.Contains("none"))
        {
            return texts.Length == 1 ? [] : throw UserErrorException.Usage("--net none means no network card, so it cannot go with another --net");
        }

        return texts.Select(text =>
        {
            var nic = new NicRequest();
            var forwards = new List<string>();
            bool first = true;
            foreach ((string key, string? value) in KeyValueOptions.Parse(text))
            {
                if (first && value is null)
                {
                    nic = key == "user" ? nic with { Network = "default" } : nic with { Network = key };
                    first = false;
                    continue;
                }

                first = false;
                string v = value ?? throw UserErrorException.Usage($"--net {key} needs a value ({key}=...)");
                switch (key)
                {
                    case "network":
                        nic = nic with { Network = v };
                        break;
                    case "mac":
                        nic = nic with { Mac = v };
                        break;
                    case "hostfwd":
                        forwards.Add(v);
                        break;
                    default:
                        throw UserErrorException.Usage($"--net takes user, network=NAME, mac= and hostfwd=, not '{key}='");
                }
            }

            return nic with { PortForwards = forwards };
        }).ToArray();
    }

    private static Command Show()
    {
        var command = new Command("show", "Show a VM's definition and state") { s_vmName };
        command.SetClientAction((parseResult, client, cancellationToken) => PrintVmAsync(parseResult, client, parseResult.GetValue(s_vmName)!, cancellationToken));
        return command;
    }

    internal static async Task<int> PrintVmAsync(ParseResult parseResult, VesselClient client, string name, CancellationToken cancellationToken)
    {
        VmDetails vm = await client.GetVmAsync(name, cancellationToken);
        if (ClientCommand.Json(parseResult))
        {
            ClientCommand.WriteJson(vm);
            return 0;
        }

        var lines = new List<(string, string)>
        {
            ("name", vm.IsTemplate ? $"{vm.Name} (template)" : vm.Name),
            ("uuid", vm.Id.ToString()),
            ("state", vm.ProcessId is { } pid ? $"{vm.State} (VMM process {pid})" : vm.State),
            ("host", vm.Host ?? "-"),
            ("cpus", vm.Cpus.ToString(CultureInfo.InvariantCulture)),
            ("memory", ClientCommand.Size(vm.MemoryBytes) + (vm.BalloonBytes is { } b ? $" (balloon {ClientCommand.Size(b)})" : "")),
        };
        if (vm.Kernel is not null)
        {
            lines.Add(("kernel", vm.Kernel));
        }

        if (vm.Initrd is not null)
        {
            lines.Add(("initrd", vm.Initrd));
        }

        if (vm.Append is not null)
        {
            lines.Add(("append", vm.Append));
        }

        lines.AddRange(vm.Disks.Select(d => (d.Id, $"{d.Volume} ({d.Format}, {ClientCommand.Size(d.VirtualBytes)}{(d.ReadOnly ? ", read-only" : "")})")));
        if (vm.Iso is not null)
        {
            lines.Add(("cdrom", vm.Iso));
        }

        if (vm.Display != VmDisplays.None)
        {
            lines.Add(("display", vm.Display));
        }

        lines.AddRange(vm.Nics.Select((n, i) => ($"nic{i}", $"{n.Network} {n.Mac}{(n.PortForwards.Count > 0 ? " " + string.Join(' ', n.PortForwards) : "")}")));
        if (vm.Description.Length > 0)
        {
            lines.Add(("description", vm.Description));
        }

        if (vm.Tags.Count > 0)
        {
            lines.Add(("tags", string.Join(", ", vm.Tags)));
        }

        if (vm.Autostart.Enabled)
        {
            lines.Add(("autostart", $"order {vm.Autostart.Order}, then {vm.Autostart.DelaySeconds} s before the next"));
        }

        if (vm.CurrentSnapshot is not null)
        {
            lines.Add(("snapshot", vm.CurrentSnapshot));
        }

        if (vm.ClonedFrom is not null)
        {
            lines.Add(("cloned from", vm.ClonedFrom));
        }

        if (vm.PendingChanges.Count > 0)
        {
            lines.Add(("pending", string.Join(", ", vm.PendingChanges) + " (applied at the next start)"));
        }

        int width = lines.Max(l => l.Item1.Length);
        foreach ((string key, string value) in lines)
        {
            Console.Out.WriteLine($"{(key + ":").PadRight(width + 2)}{value}");
        }

        return 0;
    }

    private static Command Edit()
    {
        var newName = new Option<string?>("--name") { Description = "A new name", HelpName = "NAME" };
        var description = new Option<string?>("--description") { Description = "A new description", HelpName = "TEXT" };
        var tags = new Option<string[]?>("--tag") { Description = "Replace the tags (repeatable)", HelpName = "TAG" };
        var cpus = new Option<int?>("--cpus") { Description = "Harts (at the next start)", HelpName = "N" };
        var memory = new Option<string?>("--memory", "-m") { Description = "RAM (at the next start)", HelpName = "SIZE" };
        var balloon = new Option<string?>("--balloon") { Description = "The balloon's target, applied live", HelpName = "SIZE" };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel (at the next start)", HelpName = "PATH" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk (at the next start)", HelpName = "PATH" };
        var append = new Option<string?>("--append") { Description = "Kernel command line (at the next start)", HelpName = "CMDLINE" };
        var iso = new Option<string?>("--iso") { Description = "The disc in the optical drive, an ISO volume (POOL/NAME; \"\" ejects it), changed live when the VM runs with a drive", HelpName = "VOLUME" };
        var display = new Option<string?>("--display") { Description = "vnc or none (at the next start)", HelpName = "vnc|none" };
        var autostart = new AutostartOptions();
        var command = new Command("edit", "Change a VM: name, description, tags, balloon, disc and autostart live; the rest at its next start") { s_vmName, newName, description, tags, cpus, memory, balloon, kernel, initrd, append, iso, display };
        autostart.AddTo(command);
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string name = parseResult.GetValue(s_vmName)!;
            (VmDetails current, string? etag) = await client.GetVmWithETagAsync(name, cancellationToken);
            var request = new VmEditRequest
            {
                Name = parseResult.GetValue(newName),
                Description = parseResult.GetValue(description),
                Tags = parseResult.GetValue(tags) is { Length: > 0 } t ? t : null,
                Cpus = parseResult.GetValue(cpus),
                MemoryBytes = parseResult.GetValue(memory) is { } m ? ClientCommand.ParseSize("--memory", m, 1024 * 1024) : null,
                BalloonBytes = parseResult.GetValue(balloon) is { } b ? ClientCommand.ParseSize("--balloon", b, 1024 * 1024) : null,
                Kernel = FullPath(parseResult.GetValue(kernel)),
                Initrd = FullPath(parseResult.GetValue(initrd)),
                Append = parseResult.GetValue(append),
                Iso = parseResult.GetValue(iso),
                Display = parseResult.GetValue(display),
                Autostart = autostart.From(parseResult, current.Autostart),
            };
            VmDetails vm = await client.EditVmAsync(name, request, etag, cancellationToken);
            return await PrintVmAsync(parseResult, client, vm.Name, cancellationToken);
        });
        return command;
    }

    private static Command Migrate()
    {
        var host = new Option<string?>("--host") { Description = "The destination host (default: the best other host for the VM)", HelpName = "HOST" };
        var bandwidth = new Option<string?>("--max-bandwidth") { Description = "The most the migration sends per second, e.g. 100M (default: the VMM's, 128M)", HelpName = "SIZE" };
        var command = new Command("migrate", "Move the VM to another host: live while it runs (its disks on a shared pool), offline while stopped; cancel with vessel operation cancel") { s_vmName, host, bandwidth, s_noWait };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string name = parseResult.GetValue(s_vmName)!;
            OperationInfo operation = await client.MigrateVmAsync(name, new VmMigrateRequest
            {
                Host = parseResult.GetValue(host),
                MaxBandwidth = parseResult.GetValue(bandwidth) is { } limit ? ClientCommand.ParseSize("--max-bandwidth", limit) : null,
            }, cancellationToken);
            if (parseResult.GetValue(s_noWait))
            {
                ClientCommand.Report(parseResult, operation);
                return 0;
            }

            await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken);
            return await PrintVmAsync(parseResult, client, name, cancellationToken);
        });
        return command;
    }

    private static Command Action(string action, string description, bool withTimeout = false)
    {
        var timeout = new Option<int?>("--timeout") { Description = "Seconds the guest has to power off before it is stopped (default 60)", HelpName = "SECONDS" };
        var command = new Command(action, description) { s_vmName, s_noWait };
        if (withTimeout)
        {
            command.Options.Add(timeout);
        }

        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string name = parseResult.GetValue(s_vmName)!;
            OperationInfo operation = await client.VmActionAsync(name, action, withTimeout ? parseResult.GetValue(timeout) : null, cancellationToken);
            if (parseResult.GetValue(s_noWait))
            {
                ClientCommand.Report(parseResult, operation);
                return 0;
            }

            await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken);
            return await PrintVmAsync(parseResult, client, name, cancellationToken);
        });
        return command;
    }

    private static Command Delete()
    {
        var disks = new Option<bool>("--delete-disks") { Description = "Delete the VM's disks too (those nothing else uses)" };
        var command = new Command("delete", "Delete a stopped VM") { s_vmName, disks, s_noWait };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.DeleteVmAsync(parseResult.GetValue(s_vmName)!, parseResult.GetValue(disks), cancellationToken);
            OperationInfo done = await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken, wait: !parseResult.GetValue(s_noWait));
            if (done.IsFinished)
            {
                ClientCommand.Report(parseResult, done);
            }

            return 0;
        });
        return command;
    }

    private static Command Clone()
    {
        var source = new Argument<string>("SOURCE") { Description = "The VM or template to clone" };
        var name = new Argument<string>("NEW") { Description = "The clone's name" };
        var mode = new Option<string>("--mode") { Description = "full (copies every disk), linked (overlays on a snapshot or template) or instant (starts from the running VM's state, RAM shared copy-on-write)", HelpName = "full|linked|instant", DefaultValueFactory = _ => "full" }.OneOf("full", "linked", "instant");
        var snapshot = new Option<string?>("--snapshot") { Description = "Clone the VM as it was at this snapshot", HelpName = "NAME" };
        var start = new Option<bool>("--start") { Description = "Start the clone once made (instant clones always run)" };
        var command = new Command("clone", "Clone a VM: full, linked or instant") { source, name, mode, snapshot, start, s_noWait };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            var request = new CloneRequest { Name = parseResult.GetValue(name)!, Mode = parseResult.GetValue(mode)!, Snapshot = parseResult.GetValue(snapshot), Start = parseResult.GetValue(start) };
            OperationInfo operation = await client.CloneVmAsync(parseResult.GetValue(source)!, request, cancellationToken);
            if (parseResult.GetValue(s_noWait))
            {
                ClientCommand.Report(parseResult, operation);
                return 0;
            }

            await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken);
            return await PrintVmAsync(parseResult, client, request.Name, cancellationToken);
        });
        return command;
    }
}
