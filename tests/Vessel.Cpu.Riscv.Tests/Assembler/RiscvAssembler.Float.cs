namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// The F and D extensions. Instructions that round take an <see cref="Rm"/> (dynamic by default,
/// as GNU as does); the conversions that are always exact (<c>fcvt.d.s</c>, <c>fcvt.d.w</c>,
/// <c>fcvt.d.wu</c>) default to RNE, the encoding assemblers use for them.
/// </summary>
public sealed partial class RiscvAssembler
{
    private const uint OpLoadFp = 0x07;
    private const uint OpStoreFp = 0x27;
    private const uint OpFp = 0x53;
    private const uint FmtS = 0;
    private const uint FmtD = 1;

    public RiscvAssembler Flw(FReg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoadFp, 2, (int)rd, (int)rs1, offset));

    public RiscvAssembler Fld(FReg rd, int offset, Reg rs1) => Emit(InstructionEncoding.I(OpLoadFp, 3, (int)rd, (int)rs1, offset));

    public RiscvAssembler Fsw(FReg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStoreFp, 2, (int)rs1, (int)rs2, offset));

    public RiscvAssembler Fsd(FReg rs2, int offset, Reg rs1) => Emit(InstructionEncoding.S(OpStoreFp, 3, (int)rs1, (int)rs2, offset));

    // Fused multiply-add.
    public RiscvAssembler FmaddS(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x43, FmtS, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FmsubS(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x47, FmtS, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FnmsubS(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x4b, FmtS, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FnmaddS(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x4f, FmtS, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FmaddD(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x43, FmtD, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FmsubD(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x47, FmtD, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FnmsubD(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x4b, FmtD, rd, rs1, rs2, rs3, rm);

    public RiscvAssembler FnmaddD(FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm = Rm.Dyn) => Fused(0x4f, FmtD, rd, rs1, rs2, rs3, rm);

    // Arithmetic.
    public RiscvAssembler FaddS(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x00, FmtS, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsubS(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x01, FmtS, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FmulS(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x02, FmtS, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FdivS(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x03, FmtS, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsqrtS(FReg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x0b, FmtS, (uint)rm, (int)rd, (int)rs1, 0);

    public RiscvAssembler FaddD(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x00, FmtD, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsubD(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x01, FmtD, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FmulD(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x02, FmtD, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FdivD(FReg rd, FReg rs1, FReg rs2, Rm rm = Rm.Dyn) => Fp(0x03, FmtD, (uint)rm, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsqrtD(FReg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x0b, FmtD, (uint)rm, (int)rd, (int)rs1, 0);

    // Sign injection, min/max.
    public RiscvAssembler FsgnjS(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtS, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsgnjnS(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtS, 1, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsgnjxS(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtS, 2, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FminS(FReg rd, FReg rs1, FReg rs2) => Fp(0x05, FmtS, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FmaxS(FReg rd, FReg rs1, FReg rs2) => Fp(0x05, FmtS, 1, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsgnjD(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtD, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsgnjnD(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtD, 1, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FsgnjxD(FReg rd, FReg rs1, FReg rs2) => Fp(0x04, FmtD, 2, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FminD(FReg rd, FReg rs1, FReg rs2) => Fp(0x05, FmtD, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FmaxD(FReg rd, FReg rs1, FReg rs2) => Fp(0x05, FmtD, 1, (int)rd, (int)rs1, (int)rs2);

    // Conversions between formats.
    public RiscvAssembler FcvtSD(FReg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x08, FmtS, (uint)rm, (int)rd, (int)rs1, 1);

    public RiscvAssembler FcvtDS(FReg rd, FReg rs1, Rm rm = Rm.Rne) => Fp(0x08, FmtD, (uint)rm, (int)rd, (int)rs1, 0);

    // Comparisons and classification (integer destination).
    public RiscvAssembler FleS(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtS, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FltS(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtS, 1, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FeqS(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtS, 2, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FleD(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtD, 0, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FltD(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtD, 1, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FeqD(Reg rd, FReg rs1, FReg rs2) => Fp(0x14, FmtD, 2, (int)rd, (int)rs1, (int)rs2);

    public RiscvAssembler FclassS(Reg rd, FReg rs1) => Fp(0x1c, FmtS, 1, (int)rd, (int)rs1, 0);

    public RiscvAssembler FclassD(Reg rd, FReg rs1) => Fp(0x1c, FmtD, 1, (int)rd, (int)rs1, 0);

    // Conversions to integers.
    public RiscvAssembler FcvtWS(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtS, (uint)rm, (int)rd, (int)rs1, 0);

    public RiscvAssembler FcvtWuS(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtS, (uint)rm, (int)rd, (int)rs1, 1);

    public RiscvAssembler FcvtLS(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtS, (uint)rm, (int)rd, (int)rs1, 2);

    public RiscvAssembler FcvtLuS(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtS, (uint)rm, (int)rd, (int)rs1, 3);

    public RiscvAssembler FcvtWD(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtD, (uint)rm, (int)rd, (int)rs1, 0);

    public RiscvAssembler FcvtWuD(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtD, (uint)rm, (int)rd, (int)rs1, 1);

    public RiscvAssembler FcvtLD(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtD, (uint)rm, (int)rd, (int)rs1, 2);

    public RiscvAssembler FcvtLuD(Reg rd, FReg rs1, Rm rm = Rm.Dyn) => Fp(0x18, FmtD, (uint)rm, (int)rd, (int)rs1, 3);

    // Conversions from integers.
    public RiscvAssembler FcvtSW(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtS, (uint)rm, (int)rd, (int)rs1, 0);

    public RiscvAssembler FcvtSWu(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtS, (uint)rm, (int)rd, (int)rs1, 1);

    public RiscvAssembler FcvtSL(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtS, (uint)rm, (int)rd, (int)rs1, 2);

    public RiscvAssembler FcvtSLu(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtS, (uint)rm, (int)rd, (int)rs1, 3);

    public RiscvAssembler FcvtDW(FReg rd, Reg rs1, Rm rm = Rm.Rne) => Fp(0x1a, FmtD, (uint)rm, (int)rd, (int)rs1, 0);

    public RiscvAssembler FcvtDWu(FReg rd, Reg rs1, Rm rm = Rm.Rne) => Fp(0x1a, FmtD, (uint)rm, (int)rd, (int)rs1, 1);

    public RiscvAssembler FcvtDL(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtD, (uint)rm, (int)rd, (int)rs1, 2);

    public RiscvAssembler FcvtDLu(FReg rd, Reg rs1, Rm rm = Rm.Dyn) => Fp(0x1a, FmtD, (uint)rm, (int)rd, (int)rs1, 3);

    // Bit moves between register files.
    public RiscvAssembler FmvXW(Reg rd, FReg rs1) => Fp(0x1c, FmtS, 0, (int)rd, (int)rs1, 0);

    public RiscvAssembler FmvWX(FReg rd, Reg rs1) => Fp(0x1e, FmtS, 0, (int)rd, (int)rs1, 0);

    public RiscvAssembler FmvXD(Reg rd, FReg rs1) => Fp(0x1c, FmtD, 0, (int)rd, (int)rs1, 0);

    public RiscvAssembler FmvDX(FReg rd, Reg rs1) => Fp(0x1e, FmtD, 0, (int)rd, (int)rs1, 0);

    private RiscvAssembler Fp(uint funct5, uint fmt, uint funct3, int rd, int rs1, int rs2) =>
        Emit(InstructionEncoding.R(OpFp, funct3, (funct5 << 2) | fmt, rd, rs1, rs2));

    private RiscvAssembler Fused(uint opcode, uint fmt, FReg rd, FReg rs1, FReg rs2, FReg rs3, Rm rm) =>
        Emit(InstructionEncoding.R4(opcode, (uint)rm, fmt, (int)rd, (int)rs1, (int)rs2, (int)rs3));
}
