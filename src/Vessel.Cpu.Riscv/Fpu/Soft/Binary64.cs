namespace Vessel.Cpu.Riscv.Fpu.Soft;

/// <summary>IEEE 754 binary64 (RISC-V D): 1 sign, 11 exponent and 52 fraction bits.</summary>
internal readonly struct Binary64 : IBinaryFormat
{
    public static int FractionBits => 52;

    public static int ExponentBits => 11;
}
