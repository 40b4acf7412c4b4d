namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// The rounding-mode field of F/D instructions. 5 and 6 are reserved (an instruction carrying
/// them is illegal); cast them explicitly to encode such an instruction on purpose.
/// </summary>
public enum Rm : byte
{
    /// <summary>Round to nearest, ties to even.</summary>
    Rne = 0,

    /// <summary>Round towards zero.</summary>
    Rtz = 1,

    /// <summary>Round down (towards negative infinity).</summary>
    Rdn = 2,

    /// <summary>Round up (towards positive infinity).</summary>
    Rup = 3,

    /// <summary>Round to nearest, ties to max magnitude.</summary>
    Rmm = 4,

    /// <summary>Dynamic: use <c>frm</c>.</summary>
    Dyn = 7,
}
