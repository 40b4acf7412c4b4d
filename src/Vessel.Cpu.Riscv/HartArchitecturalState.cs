namespace Vessel.Cpu.Riscv;

/// <summary>
/// Everything software can observe of one hart, as plain data: the registers, the program
/// counter, the privilege mode, every CSR the hart implements, the LR/SC reservation and
/// whether it runs, waits in <c>wfi</c> or is stopped. TLBs, the decode cache and translated
/// code are not part of it: they are rebuilt from this state and guest RAM.
/// </summary>
public sealed record HartArchitecturalState
{
    /// <summary>x0..x31 (x0 is always 0).</summary>
    public required ulong[] X { get; init; }

    /// <summary>f0..f31, raw bits (NaN-boxed singles as the hart holds them).</summary>
    public required ulong[] F { get; init; }

    public required ulong Pc { get; init; }

    public required PrivilegeLevel Privilege { get; init; }

    public required HartRunState RunState { get; init; }

    public ulong Mstatus { get; init; }

    public ulong Medeleg { get; init; }

    public ulong Mideleg { get; init; }

    public ulong Mie { get; init; }

    /// <summary>The <c>mip</c> bits software wrote (SSIP, STIP, SEIP).</summary>
    public ulong MipSoftware { get; init; }

    /// <summary>The <c>mip</c> bits devices drove when the state was taken; devices drive them again on restore.</summary>
    public ulong MipPins { get; init; }

    public ulong Mtvec { get; init; }

    public ulong Mscratch { get; init; }

    public ulong Mepc { get; init; }

    public ulong Mcause { get; init; }

    public ulong Mtval { get; init; }

    public ulong Mcounteren { get; init; }

    public ulong Mcountinhibit { get; init; }

    public ulong Menvcfg { get; init; }

    public ulong Stvec { get; init; }

    public ulong Sscratch { get; init; }

    public ulong Sepc { get; init; }

    public ulong Scause { get; init; }

    public ulong Stval { get; init; }

    public ulong Scounteren { get; init; }

    public ulong Senvcfg { get; init; }

    public ulong Satp { get; init; }

    public byte Fflags { get; init; }

    public byte Frm { get; init; }

    /// <summary><c>minstret</c>, which <c>mcycle</c> follows too.</summary>
    public ulong Instret { get; init; }

    /// <summary>The 64 <c>pmpcfg</c> bytes.</summary>
    public required byte[] PmpConfig { get; init; }

    /// <summary>The 64 <c>pmpaddr</c> registers.</summary>
    public required ulong[] PmpAddress { get; init; }

    public bool ReservationValid { get; init; }

    public ulong ReservationAddress { get; init; }

    public ulong ReservationValue { get; init; }
}
