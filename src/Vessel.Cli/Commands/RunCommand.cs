using System.CommandLine;
using System.Runtime.InteropServices;
using Vessel.Cpu.Riscv;
using Vessel.Network;
using Vessel.Vmm;
using Vessel.Vmm.Boot;
using Vessel.Vmm.Console;
using Vessel.Vmm.Hosting;
using Vessel.Vmm.Qmp;
using Vessel.Vmm.Runtime;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel run</c>: boots one virtual machine, with QEMU-like options: in the foreground with
/// its console on this terminal, or headless (<c>--serial</c>, <c>--qmp</c>, <c>--daemonize</c>)
/// as the platform's agent starts it.
/// </summary>
internal static partial class RunCommand
{
    private const ulong MiB = 1024 * 1024;

    /// <summary>The <c>--bios</c> value that boots a distribution disk through Debian's U-Boot.</summary>
    private const string UBootFirmwareName = "uboot";

    public static Command Create() => Create(standbyHost: null);

    /// <summary>The <c>run</c> command; with <paramref name="standbyHost"/>, the one that reads an <c>x-vessel-launch</c>'s options in a standby process.</summary>
    private static Command Create(StandbyHost? standbyHost)
    {
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to boot: a Linux Image or an ELF file (default: Vessel's own guest)", HelpName = "PATH" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk handed to the kernel", HelpName = "PATH" };
        var append = new Option<string?>("--append") { Description = "Kernel command line", HelpName = "CMDLINE" };
        var memory = new Option<string>("--memory", "-m") { Description = "Guest RAM, e.g. 256M or 1G (a plain number is MiB)", HelpName = "SIZE", DefaultValueFactory = _ => "256M" };
        var cpus = new Option<int>("--cpus", "--smp") { Description = "Number of harts (1-8)", HelpName = "N", DefaultValueFactory = _ => 1 };
        var engine = new Option<string>("--cpu-engine") { Description = "How guest code runs: jit (hot code translated to native code) or interpreter", HelpName = "jit|interpreter", DefaultValueFactory = _ => "jit" }.OneOf("jit", "interpreter");
        var cpuThreads = new Option<string>("--cpu-threads") { Description = "single: all harts take turns on one host thread; multi: each hart runs on a host thread of its own", HelpName = "single|multi", DefaultValueFactory = _ => "multi" }.OneOf("single", "multi");
        var drives = new Option<string[]>("--drive") { Description = "A virtio disk: file=PATH[,format=raw|qcow2][,readonly=on[,force-share=on]][,serial=ID] (repeatable: vda, vdb, ...)", HelpName = "file=PATH,...", AllowMultipleArgumentsPerToken = false };
        var devices = new Option<string[]>("--device") { Description = "Add a device: virtio-rng or virtio-balloon (repeatable)", HelpName = "virtio-rng|virtio-balloon" };
        var consoleDevice = new Option<string>("--console") { Description = "The guest console's device: serial (ttyS0) or virtio-console (add console=hvcN to --append; hvc1 with the reference kernel, whose SBI console is hvc0)", HelpName = "serial|virtio", DefaultValueFactory = _ => "serial" }.OneOf("serial", "virtio");
        var networks = new Option<string[]>("--net", "--nic")
        {
            Description = "A virtio network card (repeatable; mac=... sets its address). Without --net the VM gets one on the user-mode NAT, as with --net user; --net none gives it none. " +
                "user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT][,net=10.0.2.0/24]: the NAT; a forward listens on 127.0.0.1 unless HOSTADDR says otherwise (0.0.0.0: every address). " +
                "tap,ifname=NAME; socket,listen=|connect=ADDR:PORT; switch,path=PATH",
            HelpName = "KIND,...",
        };
        var qmp = new Option<string?>("--qmp") { Description = "Speak QEMU's Machine Protocol on a Unix socket (wait=on, the default, starts the VM once a client has connected)", HelpName = "unix:PATH[,server=on][,wait=off]" };
        var serial = new Option<string>("--serial") { Description = "Where the guest console goes: stdio (this terminal), unix:PATH (attach and detach with socat; the last 1 MiB of output is replayed), pty, file:PATH or null", HelpName = "stdio|unix:PATH|pty|file:PATH|null", DefaultValueFactory = _ => "stdio" };
        var daemonize = new Option<bool>("--daemonize") { Description = "Run in the background once the VM is up (needs --serial other than stdio)" };
        var pidfile = new Option<string?>("--pidfile") { Description = "Write the VMM's process id to this file, removed at exit", HelpName = "PATH" };
        var control = new Option<string?>("--control") { Hidden = true, HelpName = "SOCKET" };
        var incoming = new Option<string?>("--incoming") { Description = "Start from a saved state instead of booting: file:PATH, unix:PATH, tcp:HOST:PORT, exec:COMMAND, or defer (wait for QMP migrate-incoming); give the options the VM was started with", HelpName = "ADDRESS" };
        var paused = new Option<bool>("-S", "--paused") { Description = "Start with the guest stopped; QMP cont starts it" };
        var clock = new Option<string>("--clock") { Description = "Guest time: host (follows the host's clock) or icount (derived from instructions executed, on one thread: a run is a function of its inputs)", HelpName = "host|icount", DefaultValueFactory = _ => "host" }.OneOf("host", "icount");
        var name = new Option<string?>("--name") { Description = "The VM's name, reported by QMP", HelpName = "NAME" };
        var display = new Option<string?>("--display") { Description = "A screen (virtio-gpu) with a keyboard and a tablet (virtio-input), shown by a VNC server: vnc=unix:PATH or vnc=HOST:N (TCP port 5900+N, as QEMU numbers displays; HOST defaults to 127.0.0.1), [,password=on][,password-file=PATH][,keymap=en-us|de]; none: no screen", HelpName = "vnc=ADDRESS[,...]|none" };
        var cdrom = new Option<string?>("--cdrom") { Description = "A CD/DVD drive on a virtio-scsi controller (QEMU's scsi-cd) with this ISO image in it; QMP eject and blockdev-change-medium change discs", HelpName = "PATH" };
        var uuid = new Option<string?>("--uuid") { Description = "The VM's UUID, reported by QMP query-uuid (made up when not given)", HelpName = "UUID" };
        var standby = new Option<bool>("--standby") { Description = "Start ahead of need, with no machine: wait on the --qmp socket for x-vessel-launch with the machine's options (vessel serve keeps a pool of these, so a VM starts in milliseconds)" };
        var bios = new Option<string>("--bios") { Description = "Firmware: builtin (Vessel's SBI), uboot (Debian's U-Boot on Vessel's SBI: boots the kernel a --drive's /boot/extlinux/extlinux.conf names, as distribution images ship), none (start the kernel in M-mode) or a file such as OpenSBI's fw_jump.bin", HelpName = "builtin|uboot|none|PATH", DefaultValueFactory = _ => "builtin" };

        var command = new Command("run", "Boot a virtual machine with its console on this terminal (Ctrl-A x quits), or headless with --serial, --qmp and --daemonize.")
        {
            kernel, initrd, append, memory, cpus, bios, engine, cpuThreads, drives, devices, consoleDevice, networks, qmp, serial, daemonize, pidfile, control, incoming, paused, name, uuid, clock, display, cdrom, standby,
        };

        command.SetAction(parseResult =>
        {
            // Every option is checked before BuildConfiguration, which may spend minutes
            // building the default guest: a mistake is reported at once.
            if (parseResult.GetValue(control) is not null)
            {
                throw UserErrorException.Usage("--control was replaced by --qmp unix:PATH,server=on,wait=off, which speaks QEMU's QMP");
            }

            if (parseResult.GetValue(standby))
            {
                return StartStandby(parseResult, command, standbyHost);
            }

            var host = new HostingOptions(
                ParseOption(parseResult.GetValue(qmp), QmpAddress.Parse),
                ParseOption(parseResult.GetValue(serial)!, ConsoleBackend.Parse)!,
                parseResult.GetValue(serial) == "stdio",
                parseResult.GetValue(daemonize),
                parseResult.GetValue(pidfile));
            if (standbyHost is not null)
            {
                StandbyHost.CheckHosting(host);
            }

            if (host.Daemonize && host.SerialIsStdio)
            {
                throw UserErrorException.Usage("--daemonize needs --serial unix:PATH, pty, file:PATH or null: a daemon has no terminal for the console");
            }

            DriveConfiguration[] driveList = (parseResult.GetValue(drives) ?? []).Select(DriveOption.Parse).ToArray();
            NetworkOptions[] networkList = ParseNetworks(parseResult.GetValue(networks) ?? []);
            string[] deviceList = parseResult.GetValue(devices) ?? [];
            foreach (string device in deviceList)
            {
                if (device is not ("virtio-rng" or "virtio-rng-device" or "virtio-balloon" or "virtio-balloon-device"))
                {
                    throw UserErrorException.Usage($"--device takes virtio-rng or virtio-balloon, not '{device}'");
                }
            }

            Guid? uuidValue = null;
            if (parseResult.GetValue(uuid) is string uuidText)
            {
                uuidValue = Guid.TryParse(uuidText, out Guid parsed)
                    ? parsed
                    : throw UserErrorException.Usage($"--uuid '{uuidText}' is not a UUID; write it like 6ba7b810-9dad-11d1-80b4-00c04fd430c8");
            }

            MigrationAddress? incomingAddress = null;
            if (parseResult.GetValue(incoming) is string incomingText)
            {
                try
                {
                    incomingAddress = MigrationAddress.Parse(incomingText, allowDefer: true);
                }
                catch (FormatException e)
                {
                    throw UserErrorException.Usage($"--incoming {e.Message}");
                }
            }

            VirtualMachineConfiguration configuration = BuildConfiguration(
                parseResult.GetValue(kernel),
                parseResult.GetValue(initrd),
                parseResult.GetValue(append),
                parseResult.GetValue(memory)!,
                parseResult.GetValue(cpus),
                parseResult.GetValue(bios)!) with
            {
                Engine = parseResult.GetValue(engine) == "jit" ? ExecutionEngine.Jit : ExecutionEngine.Interpreter,
                ThreadPerHart = parseResult.GetValue(cpuThreads) == "multi",
                Drives = driveList.Where(d => !d.Scsi).ToArray(),
                ScsiDrives = driveList.Where(d => d.Scsi).ToArray(),
                Cdrom = parseResult.GetValue(cdrom) is string cdromPath ? new CdromConfiguration { Path = cdromPath } : null,
                Display = ParseDisplay(parseResult.GetValue(display)),
                Console = parseResult.GetValue(consoleDevice) == "virtio" ? ConsoleDevice.Virtio : ConsoleDevice.Serial,
                Networks = networkList,
                EntropyDevice = deviceList.Any(d => d.StartsWith("virtio-rng", StringComparison.Ordinal)),
                BalloonDevice = deviceList.Any(d => d.StartsWith("virtio-balloon", StringComparison.Ordinal)),
                Incoming = parseResult.GetValue(incoming),
                StartPaused = parseResult.GetValue(paused),
                Name = parseResult.GetValue(name),
                Uuid = uuidValue,
                Clock = parseResult.GetValue(clock) == "icount" ? ClockMode.InstructionCount : ClockMode.Host,
            };

            if (standbyHost is not null)
            {
                return standbyHost.Run(configuration, incomingAddress, host);
            }

            if (host.Daemonize && !Daemon.IsChild)
            {
                // Everything above was checked here, in the foreground; the child starts over.
                return Daemon.StartAndWait(Environment.GetCommandLineArgs()[1..]);
            }

            if (Daemon.IsChild)
            {
                Daemon.Detach();
            }

            // Disposed in reverse: the VM and its console (in Run), then QMP (after the last
            // events went out), and the pidfile last, so that the file disappears only when the
            // VMM is done.
            using PidFile? pidFile = host.PidFilePath is null ? null : PidFile.Create(host.PidFilePath);
            using QmpServer? qmpServer = host.Qmp is null ? null : QmpServer.Listen(host.Qmp);
            return Run(configuration, incomingAddress, host, qmpServer, SignalReadyIfDaemon);
        });
        return command;
    }

    /// <summary>
    /// Builds the VM on <paramref name="qmpServer"/>, starts or restores it, calls
    /// <paramref name="ready"/> once it is up, runs it to the end and returns the exit code.
    /// </summary>
    private static int Run(VirtualMachineConfiguration configuration, MigrationAddress? incomingAddress, HostingOptions host, QmpServer? qmpServer, Action ready)
    {
        using var console = new HostConsole(host.Serial());
        using var vm = new VirtualMachine(configuration, console);

        // SIGTERM (and Ctrl-C when the console is not on this terminal in raw mode, where it is
        // a key for the guest) ends a running VM as QEMU does: SHUTDOWN, then a clean exit.
        // Before the VM runs (waiting for a QMP client, restoring a state) it ends the process.
        bool running = false;
        void OnSignal(PosixSignalContext context)
        {
            if (Volatile.Read(ref running))
            {
                context.Cancel = true;
                vm.Terminate();
            }
        }

        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using PosixSignalRegistration? interrupt = host.SerialIsStdio ? null : PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        bool waitForClient = host.Qmp?.Wait ?? false;
        if (waitForClient)
        {
            // The VM is built; it boots once a QMP client has connected (QEMU's wait=on).
            qmpServer!.Start(vm);
            ready();
            qmpServer!.WaitForClientIfAsked();
        }

        if (incomingAddress is null)
        {
            vm.Boot();
        }
        else
        {
            vm.PrepareIncoming(warmUp: incomingAddress.Transport != MigrationTransport.File);
            if (incomingAddress.Transport != MigrationTransport.Defer)
            {
                vm.StartIncoming(incomingAddress);
            }
        }

        if (!waitForClient)
        {
            // Clients are served from the moment the VM runs (or waits for its state), so the
            // first query-status already says "running", as QEMU's does.
            qmpServer?.Start(vm);
            ready();
        }

        Volatile.Write(ref running, true);
        return vm.Run();
    }


    private static void SignalReadyIfDaemon()
    {
        if (Daemon.IsChild)
        {
            Daemon.SignalReady();
        }
    }

    private static T? ParseOption<T>(string? text, Func<string, T> parse)
        where T : class
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return parse(text);
        }
        catch (FormatException e)
        {
            throw UserErrorException.Usage(e.Message.TrimEnd('.'));
        }
    }

    /// <summary>How the VMM process presents the VM to the host: QMP, the console's backend, daemon and pidfile.</summary>
    private sealed record HostingOptions(QmpAddress? Qmp, Func<ConsoleBackend> Serial, bool SerialIsStdio, bool Daemonize, string? PidFilePath);

    private static VirtualMachineConfiguration BuildConfiguration(
        string? kernel, string? initrd, string? append, string memoryText, int cpus, string bios)
    {
        if (cpus is < 1 or > VirtualMachineConfiguration.MaxCpus)
        {
            throw UserErrorException.Usage($"--cpus must be between 1 and {VirtualMachineConfiguration.MaxCpus}, not {cpus}");
        }

        ulong memory = ParseMemorySize(memoryText);
        (FirmwareKind firmware, string? firmwarePath) = bios switch
        {
            "builtin" or UBootFirmwareName => (FirmwareKind.Builtin, null),
            "none" => (FirmwareKind.None, null),
            _ => (FirmwareKind.File, bios),
        };

        if (bios == UBootFirmwareName)
        {
            // U-Boot is the S-mode stage on the built-in SBI (as on OpenSBI under QEMU) and takes
            // the kernel, initrd and command line from the disk, so options naming them would be
            // silently ignored.
            if (kernel is not null || initrd is not null || append is not null)
            {
                throw UserErrorException.Usage("--bios uboot boots the kernel that the disk's extlinux.conf names, so it takes no --kernel, --initrd or --append.");
            }

            kernel = DistributionUBoot.Locate();
        }

        if (kernel is null)
        {
            // No kernel: boot Vessel's own guest, built from Debian's packages on first use.
            if (initrd is not null)
            {
                throw UserErrorException.Usage("--initrd needs --kernel; without --kernel Vessel boots its own guest");
            }

            DefaultGuestFiles guest = DefaultGuest.Ensure(Console.Error, progressIsTerminal: !Console.IsErrorRedirected);
            kernel = guest.Kernel;
            initrd = guest.Initrd;
            append ??= guest.CommandLine;
        }

        return new VirtualMachineConfiguration
        {
            KernelPath = kernel,
            InitrdPath = initrd,
            CommandLine = append,
            MemorySize = memory,
            Cpus = cpus,
            Firmware = firmware,
            FirmwarePath = firmwarePath,
        };
    }

    /// <summary>Parses <c>--display vnc=ADDRESS[,password=on][,password-file=PATH]</c> or <c>none</c>.</summary>
    internal static DisplayConfiguration? ParseDisplay(string? text)
    {
        if (text is null or "none")
        {
            return null;
        }

        Vessel.Vmm.Vnc.VncAddress? address = null;
        string? passwordFile = null;
        bool passwordRequired = false;
        var keymap = Vessel.Vmm.Vnc.VncKeymap.EnglishUs;
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=');
            string key = equals < 0 ? part : part[..equals];
            string value = equals < 0 ? string.Empty : part[(equals + 1)..];
            switch (key)
            {
                case "vnc":
                    try
                    {
                        address = Vessel.Vmm.Vnc.VncAddress.Parse(value);
                    }
                    catch (FormatException e)
                    {
                        throw UserErrorException.Usage($"--display {e.Message}");
                    }

                    break;
                case "password":
                    passwordRequired = value is "on" or "true" or "yes" ? true
                        : value is "off" or "false" or "no" ? false
                        : throw UserErrorException.Usage($"--display password={value}: say on or off");
                    break;
                case "keymap":
                    keymap = value switch
                    {
                        "en-us" => Vessel.Vmm.Vnc.VncKeymap.EnglishUs,
                        "de" => Vessel.Vmm.Vnc.VncKeymap.German,
                        _ => throw UserErrorException.Usage($"--display keymap={value}: the keymaps are en-us and de"),
                    };
                    break;
                case "password-file":
                    if (!File.Exists(value))
                    {
                        throw UserErrorException.Failure($"--display password-file {value} does not exist");
                    }

                    passwordFile = value;
                    passwordRequired = true;
                    break;
                default:
                    throw UserErrorException.Usage($"--display takes vnc=unix:PATH or vnc=HOST:N with password=on, password-file=PATH and keymap=en-us|de, or none; not '{part}'");
            }
        }

        if (address is null)
        {
            throw UserErrorException.Usage("--display needs vnc=unix:PATH or vnc=HOST:N");
        }

        return new DisplayConfiguration { Vnc = address, PasswordFile = passwordFile, PasswordRequired = passwordRequired, Keymap = keymap };
    }

    /// <summary>
    /// The network cards: as QEMU, a VM given no --net gets one card on the user-mode NAT (with
    /// no port forwards, so any number of VMs can run at once), and <c>--net none</c> gets none.
    /// </summary>
    internal static NetworkOptions[] ParseNetworks(string[] texts)
    {
        if (texts.Length == 0)
        {
            return [new UserNetworkOptions()];
        }

        if (texts.Contains("none"))
        {
            return texts.Length == 1
                ? []
                : throw UserErrorException.Usage("--net none means no network card, so it cannot go with another --net");
        }

        try
        {
            return texts.Select(NetworkOptions.Parse).ToArray();
        }
        catch (NetworkOptionsException e)
        {
            throw UserErrorException.Usage(e.Message);
        }
    }

    /// <summary>Parses a QEMU-style size (<c>256M</c>, <c>1G</c>, <c>512</c> = MiB) and checks it against the host.</summary>
    internal static ulong ParseMemorySize(string text)
    {
        ulong? size = SizeParser.TryParse(text, defaultUnit: MiB);
        if (size is null)
        {
            throw UserErrorException.Usage($"--memory '{text}' is not a size; write it like 256M or 2G");
        }

        ulong bytes = size.Value;
        if (bytes < 16 * MiB)
        {
            throw UserErrorException.Usage($"--memory {text} is too small; a VM needs at least 16M");
        }

        if (bytes % (2 * MiB) != 0)
        {
            throw UserErrorException.Usage($"--memory {text} is not a multiple of 2M");
        }

        // Both limits are usage mistakes like a size below 16M: no run of this command line
        // on this host can succeed.
        ulong host = HostMemory.TotalBytes();
        if (host != 0 && bytes > host)
        {
            throw UserErrorException.Usage($"--memory {text} is more than this host has ({host / MiB} MiB)");
        }

        if (bytes > 0x10_0000_0000UL)
        {
            throw UserErrorException.Usage($"--memory {text} is more than the virt board can address (64G)");
        }

        return bytes;
    }
}
