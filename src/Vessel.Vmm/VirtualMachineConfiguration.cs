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
    public Vessel.Cpu.Riscv.ExecutionEngine Engine { get; init; } = Vessel.Cpu.Riscv.ExecutionEngine.Interpreter;

    /// <summary>The firmware file when <see cref="Firmware"/> is <see cref="FirmwareKind.File"/>.</summary>
    public string? FirmwarePath { get; init; }
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
