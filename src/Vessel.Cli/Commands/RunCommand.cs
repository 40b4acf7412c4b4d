using System.CommandLine;
using Vessel.Cpu.Riscv;
using Vessel.Vmm;
using Vessel.Vmm.Console;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel run</c>: boots one virtual machine in the foreground, with QEMU-like options.</summary>
internal static class RunCommand
{
    private const ulong MiB = 1024 * 1024;

    public static Command Create()
    {
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to boot: a Linux Image or an ELF file (default: Vessel's own guest)", HelpName = "PATH" };
        var initrd = new Option<string?>("--initrd") { Description = "Initial ramdisk handed to the kernel", HelpName = "PATH" };
        var append = new Option<string?>("--append") { Description = "Kernel command line", HelpName = "CMDLINE" };
        var memory = new Option<string>("--memory", "-m") { Description = "Guest RAM, e.g. 256M or 1G (a plain number is MiB)", HelpName = "SIZE", DefaultValueFactory = _ => "256M" };
        var cpus = new Option<int>("--cpus", "--smp") { Description = "Number of harts (1-8)", HelpName = "N", DefaultValueFactory = _ => 1 };
        var engine = new Option<string>("--cpu-engine") { Description = "How guest code runs: jit (hot code translated to native code) or interpreter", HelpName = "jit|interpreter", DefaultValueFactory = _ => "jit" };
        engine.AcceptOnlyFromAmong("interpreter", "jit");
        var cpuThreads = new Option<string>("--cpu-threads") { Description = "single: all harts take turns on one host thread; multi: each hart runs on a host thread of its own", HelpName = "single|multi", DefaultValueFactory = _ => "multi" };
        cpuThreads.AcceptOnlyFromAmong("single", "multi");
        var drives = new Option<string[]>("--drive") { Description = "A virtio disk: file=PATH[,format=raw|qcow2][,readonly=on][,serial=ID] (repeatable: vda, vdb, ...)", HelpName = "file=PATH,...", AllowMultipleArgumentsPerToken = false };
        var devices = new Option<string[]>("--device") { Description = "Add a device: virtio-rng or virtio-balloon (repeatable)", HelpName = "virtio-rng|virtio-balloon" };
        var consoleDevice = new Option<string>("--console") { Description = "The guest console's device: serial (ttyS0) or virtio-console (add console=hvcN to --append; hvc1 with the reference kernel, whose SBI console is hvc0)", HelpName = "serial|virtio", DefaultValueFactory = _ => "serial" };
        consoleDevice.AcceptOnlyFromAmong("serial", "virtio");
        var networks = new Option<string[]>("--net", "--nic") { Description = "A virtio network card: user[,hostfwd=tcp::HOSTPORT-:GUESTPORT][,net=10.0.2.0/24], tap,ifname=NAME, socket,listen=|connect=ADDR:PORT or switch,path=PATH (repeatable; mac=... sets the address)", HelpName = "KIND,..." };
        var control = new Option<string?>("--control") { Description = "Listen for control commands (balloon, status, quit) on this Unix socket", HelpName = "SOCKET" };
        var bios = new Option<string>("--bios") { Description = "Firmware: builtin (Vessel's SBI), none (start the kernel in M-mode) or a file such as OpenSBI's fw_jump.bin", HelpName = "builtin|none|PATH", DefaultValueFactory = _ => "builtin" };

        var command = new Command("run", "Boot a virtual machine with its console on this terminal (Ctrl-A x quits).")
        {
            kernel, initrd, append, memory, cpus, bios, engine, cpuThreads, drives, devices, consoleDevice, networks, control,
        };

        command.SetAction(parseResult =>
        {
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
                Drives = (parseResult.GetValue(drives) ?? []).Select(DriveOption.Parse).ToArray(),
                Console = parseResult.GetValue(consoleDevice) == "virtio" ? ConsoleDevice.Virtio : ConsoleDevice.Serial,
                ControlSocketPath = parseResult.GetValue(control),
                Networks = (parseResult.GetValue(networks) ?? []).Select(ParseNetwork).ToArray(),
            };
            foreach (string device in parseResult.GetValue(devices) ?? [])
            {
                configuration = device switch
                {
                    "virtio-rng" or "virtio-rng-device" => configuration with { EntropyDevice = true },
                    "virtio-balloon" or "virtio-balloon-device" => configuration with { BalloonDevice = true },
                    _ => throw new UserErrorException($"--device '{device}' is not a device Vessel has; use virtio-rng or virtio-balloon.", CommandLineHost.UsageExitCode),
                };
            }

            using HostConsole console = HostConsole.OpenStandardStreams();
            return VirtualMachine.Run(configuration, console);
        });
        return command;
    }

    private static VirtualMachineConfiguration BuildConfiguration(
        string? kernel, string? initrd, string? append, string memoryText, int cpus, string bios)
    {
        if (cpus is < 1 or > VirtualMachineConfiguration.MaxCpus)
        {
            throw new UserErrorException($"--cpus must be between 1 and {VirtualMachineConfiguration.MaxCpus}, not {cpus}.", CommandLineHost.UsageExitCode);
        }

        ulong memory = ParseMemorySize(memoryText);
        (FirmwareKind firmware, string? firmwarePath) = bios switch
        {
            "builtin" => (FirmwareKind.Builtin, null),
            "none" => (FirmwareKind.None, null),
            _ => (FirmwareKind.File, bios),
        };

        if (kernel is null)
        {
            // No kernel: boot Vessel's own guest, built from Debian's packages on first use.
            if (initrd is not null)
            {
                throw new UserErrorException("--initrd needs --kernel; without --kernel Vessel boots its own guest.", CommandLineHost.UsageExitCode);
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

    private static Vessel.Network.NetworkOptions ParseNetwork(string text)
    {
        try
        {
            return Vessel.Network.NetworkOptions.Parse(text);
        }
        catch (Vessel.Network.NetworkOptionsException e)
        {
            throw new UserErrorException(e.Message, CommandLineHost.UsageExitCode);
        }
    }

    /// <summary>Parses a QEMU-style size (<c>256M</c>, <c>1G</c>, <c>512</c> = MiB) and checks it against the host.</summary>
    internal static ulong ParseMemorySize(string text)
    {
        ulong? size = SizeParser.TryParse(text, defaultUnit: MiB);
        if (size is null)
        {
            throw new UserErrorException($"--memory '{text}' is not a size; write it like 256M or 2G.", CommandLineHost.UsageExitCode);
        }

        ulong bytes = size.Value;
        if (bytes < 16 * MiB)
        {
            throw new UserErrorException($"--memory {text} is too small; a VM needs at least 16M.", CommandLineHost.UsageExitCode);
        }

        if (bytes % (2 * MiB) != 0)
        {
            throw new UserErrorException($"--memory {text} is not a multiple of 2M.", CommandLineHost.UsageExitCode);
        }

        ulong host = HostMemory.TotalBytes();
        if (host != 0 && bytes > host)
        {
            throw new UserErrorException($"--memory {text} is more than this host has ({host / MiB} MiB).");
        }

        if (bytes > 0x10_0000_0000UL)
        {
            throw new UserErrorException($"--memory {text} is more than the virt board can address (64G).");
        }

        return bytes;
    }
}
