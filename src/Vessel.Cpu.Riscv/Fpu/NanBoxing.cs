namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>
/// NaN-boxing of binary32 values in the 64-bit f registers (RISC-V D, "NaN Boxing of Narrower
/// Values"): a single is stored with the upper 32 bits all ones, and an operand whose upper bits
/// are not all ones reads as the canonical binary32 NaN.
/// </summary>
public static class NanBoxing
{
    private const ulong BoxBits = 0xFFFF_FFFF_0000_0000;

    /// <summary>The canonical binary32 NaN, what an improperly boxed operand reads as.</summary>
    public const uint CanonicalNaN = 0x7FC0_0000;

    /// <summary>The register value for a binary32 result.</summary>
    public static ulong Box(uint single) => BoxBits | single;

    /// <summary>The binary32 operand a register holds.</summary>
    public static uint Unbox(ulong register) => (register & BoxBits) == BoxBits ? (uint)register : CanonicalNaN;
}
