namespace Vessel.Vmm;

/// <summary>Everything needed to build and boot one virtual machine.</summary>
public sealed record VirtualMachineConfiguration
{
    public const ulong MiB = 1024 * 1024;
    public const int MaxCpus = 8;

    /// <summary>The kernel: a Linux <c>Image</c> (optionally gzip-compressed) or an ELF file.</summary>
    public required string KernelPath { get; init; }

    public string? InitrdPath { get; init; }

    /// <summary>The kernel command line (<c>/chosen/bootargs</c>).</summary>
    public string? CommandLine { get; init; }

    /// <summary>Guest RAM in bytes.</summary>
    public ulong MemorySize { get; init; } = 256 * MiB;

    public int Cpus { get; init; } = 1;

    /// <summary>Which firmware runs in M-mode.</summary>
    public FirmwareKind Firmware { get; init; } = FirmwareKind.Builtin;

    /// <summary>How the harts execute guest code.</summary>
    public Vessel.Cpu.Riscv.ExecutionEngine Engine { get; init; } = Vessel.Cpu.Riscv.ExecutionEngine.Jit;

    /// <summary>Whether each hart runs on a host thread of its own (QEMU's <c>-accel tcg,thread=multi</c>).</summary>
    public bool ThreadPerHart { get; init; }

    /// <summary>The firmware file when <see cref="Firmware"/> is <see cref="FirmwareKind.File"/>.</summary>
    public string? FirmwarePath { get; init; }

    /// <summary>Virtual disks, in the order the guest sees them (vda, vdb, ...).</summary>
    public IReadOnlyList<DriveConfiguration> Drives { get; init; } = [];

    /// <summary>Disks on the virtio-scsi controller (QEMU's <c>scsi-hd</c>), SCSI targets 0, 1, ... in order (sda, sdb, ...).</summary>
    public IReadOnlyList<DriveConfiguration> ScsiDrives { get; init; } = [];

    /// <summary>A CD/DVD drive (QEMU's <c>scsi-cd</c>) on the virtio-scsi controller, after the SCSI disks; null: none.</summary>
    public CdromConfiguration? Cdrom { get; init; }

    /// <summary>A screen (virtio-gpu) with a keyboard and a tablet (virtio-input), and where viewers see it; null: none.</summary>
    public DisplayConfiguration? Display { get; init; }

    /// <summary>A virtio-rng device fed from the host's CSPRNG.</summary>
    public bool EntropyDevice { get; init; }

    /// <summary>A virtio-balloon device.</summary>
    public bool BalloonDevice { get; init; }

    /// <summary>Where the guest's console is: the UART (ttyS0) or virtio-console (hvc0).</summary>
    public ConsoleDevice Console { get; init; } = ConsoleDevice.Serial;

    /// <summary>Network cards (virtio-net), each with its backend: user-mode NAT, TAP, socket or switch.</summary>
    public IReadOnlyList<Vessel.Network.NetworkOptions> Networks { get; init; } = [];

    /// <summary>The VM's name (<c>--name</c>), shown by QMP and in process titles.</summary>
    public string? Name { get; init; }

    /// <summary>The VM's UUID; made up at start when null.</summary>
    public Guid? Uuid { get; init; }

    /// <summary>Start with the guest stopped, waiting for <c>cont</c> (QEMU's <c>-S</c>).</summary>
    public bool StartPaused { get; init; }

    /// <summary>Start from a saved state instead of booting (<c>--incoming</c>), or null.</summary>
    public string? Incoming { get; init; }

    /// <summary>Where guest time comes from: the host's clock, or the instructions executed (deterministic).</summary>
    public ClockMode Clock { get; init; } = ClockMode.Host;
}

/// <summary>The <c>--clock</c> choices.</summary>
public enum ClockMode
{
    /// <summary>Guest time follows the host's monotonic clock (stopped while the VM is paused).</summary>
    Host,

    /// <summary>
    /// Guest time is derived from the instructions executed, on one host thread, with devices
    /// served on it: a run is a function of its inputs (QEMU's <c>-icount</c>).
    /// </summary>
    InstructionCount,
}

/// <summary>One <c>--drive</c>: an image file and how the guest sees it.</summary>
public sealed record DriveConfiguration
{
    public required string Path { get; init; }

    /// <summary>The image format; detected from the file when null.</summary>
    public Vessel.Storage.ImageFormat? Format { get; init; }

    /// <summary>The guest sees a read-only disk and the file is opened read-only.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Open a read-only image without a lock (QEMU's <c>force-share=on</c>), so that it can be
    /// read while another process writes it; what the guest reads may then change underneath.
    /// </summary>
    public bool ForceShare { get; init; }

    /// <summary>The serial number the guest reads (VIRTIO_BLK_T_GET_ID); generated when null.</summary>
    public string? Serial { get; init; }

    /// <summary>On the virtio-scsi controller (<c>if=scsi</c>, QEMU's scsi-hd) rather than virtio-blk.</summary>
    public bool Scsi { get; init; }

    /// <summary>The drive's name for QMP (snapshot devices, block commands); <c>drive0</c>, <c>drive1</c>, ... by position when null.</summary>
    public string? Id { get; init; }
}

/// <summary>The CD/DVD drive: the disc in it (an ISO image, opened read-only) or null for an empty drive.</summary>
public sealed record CdromConfiguration
{
    /// <summary>QMP's name for the drive (<c>eject</c>, <c>blockdev-change-medium</c>).</summary>
    public const string DefaultId = "cd0";

    public string? Path { get; init; }

    public string Id { get; init; } = DefaultId;
}

/// <summary>The display: its preferred size and the VNC server that shows it (null: the screen has no viewer but QMP's screendump).</summary>
public sealed record DisplayConfiguration
{
    /// <summary>Where the VNC server listens, or null.</summary>
    public Vnc.VncAddress? Vnc { get; init; }

    /// <summary>A file whose first line is the VNC password (VNC authentication); null: no password until QMP <c>change-vnc-password</c> sets one.</summary>
    public string? PasswordFile { get; init; }

    /// <summary>Whether viewers must authenticate (QEMU's <c>password=on</c>); with no password set yet, nobody gets in.</summary>
    public bool PasswordRequired { get; init; }

    /// <summary>The guest's keyboard layout, which decides the key a viewer's keysym becomes (QEMU's <c>-k</c>).</summary>
    public Vessel.Vmm.Vnc.VncKeymap Keymap { get; init; } = Vessel.Vmm.Vnc.VncKeymap.EnglishUs;

    /// <summary>The size the display offers the guest (QEMU's virtio-gpu default).</summary>
    public int Width { get; init; } = 1280;

    public int Height { get; init; } = 800;
}

/// <summary>The device that carries the guest's console.</summary>
public enum ConsoleDevice
{
    /// <summary>The 16550 UART (ttyS0).</summary>
    Serial,

    /// <summary>virtio-console (hvc0).</summary>
    Virtio,
}

/// <summary>The <c>--bios</c> choices.</summary>
public enum FirmwareKind
{
    /// <summary>The SBI inside the VMM; the kernel starts in S-mode.</summary>
    Builtin,

    /// <summary>No firmware: the kernel starts in M-mode at its entry (bare-metal programs).</summary>
    None,

    /// <summary>A firmware file (e.g. OpenSBI's fw_jump.bin) started in M-mode at the RAM base.</summary>
    File,
}
