using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// <c>human-monitor-command</c>: the few HMP commands administrators type through QMP (savevm,
/// loadvm, delvm, info snapshots, info status and a handful more), with QEMU's wording and
/// output. As in QEMU, a failing HMP command is not a QMP error: its message is the output.
/// </summary>
internal static class QmpHumanMonitorCommands
{
    private const ulong MiB = 1024 * 1024;

    /// <summary>The commands and their one-line help, as <c>help</c> lists them.</summary>
    private static readonly (string Name, string Arguments, string Help)[] s_commands =
    [
        ("balloon", "target", "request VM to change its memory allocation (in MB)"),
        ("cont|c", string.Empty, "resume emulation"),
        ("delvm", "tag", "delete a VM snapshot from its tag"),
        ("help|?", "[cmd]", "show the help"),
        ("info", "[subcommand]", "show various information about the system state"),
        ("loadvm", "tag", "restore a VM snapshot from its tag"),
        ("quit|q", string.Empty, "quit the emulator"),
        ("savevm", "tag", "save a VM snapshot. If no tag is provided, a new snapshot is created"),
        ("stop|s", string.Empty, "stop emulation"),
        ("system_powerdown", string.Empty, "send system power down event"),
        ("system_reset", string.Empty, "reset the system"),
    ];

    private static readonly (string Name, string Help)[] s_infoCommands =
    [
        ("balloon", "show balloon information"),
        ("name", "show the current VM name"),
        ("snapshots", "show the currently saved VM snapshots"),
        ("status", "show the current VM status (running|paused)"),
        ("uuid", "show the current VM UUID"),
        ("version", "show the version of QEMU"),
    ];

    public static void Register(QmpCommandTable table) =>
        table.Add("human-monitor-command", [Required("command-line", QmpType.String), Optional("cpu-index", QmpType.Integer)], HumanMonitorCommand);

    private static JsonNode HumanMonitorCommand(QmpCommandContext context, QmpArguments arguments)
    {
        string output = Execute(context.Vm, arguments.GetString("command-line"));
        // The monitor's output device turns each "\n" into "\r\n", as QEMU's does.
        return JsonValue.Create(output.Replace("\n", "\r\n", StringComparison.Ordinal));
    }

    /// <summary>Runs one HMP command line and returns its output with "\n" line ends.</summary>
    internal static string Execute(VirtualMachine vm, string commandLine)
    {
        List<string> words;
        try
        {
            words = Split(commandLine);
        }
        catch (FormatException e)
        {
            return e.Message + "\n";
        }

        if (words.Count == 0)
        {
            return string.Empty;
        }

        string name = words[0];
        IReadOnlyList<string> rest = words.Skip(1).ToArray();
        try
        {
            return name switch
            {
                "info" => Info(vm, rest),
                "savevm" => Run(name, rest, maxArguments: 1, minArguments: 0, () => vm.SaveSnapshot(rest.Count > 0 ? rest[0] : DefaultTag(), overwrite: true)),
                "loadvm" => Run(name, rest, maxArguments: 1, minArguments: 1, () => vm.LoadSnapshot(rest[0])),
                "delvm" => Run(name, rest, maxArguments: 1, minArguments: 1, () => vm.DeleteSnapshot(rest[0])),
                "stop" or "s" => Run(name, rest, 0, 0, vm.Stop),
                "cont" or "c" => Run(name, rest, 0, 0, vm.Continue),
                "system_reset" => Run(name, rest, 0, 0, vm.SystemReset),
                "system_powerdown" => Run(name, rest, 0, 0, vm.SystemPowerdown),
                "quit" or "q" => Run(name, rest, 0, 0, vm.Quit),
                "balloon" => Balloon(vm, rest),
                "help" or "?" => Help(),
                _ => $"unknown command: '{name}'\n",
            };
        }
        catch (Exception e) when (e is VmmException or QmpException)
        {
            return $"Error: {e.Message.TrimEnd('.')}\n";
        }
    }

    private static string Run(string name, IReadOnlyList<string> arguments, int maxArguments, int minArguments, Action action)
    {
        if (arguments.Count < minArguments)
        {
            return $"{name}: string expected\nTry \"help {name}\" for more information\n";
        }

        if (arguments.Count > maxArguments)
        {
            return $"{name}: extraneous characters at the end of line\nTry \"help {name}\" for more information\n";
        }

        action();
        return string.Empty;
    }

    /// <summary>QEMU names an untagged savevm after the local time.</summary>
    private static string DefaultTag() => "vm-" + DateTime.Now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    private static string Balloon(VirtualMachine vm, IReadOnlyList<string> arguments)
    {
        if (arguments.Count != 1 || !long.TryParse(arguments[0], NumberStyles.None, CultureInfo.InvariantCulture, out long megabytes))
        {
            return "balloon: integer expected\nTry \"help balloon\" for more information\n";
        }

        QmpBalloonCommands.RequireBalloon(vm);
        ulong bytes = (ulong)megabytes * MiB;
        if (bytes == 0)
        {
            throw QmpException.Generic("Parameter 'target' expects a size");
        }

        vm.SetBalloonTarget(Math.Min(bytes, vm.Configuration.MemorySize));
        return string.Empty;
    }

    private static string Info(VirtualMachine vm, IReadOnlyList<string> arguments)
    {
        if (arguments.Count == 0)
        {
            return string.Concat(s_infoCommands.Select(command => $"info {command.Name}  -- {command.Help}\n"));
        }

        return arguments[0] switch
        {
            "status" => StatusLine(vm.RunState),
            "snapshots" => Snapshots(vm),
            "balloon" => BalloonLine(vm),
            "name" => vm.Name is { } name ? name + "\n" : string.Empty,
            "uuid" => vm.Uuid + "\n",
            "version" => $"{QmpVersion.Version.ToString(3)} (Vessel {QmpVersion.Informational})\n",
            _ => $"unknown command: 'info {arguments[0]}'\n",
        };
    }

    /// <summary>QEMU's <c>info status</c>: running, or paused with the reason when it is not a plain stop.</summary>
    internal static string StatusLine(VmRunState state) => state switch
    {
        VmRunState.Running => "VM status: running\n",
        VmRunState.Paused => "VM status: paused\n",
        _ => $"VM status: paused ({state.ToQmpName()})\n",
    };

    private static string BalloonLine(VirtualMachine vm)
    {
        QmpBalloonCommands.RequireBalloon(vm);
        return $"balloon: actual={vm.BalloonActual / MiB}\n";
    }

    private static string Snapshots(VirtualMachine vm)
    {
        IReadOnlyList<VmSnapshotInfo> snapshots;
        try
        {
            snapshots = vm.ListSnapshots();
        }
        catch (VmmException e)
        {
            return e.Message.TrimEnd('.') + "\n";
        }

        if (snapshots.Count == 0)
        {
            return "There is no snapshot available.\n";
        }

        string[] writableDrives = vm.Configuration.Drives
            .Select((drive, index) => (drive, id: drive.Id ?? $"drive{index}"))
            .Where(entry => !entry.drive.ReadOnly)
            .Select(entry => entry.id)
            .ToArray();
        var text = new StringBuilder();
        VmSnapshotInfo[] onAll = snapshots.Where(snapshot => writableDrives.All(snapshot.Drives.Contains)).ToArray();
        text.Append("List of snapshots present on all disks:\n");
        if (onAll.Length == 0)
        {
            text.Append("None\n");
        }
        else
        {
            text.Append(SnapshotHeader());
            foreach (VmSnapshotInfo snapshot in onAll)
            {
                text.Append(SnapshotRow("--", snapshot));
            }
        }

        foreach (string drive in writableDrives)
        {
            VmSnapshotInfo[] partial = snapshots.Where(snapshot => snapshot.Drives.Contains(drive) && !onAll.Contains(snapshot)).ToArray();
            if (partial.Length > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"\nList of partial (non-loadable) snapshots on '{drive}':\n").Append(SnapshotHeader());
                foreach (VmSnapshotInfo snapshot in partial)
                {
                    text.Append(SnapshotRow(snapshot.Id, snapshot));
                }
            }
        }

        return text.ToString();
    }

    private static string SnapshotHeader() =>
        string.Create(CultureInfo.InvariantCulture, $"{"ID",-10}{"TAG",-17}{"VM SIZE",8}{"DATE",20}{"VM CLOCK",13}{"ICOUNT",11}\n");

    /// <summary>One row in QEMU's columns (<c>bdrv_snapshot_dump</c>); Vessel keeps no instruction count, so ICOUNT is empty as in QEMU without icount.</summary>
    internal static string SnapshotRow(string id, VmSnapshotInfo snapshot)
    {
        string date = snapshot.Date.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        TimeSpan clock = snapshot.VmClock;
        string vmClock = string.Create(CultureInfo.InvariantCulture, $"{(long)clock.TotalHours:00}:{clock.Minutes:00}:{clock.Seconds:00}.{clock.Milliseconds:000}");
        return string.Create(CultureInfo.InvariantCulture, $"{id,-9} {snapshot.Tag,-16} {SizeToString(snapshot.VmStateSize),8}{date,20}{vmClock,13}{string.Empty,11}\n");
    }

    /// <summary>QEMU's <c>size_to_str</c>: three significant digits and a binary unit, never 1000 or more of a unit.</summary>
    internal static string SizeToString(long bytes)
    {
        string[] suffixes = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if (bytes <= 0)
        {
            return "0 B";
        }

        int unit = Math.ILogB(bytes / (1000.0 / 1024.0)) / 10;
        double value = bytes / Math.Pow(1024, unit);
        return value.ToString("G3", CultureInfo.InvariantCulture) + " " + suffixes[unit];
    }

    private static string Help() =>
        string.Concat(s_commands.Select(command => $"{command.Name} {command.Arguments} -- {command.Help}\n"));

    /// <summary>Splits a command line into words; double quotes group words, as in HMP's string arguments.</summary>
    private static List<string> Split(string commandLine)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c != '"')
            {
                word.Append(c);
                continue;
            }

            int end = commandLine.IndexOf('"', i + 1);
            if (end < 0)
            {
                throw new FormatException("unterminated string literal");
            }

            word.Append(commandLine, i + 1, end - i - 1);
            i = end;
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
