namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// The A extension, in assembly operand order: <c>LrW(rd, rs1)</c> is <c>lr.w rd, (rs1)</c>,
/// <c>ScW(rd, rs2, rs1)</c> is <c>sc.w rd, rs2, (rs1)</c> and <c>AmoaddW(rd, rs2, rs1)</c> is
/// <c>amoadd.w rd, rs2, (rs1)</c>. <c>aq</c>/<c>rl</c> set the ordering bits.
/// </summary>
public sealed partial class RiscvAssembler
{
    public RiscvAssembler LrW(Reg rd, Reg rs1, bool aq = false, bool rl = false) => Amo(0x02, 2, rd, Reg.Zero, rs1, aq, rl);

    public RiscvAssembler LrD(Reg rd, Reg rs1, bool aq = false, bool rl = false) => Amo(0x02, 3, rd, Reg.Zero, rs1, aq, rl);

    public RiscvAssembler ScW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x03, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler ScD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x03, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoswapW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x01, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoaddW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x00, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoxorW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x04, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoandW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x0c, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoorW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x08, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmominW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x10, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmomaxW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x14, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmominuW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x18, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmomaxuW(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x1c, 2, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoswapD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x01, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoaddD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x00, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoxorD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x04, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoandD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x0c, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmoorD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x08, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmominD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x10, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmomaxD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x14, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmominuD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x18, 3, rd, rs2, rs1, aq, rl);

    public RiscvAssembler AmomaxuD(Reg rd, Reg rs2, Reg rs1, bool aq = false, bool rl = false) => Amo(0x1c, 3, rd, rs2, rs1, aq, rl);

    private RiscvAssembler Amo(uint funct5, uint funct3, Reg rd, Reg rs2, Reg rs1, bool aq, bool rl) =>
        Emit(InstructionEncoding.Amo(funct5, funct3, aq, rl, (int)rd, (int)rs1, (int)rs2));
}
