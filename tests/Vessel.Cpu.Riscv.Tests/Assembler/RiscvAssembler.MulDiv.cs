namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>The M extension: multiplication and division.</summary>
public sealed partial class RiscvAssembler
{
    public RiscvAssembler Mul(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 0, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Mulh(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 1, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Mulhsu(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 2, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Mulhu(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 3, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Div(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 4, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Divu(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 5, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Rem(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 6, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Remu(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg, 7, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Mulw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 0, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Divw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 4, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Divuw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 5, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Remw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 6, 1, (int)rd, (int)rs1, (int)rs2));

    public RiscvAssembler Remuw(Reg rd, Reg rs1, Reg rs2) => Emit(InstructionEncoding.R(OpReg32, 7, 1, (int)rd, (int)rs1, (int)rs2));
}
