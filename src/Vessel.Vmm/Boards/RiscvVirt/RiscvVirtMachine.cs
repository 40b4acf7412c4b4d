using Vessel.Cpu.Riscv;
using Vessel.Cpu.Riscv.Sbi;
using Vessel.Machine.Bus;
using Vessel.Machine.Devices;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Block;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Net;
using Vessel.Network;
using Vessel.Storage;
using Vessel.Vmm.Boot;
using Vessel.Vmm.Console;
using static Vessel.Vmm.Boards.RiscvVirt.RiscvVirtMemoryMap;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// One RISC-V <c>virt</c> machine: RAM, the platform devices on the MMIO bus, the harts, the
/// boot images and the device tree, wired as QEMU's <c>virt</c> board is. <see cref="Run"/>
/// executes the guest on the calling thread until it powers off, resets or fails.
/// </summary>
public sealed class RiscvVirtMachine : IDisposable, IPowerControl, IFirmwarePlatform, IConsoleInput
{
    private const ulong MiB = 1024 * 1024;
    private const ulong FdtAlignment = 2 * MiB;
    private const ulong FirmwareDynamicInfoMagic = 0x4942534f; // "OSBI"

    /// <summary>
    /// Room the built-in SBI leaves at the end of the device tree it hands to the S-mode stage,
    /// as OpenSBI does (its fix-ups grow the tree in place by about 1 KiB). A boot loader such
    /// as U-Boot edits the tree where it lies, assuming room after it: /chosen gains bootargs
    /// (the extlinux append line, at most 256 bytes in Debian's U-Boot), the initrd range and
    /// boot-hartid. U-Boot keeps its copy of the tree right below its global data, so without
    /// this room its edits overwrite that data and it faults after "Starting kernel ...".
    /// </summary>
    private const int BuiltinFirmwareTreeFreeSpace = 4096;

    private readonly VirtualMachineConfiguration _configuration;
    private readonly HostConsole _console;
    private readonly GuestMemory _memory;
    private readonly MmioBus _bus = new();
    private readonly VirtualClock _clock = new();
    private readonly RiscvProcessor _processor;
    private readonly Clint _clint;
    private readonly Plic _plic;
    private readonly Uart16550 _uart;
    private readonly GoldfishRtc _rtc;
    private readonly HartScheduler _scheduler;
    private readonly List<VirtioMmioTransport> _virtioTransports = [];
    private readonly List<int> _virtioSlots = [];
    private readonly List<DiskImage> _disks = [];
    private readonly List<INetworkBackend> _networkBackends = [];
    private readonly object _exitGate = new();
    private Vessel.Machine.Virtio.Console.VirtioConsoleDevice? _virtioConsole;
    private MachineExit? _exit;

    public RiscvVirtMachine(VirtualMachineConfiguration configuration, HostConsole console)
    {
        _configuration = configuration;
        _console = console;
        _memory = AllocateRam(configuration.MemorySize);
        try
        {
            _processor = new RiscvProcessor(_memory, _bus, _clock, configuration.Cpus) { Engine = configuration.Engine, ThreadPerHart = configuration.ThreadPerHart };
            IReadOnlyList<IHartInterruptPins> pins = _processor.Harts;
            _clint = new Clint(_clock, pins);
            _processor.ReadTime = _clint.ReadTime;
            _plic = new Plic(pins);
            _uart = new Uart16550(_plic.GetLine(UartIrq), console.Write);
            _uart.InputSpaceAvailable += console.NotifyInputSpace;
            _rtc = new GoldfishRtc(_plic.GetLine(RtcIrq));

            _bus.Map(TestBase, TestSize, new SifiveTest(this), "test");
            _bus.Map(RtcBase, RtcSize, _rtc, "rtc");
            _bus.Map(ClintBase, ClintSize, _clint, "clint");
            _bus.Map(PlicBase, PlicSize, _plic, "plic");
            _bus.Map(UartBase, UartSize, _uart, "uart0");
            AttachVirtioDevices();

            _scheduler = new HartScheduler(_processor, _clint.UpdateTimer, console.Flush);
            Boot();
        }
        catch
        {
            DisposeDevices();
            _memory.Dispose();
            throw;
        }
    }

    /// <summary>The balloon, when the machine has one.</summary>
    public VirtioBalloonDevice? Balloon { get; private set; }

    /// <summary>Guest RAM size in bytes.</summary>
    public ulong MemorySize => _memory.Size;

    /// <summary>The harts, for statistics and tests.</summary>
    public RiscvProcessor Processor => _processor;

    /// <summary>Instructions executed so far.</summary>
    public long InstructionsExecuted => _scheduler.InstructionsExecuted;

    /// <summary>The scheduler, for statistics.</summary>
    public HartScheduler Scheduler => _scheduler;

    /// <summary>Runs the guest until it powers off, resets or fails, or <see cref="Stop"/> is called.</summary>
    public MachineExit Run()
    {
        using var dump = Environment.GetEnvironmentVariable("VESSEL_DEBUG_DUMP") == "1"
            ? new Timer(_ => DumpState(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))
            : null;
        _console.Attach(this);
        foreach (INetworkBackend backend in _networkBackends)
        {
            backend.Start();
        }

        _scheduler.Run();
        _console.Flush();
        lock (_exitGate)
        {
            return _exit ?? MachineExit.Stopped;
        }
    }

    private void DumpState()
    {
        foreach (Hart hart in _processor.Harts)
        {
            System.Console.Error.WriteLine(hart.DescribeState());
        }

        System.Console.Error.WriteLine($"uart: {_uart.SaveState()} fifo={_uart.SaveState().ReceiveFifo.Length}");
        System.Console.Error.WriteLine($"plic: pending={string.Join(',', _plic.SaveState().Pending)} claimed={string.Join(',', _plic.SaveState().Claimed)}");
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            System.Console.Error.WriteLine($"virtio: {System.Text.Json.JsonSerializer.Serialize(transport.SaveState())}");
        }
    }

    /// <summary>Stops the machine from any thread (the user quit).</summary>
    public void Stop() => SetExit(MachineExit.Stopped);

    private static GuestMemory AllocateRam(ulong size)
    {
        try
        {
            return new GuestMemory(RamBase, size);
        }
        catch (OutOfMemoryException e)
        {
            throw new VmmException(e.Message);
        }
    }

    // ------------------------------------------------------------------ virtio

    /// <summary>
    /// Puts the configured virtio devices on the virtio-mmio slots. As on QEMU, the first device
    /// goes in the highest slot: the device tree lists slots from the top down, so Linux probes
    /// that one first and the first disk becomes vda.
    /// </summary>
    private void AttachVirtioDevices()
    {
        var devices = new List<IVirtioDevice>();
        try
        {
            foreach (DriveConfiguration drive in _configuration.Drives)
            {
                // Opening checks the file, its format, its backing chain and the lock before
                // the guest starts, each failure as one sentence.
                DiskImage image = ImageOpener.Open(drive.Path, new ImageOpenOptions { Format = drive.Format, ReadOnly = drive.ReadOnly });
                _disks.Add(image);
                devices.Add(new VirtioBlockDevice(image, new VirtioBlockOptions
                {
                    Serial = drive.Serial ?? string.Empty,
                    ReadOnly = drive.ReadOnly || image.IsReadOnly,
                }));
            }

            if (_configuration.EntropyDevice)
            {
                devices.Add(new VirtioRngDevice());
            }

            if (_configuration.BalloonDevice)
            {
                Balloon = new VirtioBalloonDevice();
                devices.Add(Balloon);
            }

            foreach (NetworkOptions network in _configuration.Networks)
            {
                // The backend binds its sockets (port forwards, TAP) now, so a busy port or a
                // missing TAP is reported before the guest starts.
                INetworkBackend backend = NetworkBackendFactory.Create(network);
                _networkBackends.Add(backend);
                MacAddress mac = network.Mac ?? MacAddress.Generate();
                byte[] macBytes = new byte[6];
                mac.Write(macBytes);
                devices.Add(new VirtioNetDevice(backend, new VirtioNetOptions(new System.Net.NetworkInformation.PhysicalAddress(macBytes))));
            }

            if (_configuration.Console == ConsoleDevice.Virtio)
            {
                _virtioConsole = new Vessel.Machine.Virtio.Console.VirtioConsoleDevice(_console.Write);
                devices.Add(_virtioConsole);
            }

            if (devices.Count > VirtioSlots)
            {
                throw new VmmException($"the virt board has {VirtioSlots} virtio slots, and this VM asks for {devices.Count} devices.");
            }

            int slot = VirtioSlots - 1;
            foreach (IVirtioDevice device in devices)
            {
                var transport = new VirtioMmioTransport(device, _memory, _plic.GetLine(VirtioFirstIrq + slot));
                _virtioTransports.Add(transport);
                _bus.Map(VirtioSlotBase(slot), VirtioMmioTransport.WindowSize, transport, $"virtio-mmio@{VirtioSlotBase(slot):x}");
                _virtioSlots.Add(slot);
                slot--;
            }
        }
        catch
        {
            foreach (IVirtioDevice device in devices)
            {
                if (!_virtioTransports.Exists(t => ReferenceEquals(t.Device, device)))
                {
                    (device as IDisposable)?.Dispose();
                }
            }

            throw;
        }
    }

    private void DisposeDevices()
    {
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Dispose();
        }

        _virtioTransports.Clear();
        foreach (DiskImage disk in _disks)
        {
            disk.Dispose();
        }

        _disks.Clear();
        foreach (INetworkBackend backend in _networkBackends)
        {
            backend.Dispose();
        }

        _networkBackends.Clear();
    }

    // ------------------------------------------------------------------ boot

    private void Boot()
    {
        VirtualMachineConfiguration config = _configuration;
        BootImage kernel = BootImage.LoadKernel(config.KernelPath);
        byte[]? initrd = config.InitrdPath is null ? null : BootImage.ReadFile(config.InitrdPath, $"initrd file '{config.InitrdPath}'");

        // Firmware first: it decides where the kernel may go (QEMU: the next 2 MiB boundary).
        ulong firmwareEntry = 0;
        ulong kernelAddress;
        switch (config.Firmware)
        {
            case FirmwareKind.File:
            {
                BootImage firmware = BootImage.LoadFirmware(config.FirmwarePath!);
                (firmwareEntry, ulong firmwareEnd) = firmware.LoadInto(_memory, RamBase);
                kernelAddress = AlignUp(firmwareEnd, 2 * MiB);
                break;
            }

            case FirmwareKind.None:
                kernelAddress = RamBase;
                break;

            default:
                // Nothing lives below the kernel: honour the Image header's text_offset.
                kernelAddress = RamBase + (kernel.Kind == BootImageKind.LinuxImage ? kernel.TextOffset : 0);
                break;
        }

        (ulong kernelEntry, ulong kernelEnd) = kernel.LoadInto(_memory, kernelAddress);

        // The device tree goes at the top of RAM, the initrd just below it, as high as possible
        // so that the kernel can use everything underneath.
        byte[] probeTree = BuildDeviceTree(null);
        ulong fdtAddress = AlignDown(Math.Min(_memory.End, RamBase + (3072 * MiB)) - (ulong)probeTree.Length - 4096, FdtAlignment);
        ulong dynamicInfoAddress = fdtAddress - 64;
        (ulong Start, ulong End)? initrdRange = null;
        ulong lowestHighItem = dynamicInfoAddress;
        if (initrd is not null)
        {
            ulong start = AlignDown(dynamicInfoAddress - (ulong)initrd.Length, 4096);
            initrdRange = (start, start + (ulong)initrd.Length);
            lowestHighItem = start;
        }

        if (fdtAddress < RamBase || lowestHighItem < kernelEnd || lowestHighItem > fdtAddress)
        {
            ulong needed = (kernelEnd - RamBase + (ulong)(initrd?.Length ?? 0) + (ulong)probeTree.Length) / MiB + 4;
            throw new VmmException(
                $"--memory {_memory.Size / MiB}M is too small for the kernel ({(kernelEnd - kernelAddress) / MiB + 1} MiB)"
                + (initrd is null ? string.Empty : $" and initrd ({(ulong)initrd.Length / MiB + 1} MiB)")
                + $"; give the VM at least {AlignUp(needed, 2) }M.");
        }

        if (initrd is not null)
        {
            _memory.WriteBytes(initrdRange!.Value.Start, initrd);
        }

        byte[] tree = BuildDeviceTree(initrdRange);
        _memory.WriteBytes(fdtAddress, tree);

        switch (config.Firmware)
        {
            case FirmwareKind.Builtin:
                _processor.UseBuiltinFirmware(this);
                for (int i = 0; i < _processor.Harts.Count; i++)
                {
                    Hart hart = _processor.Harts[i];
                    if (i == 0)
                    {
                        hart.StartInSupervisorMode(kernelEntry, (ulong)hart.HartId, fdtAddress);
                    }
                    else
                    {
                        hart.StopUntilStarted();
                    }
                }

                break;

            case FirmwareKind.File:
                WriteFirmwareDynamicInfo(dynamicInfoAddress, kernelAddress);
                StartAllHartsInMachineMode(firmwareEntry, fdtAddress, dynamicInfoAddress);
                break;

            case FirmwareKind.None:
                StartAllHartsInMachineMode(kernelEntry, fdtAddress, 0);
                break;
        }
    }

    private void StartAllHartsInMachineMode(ulong entry, ulong fdtAddress, ulong a2)
    {
        foreach (Hart hart in _processor.Harts)
        {
            hart.Reset(entry);
            hart.SetRegister(10, (ulong)hart.HartId);
            hart.SetRegister(11, fdtAddress);
            hart.SetRegister(12, a2);
        }
    }

    /// <summary>OpenSBI's fw_dynamic handoff: where the next stage is and in which mode to start it.</summary>
    private void WriteFirmwareDynamicInfo(ulong address, ulong nextAddress)
    {
        _memory.Write(address, FirmwareDynamicInfoMagic);
        _memory.Write(address + 8, 2UL);            // version
        _memory.Write(address + 16, nextAddress);   // next_addr
        _memory.Write(address + 24, 1UL);           // next_mode: S
        _memory.Write(address + 32, 0UL);           // options
        _memory.Write(address + 40, 0UL);           // boot_hart
    }

    private byte[] BuildDeviceTree((ulong Start, ulong End)? initrd)
    {
        var options = new RiscvVirtDeviceTreeOptions
        {
            RamBase = RamBase,
            RamSize = _memory.Size,
            Harts = RiscvVirtHart.Uniform(_configuration.Cpus),
            Bootargs = _configuration.CommandLine,
            VirtioSlots = _virtioSlots,
            InitrdStart = initrd?.Start,
            InitrdEnd = initrd?.End,
            FreeSpace = _configuration.Firmware == FirmwareKind.Builtin ? BuiltinFirmwareTreeFreeSpace : 0,
        };
        return RiscvVirtDeviceTree.Build(options);
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);

    private static ulong AlignDown(ulong value, ulong alignment) => value & ~(alignment - 1);

    // ------------------------------------------------------------------ power and firmware services

    void IPowerControl.PowerOff() => SetExit(MachineExit.PowerOff);

    void IPowerControl.Reset() => SetExit(MachineExit.Reset);

    void IPowerControl.Fail(int code) => SetExit(MachineExit.Failure(code));

    void IFirmwarePlatform.SetTimer(int hartIndex, ulong time) => _clint.SetTimeCompare(hartIndex, time);

    void IFirmwarePlatform.ConsoleWrite(byte value) => _console.Write(value);

    int IFirmwarePlatform.ConsoleRead() => -1;

    void IFirmwarePlatform.SystemReset(SystemResetKind kind) => SetExit(kind switch
    {
        SystemResetKind.Reboot => MachineExit.Reset,
        SystemResetKind.Failure => MachineExit.Failure(1),
        _ => MachineExit.PowerOff,
    });

    int IConsoleInput.Offer(ReadOnlySpan<byte> data) =>
        _virtioConsole is not null ? _virtioConsole.EnqueueInput(data) : _uart.EnqueueInput(data);

    private void SetExit(MachineExit exit)
    {
        lock (_exitGate)
        {
            _exit ??= exit;
        }

        _scheduler.RequestStop();
    }

    public void Dispose()
    {
        _uart.InputSpaceAvailable -= _console.NotifyInputSpace;
        _uart.Dispose();
        _rtc.Dispose();
        DisposeDevices();
        _processor.Dispose();
        _memory.Dispose();
    }
}

/// <summary>How a machine's run ended.</summary>
public readonly record struct MachineExit(MachineExitKind Kind, int Code)
{
    public static readonly MachineExit PowerOff = new(MachineExitKind.PowerOff, 0);
    public static readonly MachineExit Reset = new(MachineExitKind.Reset, 0);
    public static readonly MachineExit Stopped = new(MachineExitKind.Stopped, 0);

    public static MachineExit Failure(int code) => new(MachineExitKind.Failure, code);
}

public enum MachineExitKind
{
    PowerOff,
    Reset,
    Failure,
    Stopped,
}
