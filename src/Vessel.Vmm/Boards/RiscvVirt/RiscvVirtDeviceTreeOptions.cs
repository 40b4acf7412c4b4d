using Vessel.Machine.Timing;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// What the <c>virt</c> board really has, as far as its device tree is concerned. The
/// platform devices (PLIC, CLINT, UART, RTC, test/syscon) are always present on <c>virt</c>;
/// the switches exist for boards built without some of them.
/// </summary>
public sealed record RiscvVirtDeviceTreeOptions
{
    public const ulong DefaultRamBase = 0x8000_0000;

    public ulong RamBase { get; init; } = DefaultRamBase;

    public required ulong RamSize { get; init; }

    /// <summary>One entry per hart, in hart-id order (1 to 8 harts).</summary>
    public required IReadOnlyList<RiscvVirtHart> Harts { get; init; }

    public uint TimebaseFrequency { get; init; } = (uint)VirtualClock.Frequency;

    /// <summary>The kernel command line; no <c>bootargs</c> property when null.</summary>
    public string? Bootargs { get; init; }

    /// <summary>Guest-physical start of the initrd (both ends or neither).</summary>
    public ulong? InitrdStart { get; init; }

    /// <summary>Guest-physical end of the initrd, exclusive.</summary>
    public ulong? InitrdEnd { get; init; }

    /// <summary>The console; the UART when null (and the UART is present).</summary>
    public string? StdoutPath { get; init; }

    /// <summary>The virtio-mmio slots (0..7) that have a device behind them.</summary>
    public IReadOnlyCollection<int> VirtioSlots { get; init; } = [];

    /// <summary>
    /// Programmable hardware performance counters of each hart (mhpmcounter3 upwards). When
    /// non-zero a <c>/pmu</c> node maps the SBI PMU events onto them as QEMU does; 0 (no
    /// counters) leaves the node out.
    /// </summary>
    public int HpmCounterCount { get; init; }

    /// <summary>
    /// Entropy for the kernel (<c>/chosen/rng-seed</c>): 32 fresh random bytes when null, no
    /// property when empty.
    /// </summary>
    public byte[]? RngSeed { get; init; }

    /// <summary>
    /// Zero bytes at the end of the blob, inside its totalsize, for the next boot stage's
    /// in-place fix-ups (none by default, as QEMU hands its tree over).
    /// </summary>
    public int FreeSpace { get; init; }

    public bool HasPlic { get; init; } = true;

    public bool HasClint { get; init; } = true;

    public bool HasUart { get; init; } = true;

    public bool HasRtc { get; init; } = true;

    /// <summary>The test/syscon device and the poweroff/reboot nodes that use it.</summary>
    public bool HasTest { get; init; } = true;
}
