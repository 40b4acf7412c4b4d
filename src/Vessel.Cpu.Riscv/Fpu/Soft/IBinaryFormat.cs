namespace Vessel.Cpu.Riscv.Fpu.Soft;

/// <summary>
/// The shape of an IEEE 754 binary interchange format. Implemented by empty structs so that
/// <see cref="SoftFloat{TFormat}"/> is compiled once per format with every constant folded in.
/// </summary>
internal interface IBinaryFormat
{
    /// <summary>Stored significand bits (without the implicit leading one).</summary>
    static abstract int FractionBits { get; }

    /// <summary>Width of the biased exponent field.</summary>
    static abstract int ExponentBits { get; }
}
