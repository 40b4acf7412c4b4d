namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>RV64I: upper immediates, jumps, branches, loads, stores and integer arithmetic.</summary>
public sealed partial class RiscvAssembler
{
    private const uint OpLoad = 0x03;
    private const uint OpImm = 0x13;
    private const uint OpAuipc = 0x17;
    private const uint OpImm32 = 0x1b;
    private const uint OpStore = 0x23;
    private const uint OpReg = 0x33;
    private const uint OpLui = 0x37;
    private const uint OpReg32 = 0x3b;
    private const uint OpJalr = 0x67;

    public RiscvAssembler Lui(Reg rd, int upper20) => Emit(InstructionEncoding.U(OpLui, (int)rd, upper20));

    public RiscvAssembler Auipc(Reg rd, int upper20) => Emit(InstructionEncoding.U(OpAuipc, (int)rd, upper20));

    public RiscvAssembler Jal(Reg rd, int offset) => Emit(InstructionEncoding.J((int)rd, offset));

    public RiscvAssembler Jal(Reg rd, string label)
    {
        _fixups.Add(new Fixup(FixupKind.Jal, _bytes.Count, label) { Rd = (int)rd });
        return Emit32(0);
    }

    /// <summary><c>jalr rd, offset(rs1)</c>.</summary>
    public RiscvAssembler Jalr(Reg rd, Reg rs1, int offset = 0) => Emit(InstructionEncoding.I(OpJalr, 0, (int)rd, (int)rs1, offset));

    // Branches.
    public RiscvAssembler Beq(Reg rs1, Reg rs2, string label) => Branch(0, rs1, rs2, label);

    public RiscvAssembler Bne(Reg rs1, Reg rs2, string label) => Branch(1, rs1, rs2, label);

    public RiscvAssembler Blt(Reg rs1, Reg rs2, string label) => Branch(4, rs1, rs2, label);

    public RiscvAssembler Bge(Reg rs1, Reg rs2, string label) => Branch(5, rs1, rs2, label);

    public RiscvAssembler Bltu(Reg rs1, Reg rs2, string label) => Branch(6, rs1, rs2, label);

    public RiscvAssembler Bgeu(Reg rs1, Reg rs2, string label) => Branch(7, rs1, rs2, label);

    public RiscvAssembler Beq(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(0, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Bne(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(1, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Blt(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(4, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Bge(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(5, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Bltu(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(6, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Bgeu(Reg rs1, Reg rs2, int offset) => Emit(InstructionEncoding.B(7, (int)rs1, (int)rs2, offset));

    private RiscvAssembler Branch(uint funct3, Reg rs1, Reg rs2, string label)
    {
        _fixups.Add(new Fixup(FixupKind.Branch, _bytes.Count, label) { Funct3 = funct3, Rs1 = (int)rs1, Rs2 = (int)rs2 });
        return Emit32(0);
    }

    // Loads: lx rd, offset(rs1).
    public RiscvAssembler Lb(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 0, (int)rd, (int)rs1, offset));

    public RiscvAssembler Lh(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 1, (int)rd, (int)rs1, offset));

    public RiscvAssembler Lw(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 2, (int)rd, (int)rs1, offset));

    public RiscvAssembler Ld(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 3, (int)rd, (int)rs1, offset));

    public RiscvAssembler Lbu(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 4, (int)rd, (int)rs1, offset));

    public RiscvAssembler Lhu(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 5, (int)rd, (int)rs1, offset));

    public RiscvAssembler Lwu(Reg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoad, 6, (int)rd, (int)rs1, offset));

    // Stores: sx rs2, offset(rs1).
    public RiscvAssembler Sb(Reg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStore, 0, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Sh(Reg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStore, 1, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Sw(Reg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStore, 2, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Sd(Reg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStore, 3, (int)rs1, (int)rs2, offset));

    // Register-immediate.
    public RiscvAssembler Addi(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 0, (int)rd, (int)rs1, imm));

    public RiscvAssembler Slti(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 2, (int)rd, (int)rs1, imm));

    public RiscvAssembler Sltiu(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 3, (int)rd, (int)rs1, imm));

    public RiscvAssembler Xori(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 4, (int)rd, (int)rs1, imm));

    public RiscvAssembler Ori(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 6, (int)rd, (int)rs1, imm));

    public RiscvAssembler Andi(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm, 7, (int)rd, (int)rs1, imm));

    public RiscvAssembler Slli(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm, 1, (int)rd, (int)rs1, Shamt(shamt, 6)));

    public RiscvAssembler Srli(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm, 5, (int)rd, (int)rs1, Shamt(shamt, 6)));

    public RiscvAssembler Srai(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm, 5, (int)rd, (int)rs1, 0x400 | Shamt(shamt, 6)));

    // Register-register.
    public RiscvAssembler Add(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 0, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sub(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 0, 0x20, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sll(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 1, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Slt(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 2, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sltu(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 3, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Xor(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 4, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Srl(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 5, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sra(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 5, 0x20, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Or(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 6, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler And(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 7, 0x00, (int)rd, (int)rs1, (int)rs2));

    // RV64 word operations.
    public RiscvAssembler Addiw(Reg rd, Reg rs1, int imm) => Emit(InstructionEncoding.I(OpImm32, 0, (int)rd, (int)rs1, imm));

    public RiscvAssembler Slliw(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm32, 1, (int)rd, (int)rs1, Shamt(shamt, 5)));

    public RiscvAssembler Srliw(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm32, 5, (int)rd, (int)rs1, Shamt(shamt, 5)));

    public RiscvAssembler Sraiw(Reg rd, Reg rs1, int shamt) => Emit(InstructionEncoding.I(OpImm32, 5, (int)rd, (int)rs1, 0x400 | Shamt(shamt, 5)));

    public RiscvAssembler Addw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 0, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Subw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 0, 0x20, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sllw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 1, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Srlw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 5, 0x00, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Sraw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 5, 0x20, (int)rd, (int)rs1, (int)rs2));

    private static int Shamt(int shamt, int bits)
    {
        InstructionEncoding.CheckUnsigned(shamt, bits, "shift amount");
        return shamt;
    }
}
