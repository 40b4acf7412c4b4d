namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>IEEE 754 rounding modes with their RISC-V <c>rm</c>/<c>frm</c> encodings.</summary>
public enum RoundingMode : byte
{
    /// <summary>RNE: round to nearest, ties to even.</summary>
    NearestEven = 0,

    /// <summary>RTZ: round towards zero.</summary>
    TowardZero = 1,

    /// <summary>RDN: round down (towards negative infinity).</summary>
    Down = 2,

    /// <summary>RUP: round up (towards positive infinity).</summary>
    Up = 3,

    /// <summary>RMM: round to nearest, ties to max magnitude.</summary>
    NearestMaxMagnitude = 4,
}

/// <summary>The accrued exception flags, laid out as in the RISC-V <c>fflags</c> CSR.</summary>
[Flags]
public enum FloatFlags : byte
{
    None = 0,
    Inexact = 1,
    Underflow = 2,
    Overflow = 4,
    DivideByZero = 8,
    Invalid = 16,
}
