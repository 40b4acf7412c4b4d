using System.Runtime.InteropServices;

namespace Vessel.Cpu.Riscv.Mmu;

/// <summary>
/// One entry of the software TLB: a guest virtual page (<see cref="Tag"/>, page aligned) and
/// the difference between host and guest virtual addresses for that page, so a hit turns a
/// guest address into a host pointer with one compare and one add. Only RAM pages that may be
/// accessed without side effects get entries; everything else takes the slow path.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TlbEntry
{
    /// <summary>A tag no address can match (its low bits are all ones).</summary>
    public const ulong Invalid = ulong.MaxValue;

    public ulong Tag;
    public long Addend;
}
