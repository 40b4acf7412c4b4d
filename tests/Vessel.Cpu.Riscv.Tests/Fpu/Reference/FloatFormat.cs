namespace Vessel.Cpu.Riscv.Tests.Fpu.Reference;

/// <summary>An IEEE 754 binary format described by its precision and exponent width (IEEE 754-2008 table 3.5).</summary>
internal sealed record FloatFormat(string Name, int Precision, int ExponentBits)
{
    public static readonly FloatFormat Binary32 = new("binary32", 24, 8);
    public static readonly FloatFormat Binary64 = new("binary64", 53, 11);

    public int FractionBits => Precision - 1;

    public int TotalBits => 1 + ExponentBits + FractionBits;

    public int Bias => (1 << (ExponentBits - 1)) - 1;

    public int Emax => Bias;

    public int Emin => 1 - Bias;

    public int MaxExponentField => (1 << ExponentBits) - 1;

    public ulong SignBit => 1UL << (TotalBits - 1);

    public ulong FractionMask => (1UL << FractionBits) - 1;

    public ulong Infinity => (ulong)MaxExponentField << FractionBits;

    public ulong MaxFinite => Infinity - 1;

    public ulong QuietBit => 1UL << (FractionBits - 1);

    /// <summary>RISC-V's canonical NaN: positive, only the quiet bit of the fraction set.</summary>
    public ulong CanonicalNaN => Infinity | QuietBit;

    public ulong AllBits => TotalBits == 64 ? ulong.MaxValue : (1UL << TotalBits) - 1;

    public ulong Encode(bool negative, int exponentField, ulong fraction)
        => (negative ? SignBit : 0) | ((ulong)exponentField << FractionBits) | (fraction & FractionMask);

    public override string ToString() => Name;
}
