namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// The physical memory map and interrupt numbers of the <c>virt</c> board, the same as QEMU's
/// riscv64 <c>virt</c> machine so that images built for it run unchanged.
/// </summary>
public static class RiscvVirtMemoryMap
{
    public const ulong TestBase = 0x0010_0000;
    public const ulong TestSize = 0x1000;

    public const ulong RtcBase = 0x0010_1000;
    public const ulong RtcSize = 0x1000;
    public const int RtcIrq = 11;

    public const ulong ClintBase = 0x0200_0000;
    public const ulong ClintSize = 0x1_0000;

    public const ulong PlicBase = 0x0c00_0000;
    public const ulong PlicSize = 0x60_0000;

    public const ulong UartBase = 0x1000_0000;
    public const ulong UartSize = 0x100;
    public const int UartIrq = 10;

    public const ulong VirtioBase = 0x1000_1000;
    public const ulong VirtioStride = 0x1000;
    public const int VirtioSlots = 8;
    public const int VirtioFirstIrq = 1;

    public const ulong RamBase = 0x8000_0000;

    /// <summary>The base address of virtio-mmio slot <paramref name="slot"/>.</summary>
    public static ulong VirtioSlotBase(int slot) => VirtioBase + ((ulong)slot * VirtioStride);
}
