namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// What the device tree says about one hart: its ISA string in the form Linux 6.1 parses
/// (<c>rv64</c>, single-letter extensions, then <c>_</c>-separated multi-letter ones, e.g.
/// <c>rv64imafdc_zicsr_zifencei</c>) and its MMU type (<c>riscv,sv39</c>, <c>riscv,sv48</c>
/// or <c>riscv,none</c>).
/// </summary>
public sealed record RiscvVirtHart(string Isa, string MmuType)
{
    /// <summary>RV64GC with Zicsr and Zifencei, what QEMU 7.2 reports for <c>-cpu rv64</c> without its optional extensions.</summary>
    public const string Rv64gcIsa = "rv64imafdc_zicsr_zifencei";

    public const string Sv39 = "riscv,sv39";
    public const string Sv48 = "riscv,sv48";

    /// <summary><paramref name="count"/> identical harts.</summary>
    public static IReadOnlyList<RiscvVirtHart> Uniform(int count, string isa = Rv64gcIsa, string mmuType = Sv48)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var hart = new RiscvVirtHart(isa, mmuType);
        return Enumerable.Repeat(hart, count).ToArray();
    }
}
