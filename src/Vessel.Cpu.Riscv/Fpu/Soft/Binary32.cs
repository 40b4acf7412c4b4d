namespace Vessel.Cpu.Riscv.Fpu.Soft;

/// <summary>IEEE 754 binary32 (RISC-V F): 1 sign, 8 exponent and 23 fraction bits.</summary>
internal readonly struct Binary32 : IBinaryFormat
{
    public static int FractionBits => 23;

    public static int ExponentBits => 8;
}
