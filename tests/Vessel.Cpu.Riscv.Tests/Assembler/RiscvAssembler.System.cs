namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>Zicsr, Zifencei, fences and the privileged instructions.</summary>
public sealed partial class RiscvAssembler
{
    /// <summary>Fence predecessor/successor sets: I, O, R, W.</summary>
    [Flags]
    public enum FenceSet : uint
    {
        None = 0,
        W = 1,
        R = 2,
        O = 4,
        I = 8,
        RW = R | W,
        IORW = I | O | R | W,
    }

    public RiscvAssembler Csrrw(Reg rd, ushort csr, Reg rs1) => Emit(InstructionEncoding.Csr(1, (int)rd, csr, (int)rs1));

    public RiscvAssembler Csrrs(Reg rd, ushort csr, Reg rs1) => Emit(InstructionEncoding.Csr(2, (int)rd, csr, (int)rs1));

    public RiscvAssembler Csrrc(Reg rd, ushort csr, Reg rs1) => Emit(InstructionEncoding.Csr(3, (int)rd, csr, (int)rs1));

    public RiscvAssembler Csrrwi(Reg rd, ushort csr, int uimm) => Emit(InstructionEncoding.Csr(5, (int)rd, csr, uimm));

    public RiscvAssembler Csrrsi(Reg rd, ushort csr, int uimm) => Emit(InstructionEncoding.Csr(6, (int)rd, csr, uimm));

    public RiscvAssembler Csrrci(Reg rd, ushort csr, int uimm) => Emit(InstructionEncoding.Csr(7, (int)rd, csr, uimm));

    public RiscvAssembler Ecall() => Emit(0x0000_0073u);

    public RiscvAssembler Ebreak() => Emit(0x0010_0073u);

    public RiscvAssembler Sret() => Emit(0x1020_0073u);

    public RiscvAssembler Mret() => Emit(0x3020_0073u);

    public RiscvAssembler Wfi() => Emit(0x1050_0073u);

    /// <summary><c>sfence.vma rs1, rs2</c> (x0 for "all addresses" / "all address spaces").</summary>
    public RiscvAssembler SfenceVma(Reg rs1 = Reg.Zero, Reg rs2 = Reg.Zero) => Emit(InstructionEncoding.R(0x73, 0, 0x09, 0, (int)rs1, (int)rs2));

    public RiscvAssembler Fence(FenceSet predecessor = FenceSet.IORW, FenceSet successor = FenceSet.IORW) =>
        Emit(((uint)predecessor << 24) | ((uint)successor << 20) | 0x0f);

    public RiscvAssembler FenceTso() => Emit(0x8330_000fu);

    public RiscvAssembler FenceI() => Emit(0x0000_100fu);
}
