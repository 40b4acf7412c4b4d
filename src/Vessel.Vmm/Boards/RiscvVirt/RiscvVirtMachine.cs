using Vessel.Cpu.Riscv;
using Vessel.Cpu.Riscv.Sbi;
using Vessel.Machine.Bus;
using Vessel.Machine.Display;
using Vessel.Machine.Devices;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Block;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Gpu;
using Vessel.Machine.Virtio.Input;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Net;
using Vessel.Machine.Virtio.Scsi;
using Vessel.Network;
using Vessel.Storage;
using Vessel.Vmm.Boot;
using Vessel.Vmm.Console;
using static Vessel.Vmm.Boards.RiscvVirt.RiscvVirtMemoryMap;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// One RISC-V <c>virt</c> machine: RAM, the platform devices on the MMIO bus, the harts, the
/// boot images and the device tree, wired as QEMU's <c>virt</c> board is. The constructor only
/// builds the board; then <see cref="Boot"/> loads the images and starts the harts, or
/// <see cref="RestoreState"/> (with RAM restored) brings back a saved moment.
/// <see cref="Run"/> executes the guest on the calling thread until it powers off, resets or
/// fails; <see cref="Pause"/> and <see cref="Resume"/> may be called from any thread meanwhile.
/// </summary>
/// <remarks>
/// The class is split by concern: this file builds and runs the board,
/// <c>RiscvVirtMachine.Boot.cs</c> loads firmware, kernel, initrd and device tree, and
/// <c>RiscvVirtMachine.State.cs</c> pauses, resets in place, saves and restores.
/// </remarks>
public sealed partial class RiscvVirtMachine : IDisposable, IPowerControl, IFirmwarePlatform, IConsoleInput
{
    private readonly VirtualMachineConfiguration _configuration;
    private readonly HostConsole _console;
    private readonly GuestMemory _memory;
    private readonly MmioBus _bus = new();
    private readonly VirtualClock _clock;
    private readonly RiscvProcessor _processor;
    private readonly Clint _clint;
    private readonly Plic _plic;
    private readonly Uart16550 _uart;
    private readonly GoldfishRtc _rtc;
    private readonly HartScheduler _scheduler;
    private readonly List<VirtioMmioTransport> _virtioTransports = [];
    private readonly List<int> _virtioSlots = [];
    private readonly List<Vessel.Vmm.Storage.HandoverDisk> _disks = [];
    private readonly List<DriveStatistics> _driveStatistics = [];
    private readonly List<VirtioNetDevice> _networkCards = [];
    private readonly List<INetworkBackend> _networkBackends = [];
    private readonly object _exitGate = new();
    private Vessel.Machine.Virtio.Console.VirtioConsoleDevice? _virtioConsole;
    private MachineExit? _exit;
    private bool _started;

    public RiscvVirtMachine(VirtualMachineConfiguration configuration, HostConsole console)
    {
        _configuration = configuration;
        _console = console;
        _clock = new VirtualClock(countsInstructions: configuration.Clock == ClockMode.InstructionCount);
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
            // The deterministic mode's wall clock is the boot date plus guest time, so reading
            // the date gives the same answer at the same instruction every run.
            _rtc = new GoldfishRtc(_plic.GetLine(RtcIrq), _clock.CountsInstructions ? new GuestTimeProvider(_clock) : null);

            _bus.Map(TestBase, TestSize, new SifiveTest(this), "test");
            _bus.Map(RtcBase, RtcSize, _rtc, "rtc");
            _bus.Map(ClintBase, ClintSize, _clint, "clint");
            _bus.Map(PlicBase, PlicSize, _plic, "plic");
            _bus.Map(UartBase, UartSize, _uart, "uart0");
            AttachVirtioDevices();

            _scheduler = new HartScheduler(_processor, _clint.UpdateTimer, console.Flush);
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

    /// <summary>The screen, when the machine has a display (virtio-gpu).</summary>
    public DisplayConsole? Display { get; private set; }

    /// <summary>The display device, when the machine has one.</summary>
    public VirtioGpuDevice? Gpu { get; private set; }

    /// <summary>The keyboard (virtio-keyboard), present with a display.</summary>
    public VirtioKeyboardDevice? Keyboard { get; private set; }

    /// <summary>The absolute pointer (virtio-tablet), present with a display.</summary>
    public VirtioTabletDevice? Tablet { get; private set; }

    /// <summary>The SCSI controller (virtio-scsi), when the machine has SCSI disks or a CD/DVD drive.</summary>
    public VirtioScsiDevice? Scsi { get; private set; }

    /// <summary>The guest's disks as QMP names them (virtio-blk drives, SCSI disks, the CD/DVD drive), with what each did.</summary>
    public IReadOnlyList<DriveStatistics> DriveStatistics => _driveStatistics;

    /// <summary>The guest's network cards, in the order of the --net options, with their counters.</summary>
    public IReadOnlyList<VirtioNetDevice> NetworkCards => _networkCards;

    /// <summary>The CD/DVD drive (scsi-cd), when the machine has one.</summary>
    public ScsiCdrom? Cdrom { get; private set; }

    /// <summary>Guest RAM size in bytes.</summary>
    public ulong MemorySize => _memory.Size;

    /// <summary>The harts, for statistics and tests.</summary>
    public RiscvProcessor Processor => _processor;

    /// <summary>Instructions executed so far.</summary>
    public long InstructionsExecuted => _scheduler.InstructionsExecuted;

    /// <summary>The scheduler, for statistics.</summary>
    public HartScheduler Scheduler => _scheduler;

    /// <summary>The machine's configuration.</summary>
    public VirtualMachineConfiguration Configuration => _configuration;

    /// <summary>Guest RAM.</summary>
    public GuestMemory Memory => _memory;

    /// <summary>The VM's disks with their ids (<c>id=</c>, or <c>drive0</c>, <c>drive1</c>, ... by position), for snapshots.</summary>
    public IReadOnlyList<Vessel.Storage.Snapshots.VmDisk> Disks =>
        _disks.Select((disk, i) => new Vessel.Storage.Snapshots.VmDisk(_configuration.Drives[i].Id ?? $"drive{i}", disk.Image)).ToArray();

    /// <summary>The VM's disks, for handing them over to another process in a migration.</summary>
    public IReadOnlyList<Vessel.Vmm.Storage.HandoverDisk> HandoverDisks => _disks;

    /// <summary>The machine's time base (paused while the machine is).</summary>
    public VirtualClock Clock => _clock;

    /// <summary>
    /// Runs the guest until it powers off, resets or fails, or <see cref="Stop"/> is called. After
    /// a <see cref="MachineExitKind.Reset"/>, <see cref="ResetInPlace"/> and another call run it
    /// again; devices, disks and network backends stay as they are.
    /// </summary>
    public MachineExit Run()
    {
        using var dump = Environment.GetEnvironmentVariable("VESSEL_DEBUG_DUMP") == "1"
            ? new Timer(_ => DumpState(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))
            : null;
        if (!_started)
        {
            _started = true;
            _console.Attach(this);
            foreach (INetworkBackend backend in _networkBackends)
            {
                backend.Start();
            }
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

    /// <summary>Ends <see cref="Run"/> from any thread (the user quit).</summary>
    public void RequestQuit() => SetExit(MachineExit.Stopped);

    /// <summary>Ends <see cref="Run"/> with <see cref="MachineExitKind.Reset"/> from any thread, as a guest reboot does.</summary>
    public void RequestReset() => SetExit(MachineExit.Reset);

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
                // A VM that waits for an incoming state opens its disks inactive: the source
                // still writes them, and hands them over when its state is out.
                var disk = new Vessel.Vmm.Storage.HandoverDisk(drive, active: _configuration.Incoming is null);
                _disks.Add(disk);
                var block = new VirtioBlockDevice(disk, new VirtioBlockOptions
                {
                    Serial = drive.Serial ?? string.Empty,
                    ReadOnly = disk.IsReadOnly,
                });
                devices.Add(block);
                _driveStatistics.Add(new DriveStatistics(drive.Id ?? $"drive{_driveStatistics.Count}", block.Statistics));
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
                if (_clock.CountsInstructions)
                {
                    backend.UseSynchronousReplies();
                }

                MacAddress mac = network.Mac ?? MacAddress.Generate();
                byte[] macBytes = new byte[6];
                mac.Write(macBytes);
                var card = new VirtioNetDevice(backend, new VirtioNetOptions(new System.Net.NetworkInformation.PhysicalAddress(macBytes)));
                devices.Add(card);
                _networkCards.Add(card);
            }

            if (_configuration.Console == ConsoleDevice.Virtio)
            {
                _virtioConsole = new Vessel.Machine.Virtio.Console.VirtioConsoleDevice(_console.Write);
                devices.Add(_virtioConsole);
            }

            AddScsiController(devices);
            if (_configuration.Display is { } display)
            {
                // As QEMU's virtio-gpu-device, virtio-keyboard-device and virtio-tablet-device:
                // a screen is of little use without something to type and point with.
                Display = new DisplayConsole();
                Gpu = new VirtioGpuDevice(Display, new VirtioGpuOptions { Width = display.Width, Height = display.Height });
                devices.Add(Gpu);
                Keyboard = new VirtioKeyboardDevice();
                devices.Add(Keyboard);
                Tablet = new VirtioTabletDevice();
                devices.Add(Tablet);
            }

            if (_clock.CountsInstructions)
            {
                foreach (IVirtioDevice device in devices)
                {
                    if (device is VirtioDevice served)
                    {
                        served.ProcessQueuesInline = true;
                    }
                }
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

    /// <summary>The virtio-scsi controller: SCSI disks at targets 0, 1, ..., then the CD/DVD drive (QEMU's scsi-hd and scsi-cd).</summary>
    private void AddScsiController(List<IVirtioDevice> devices)
    {
        if (_configuration.ScsiDrives.Count == 0 && _configuration.Cdrom is null)
        {
            return;
        }

        var units = new Dictionary<int, ScsiLogicalUnit>();
        try
        {
            int target = 0;
            foreach (DriveConfiguration drive in _configuration.ScsiDrives)
            {
                var disk = new Vessel.Vmm.Storage.HandoverDisk(drive, active: _configuration.Incoming is null);
                units[target] = new ScsiDisk(disk, drive.Id ?? $"scsi{target}", drive.ReadOnly);
                _driveStatistics.Add(new DriveStatistics(drive.Id ?? $"scsi{target}", units[target].Statistics));
                target++;
            }

            if (_configuration.Cdrom is { } cdrom)
            {
                Cdrom = new ScsiCdrom(cdrom.Path is null ? null : OpenDisc(cdrom.Path), cdrom.Id);
                units[target] = Cdrom;
                _driveStatistics.Add(new DriveStatistics(cdrom.Id, Cdrom.Statistics));
            }

            Scsi = new VirtioScsiDevice(units);
        }
        catch
        {
            foreach (ScsiLogicalUnit unit in units.Values)
            {
                unit.Dispose();
            }

            throw;
        }

        devices.Add(Scsi);
    }

    /// <summary>Opens an ISO image (or any image) read-only as a disc for the CD/DVD drive.</summary>
    public static IBlockDevice OpenDisc(string path) =>
        new Vessel.Vmm.Storage.HandoverDisk(new DriveConfiguration { Path = path, ReadOnly = true }, active: true);

    private void DisposeDevices()
    {
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Dispose();
        }

        _virtioTransports.Clear();
        foreach (Vessel.Vmm.Storage.HandoverDisk disk in _disks)
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

    int IConsoleInput.Offer(ReadOnlySpan<byte> data)
    {
        if (_paused)
        {
            return 0; // held by the console until Resume, so a saved state never misses a keystroke
        }

        return _virtioConsole is not null ? _virtioConsole.EnqueueInput(data) : _uart.EnqueueInput(data);
    }

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
