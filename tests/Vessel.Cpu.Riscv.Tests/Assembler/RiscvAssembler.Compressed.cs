namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// The C extension (RV64C), one method per compressed instruction. Operands that the 16-bit
/// forms cannot express (registers outside x8..x15 for the 3-bit fields, immediates out of
/// range or misaligned, zero where the encoding would be reserved or mean another instruction)
/// throw; use <see cref="Emit16"/> to produce reserved encodings on purpose.
/// </summary>
public sealed partial class RiscvAssembler
{
    private const uint Quadrant0 = 0;
    private const uint Quadrant1 = 1;
    private const uint Quadrant2 = 2;

    // Quadrant 0.

    /// <summary><c>c.addi4spn rd', sp, nzuimm</c>: rd' = sp + nzuimm (a non-zero multiple of 4 below 1024).</summary>
    public RiscvAssembler CAddi4spn(Reg rd, int nzuimm)
    {
        InstructionEncoding.CheckUnsigned(nzuimm, 10, "c.addi4spn immediate");
        InstructionEncoding.CheckAligned(nzuimm, 4, "c.addi4spn immediate");
        InstructionEncoding.CheckNonZero(nzuimm, "c.addi4spn immediate");
        uint u = (uint)nzuimm;
        uint bits = (((u >> 4) & 3) << 11) | (((u >> 6) & 0xf) << 7) | (((u >> 2) & 1) << 6) | (((u >> 3) & 1) << 5)
            | (InstructionEncoding.Prime((int)rd) << 2);
        return Emit((ushort)((0u << 13) | bits | Quadrant0));
    }

    public RiscvAssembler CFld(FReg rd, int offset, Reg rs1) => Emit(LoadStore8(1, (int)rd, offset, rs1));

    public RiscvAssembler CLw(Reg rd, int offset, Reg rs1) => Emit(LoadStore4(2, (int)rd, offset, rs1));

    public RiscvAssembler CLd(Reg rd, int offset, Reg rs1) => Emit(LoadStore8(3, (int)rd, offset, rs1));

    public RiscvAssembler CFsd(FReg rs2, int offset, Reg rs1) => Emit(LoadStore8(5, (int)rs2, offset, rs1));

    public RiscvAssembler CSw(Reg rs2, int offset, Reg rs1) => Emit(LoadStore4(6, (int)rs2, offset, rs1));

    public RiscvAssembler CSd(Reg rs2, int offset, Reg rs1) => Emit(LoadStore8(7, (int)rs2, offset, rs1));

    // Quadrant 1.

    public RiscvAssembler CNop() => Emit(InstructionEncoding.CI(0, 0, 0, Quadrant1));

    /// <summary><c>c.addi rd, imm</c> (imm in [-32, 31]; rd = x0 or imm = 0 are hints).</summary>
    public RiscvAssembler CAddi(Reg rd, int imm) => Emit(InstructionEncoding.CI(0, (int)rd, Imm6(imm), Quadrant1));

    /// <summary><c>c.addiw rd, imm</c> (rd must not be x0).</summary>
    public RiscvAssembler CAddiw(Reg rd, int imm)
    {
        InstructionEncoding.CheckNonZero((int)rd, "c.addiw destination");
        return Emit(InstructionEncoding.CI(1, (int)rd, Imm6(imm), Quadrant1));
    }

    public RiscvAssembler CLi(Reg rd, int imm) => Emit(InstructionEncoding.CI(2, (int)rd, Imm6(imm), Quadrant1));

    /// <summary><c>c.addi16sp sp, nzimm</c> (a non-zero multiple of 16 in [-512, 496]).</summary>
    public RiscvAssembler CAddi16sp(int nzimm)
    {
        InstructionEncoding.CheckSigned(nzimm, 10, "c.addi16sp immediate");
        InstructionEncoding.CheckAligned(nzimm, 16, "c.addi16sp immediate");
        InstructionEncoding.CheckNonZero(nzimm, "c.addi16sp immediate");
        uint u = (uint)nzimm;
        uint bits = (((u >> 9) & 1) << 10) | (2u << 5) | (((u >> 4) & 1) << 4) | (((u >> 6) & 1) << 3)
            | (((u >> 7) & 3) << 1) | ((u >> 5) & 1);
        return Emit(InstructionEncoding.C(3, bits, Quadrant1));
    }

    /// <summary>
    /// <c>c.lui rd, upper</c>: <paramref name="upper"/> is the lui-style 20-bit value, so it must be a
    /// sign-extended 6-bit number (1..31 or 0xfffe0..0xfffff, also accepted as -32..-1), not zero;
    /// rd must not be x0 or sp.
    /// </summary>
    public RiscvAssembler CLui(Reg rd, int upper)
    {
        if (rd is Reg.Zero or Reg.Sp)
        {
            throw new ArgumentOutOfRangeException(nameof(rd), rd, "c.lui cannot target x0 or sp");
        }

        int value = upper >= 0xfffe0 ? upper - 0x100000 : upper;
        InstructionEncoding.CheckSigned(value, 6, "c.lui immediate");
        InstructionEncoding.CheckNonZero(value, "c.lui immediate");
        return Emit(InstructionEncoding.CI(3, (int)rd, (uint)value & 0x3f, Quadrant1));
    }

    public RiscvAssembler CSrli(Reg rd, int shamt) => Emit(InstructionEncoding.C(4, ShiftBits(0, rd, shamt), Quadrant1));

    public RiscvAssembler CSrai(Reg rd, int shamt) => Emit(InstructionEncoding.C(4, ShiftBits(1, rd, shamt), Quadrant1));

    public RiscvAssembler CAndi(Reg rd, int imm)
    {
        uint u = Imm6(imm);
        return Emit(InstructionEncoding.C(4, (((u >> 5) & 1) << 10) | (2u << 8) | (InstructionEncoding.Prime((int)rd) << 5) | (u & 0x1f), Quadrant1));
    }

    public RiscvAssembler CSub(Reg rd, Reg rs2) => Emit(Arithmetic(0, 0, rd, rs2));

    public RiscvAssembler CXor(Reg rd, Reg rs2) => Emit(Arithmetic(0, 1, rd, rs2));

    public RiscvAssembler COr(Reg rd, Reg rs2) => Emit(Arithmetic(0, 2, rd, rs2));

    public RiscvAssembler CAnd(Reg rd, Reg rs2) => Emit(Arithmetic(0, 3, rd, rs2));

    public RiscvAssembler CSubw(Reg rd, Reg rs2) => Emit(Arithmetic(1, 0, rd, rs2));

    public RiscvAssembler CAddw(Reg rd, Reg rs2) => Emit(Arithmetic(1, 1, rd, rs2));

    public RiscvAssembler CJ(int offset) => Emit(CompressedJump(offset));

    public RiscvAssembler CJ(string label)
    {
        _fixups.Add(new Fixup(FixupKind.CompressedJump, _bytes.Count, label));
        return Emit16(0);
    }

    public RiscvAssembler CBeqz(Reg rs1, int offset) => Emit(CompressedBranch(6, (int)rs1, offset));

    public RiscvAssembler CBnez(Reg rs1, int offset) => Emit(CompressedBranch(7, (int)rs1, offset));

    public RiscvAssembler CBeqz(Reg rs1, string label) => CompressedBranch(6, rs1, label);

    public RiscvAssembler CBnez(Reg rs1, string label) => CompressedBranch(7, rs1, label);

    // Quadrant 2.

    public RiscvAssembler CSlli(Reg rd, int shamt)
    {
        InstructionEncoding.CheckUnsigned(shamt, 6, "c.slli shift amount");
        return Emit(InstructionEncoding.CI(0, (int)rd, (uint)shamt, Quadrant2));
    }

    public RiscvAssembler CFldsp(FReg rd, int offset) => Emit(InstructionEncoding.CI(1, (int)rd, StackLoad8(offset), Quadrant2));

    public RiscvAssembler CLwsp(Reg rd, int offset)
    {
        InstructionEncoding.CheckNonZero((int)rd, "c.lwsp destination");
        InstructionEncoding.CheckUnsigned(offset, 8, "c.lwsp offset");
        InstructionEncoding.CheckAligned(offset, 4, "c.lwsp offset");
        uint u = (uint)offset;
        uint imm6 = (((u >> 5) & 1) << 5) | (((u >> 2) & 7) << 2) | ((u >> 6) & 3);
        return Emit(InstructionEncoding.CI(2, (int)rd, imm6, Quadrant2));
    }

    public RiscvAssembler CLdsp(Reg rd, int offset)
    {
        InstructionEncoding.CheckNonZero((int)rd, "c.ldsp destination");
        return Emit(InstructionEncoding.CI(3, (int)rd, StackLoad8(offset), Quadrant2));
    }

    public RiscvAssembler CJr(Reg rs1)
    {
        InstructionEncoding.CheckNonZero((int)rs1, "c.jr source");
        return Emit(InstructionEncoding.CR(0x8, (int)rs1, 0, Quadrant2));
    }

    public RiscvAssembler CMv(Reg rd, Reg rs2)
    {
        InstructionEncoding.CheckNonZero((int)rs2, "c.mv source");
        return Emit(InstructionEncoding.CR(0x8, (int)rd, (int)rs2, Quadrant2));
    }

    public RiscvAssembler CEbreak() => Emit(InstructionEncoding.CR(0x9, 0, 0, Quadrant2));

    public RiscvAssembler CJalr(Reg rs1)
    {
        InstructionEncoding.CheckNonZero((int)rs1, "c.jalr source");
        return Emit(InstructionEncoding.CR(0x9, (int)rs1, 0, Quadrant2));
    }

    public RiscvAssembler CAdd(Reg rd, Reg rs2)
    {
        InstructionEncoding.CheckNonZero((int)rs2, "c.add source");
        return Emit(InstructionEncoding.CR(0x9, (int)rd, (int)rs2, Quadrant2));
    }

    public RiscvAssembler CFsdsp(FReg rs2, int offset) => Emit(StackStore8(5, (int)rs2, offset));

    public RiscvAssembler CSwsp(Reg rs2, int offset)
    {
        InstructionEncoding.CheckUnsigned(offset, 8, "c.swsp offset");
        InstructionEncoding.CheckAligned(offset, 4, "c.swsp offset");
        uint u = (uint)offset;
        uint bits = (((u >> 2) & 0xf) << 9) | (((u >> 6) & 3) << 7) | ((uint)rs2 << 2);
        return Emit((ushort)((6u << 13) | bits | Quadrant2));
    }

    public RiscvAssembler CSdsp(Reg rs2, int offset) => Emit(StackStore8(7, (int)rs2, offset));

    // Field packing shared by several forms.

    private static uint Imm6(int imm)
    {
        InstructionEncoding.CheckSigned(imm, 6, "compressed 6-bit immediate");
        return (uint)imm & 0x3f;
    }

    private static ushort LoadStore4(uint funct3, int rdOrRs2, int offset, Reg rs1)
    {
        InstructionEncoding.CheckUnsigned(offset, 7, "compressed word offset");
        InstructionEncoding.CheckAligned(offset, 4, "compressed word offset");
        uint u = (uint)offset;
        uint bits = (((u >> 3) & 7) << 10) | (InstructionEncoding.Prime((int)rs1) << 7) | (((u >> 2) & 1) << 6) | (((u >> 6) & 1) << 5)
            | (InstructionEncoding.Prime(rdOrRs2) << 2);
        return (ushort)((funct3 << 13) | bits | Quadrant0);
    }

    private static ushort LoadStore8(uint funct3, int rdOrRs2, int offset, Reg rs1)
    {
        InstructionEncoding.CheckUnsigned(offset, 8, "compressed doubleword offset");
        InstructionEncoding.CheckAligned(offset, 8, "compressed doubleword offset");
        uint u = (uint)offset;
        uint bits = (((u >> 3) & 7) << 10) | (InstructionEncoding.Prime((int)rs1) << 7) | (((u >> 6) & 3) << 5) | (InstructionEncoding.Prime(rdOrRs2) << 2);
        return (ushort)((funct3 << 13) | bits | Quadrant0);
    }

    /// <summary>The CI immediate of c.ldsp/c.fldsp: uimm[5] at bit 12, uimm[4:3|8:6] at bits 6:2.</summary>
    private static uint StackLoad8(int offset)
    {
        InstructionEncoding.CheckUnsigned(offset, 9, "compressed sp-relative doubleword offset");
        InstructionEncoding.CheckAligned(offset, 8, "compressed sp-relative doubleword offset");
        uint u = (uint)offset;
        return (((u >> 5) & 1) << 5) | (((u >> 3) & 3) << 3) | ((u >> 6) & 7);
    }

    private static ushort StackStore8(uint funct3, int rs2, int offset)
    {
        InstructionEncoding.CheckUnsigned(offset, 9, "compressed sp-relative doubleword offset");
        InstructionEncoding.CheckAligned(offset, 8, "compressed sp-relative doubleword offset");
        uint u = (uint)offset;
        uint bits = (((u >> 3) & 7) << 10) | (((u >> 6) & 7) << 7) | ((uint)rs2 << 2);
        return (ushort)((funct3 << 13) | bits | Quadrant2);
    }

    private static uint ShiftBits(uint kind, Reg rd, int shamt)
    {
        InstructionEncoding.CheckUnsigned(shamt, 6, "compressed shift amount");
        uint u = (uint)shamt;
        return (((u >> 5) & 1) << 10) | (kind << 8) | (InstructionEncoding.Prime((int)rd) << 5) | (u & 0x1f);
    }

    private static ushort Arithmetic(uint bit12, uint funct2, Reg rd, Reg rs2) =>
        InstructionEncoding.C(4, (bit12 << 10) | (3u << 8) | (InstructionEncoding.Prime((int)rd) << 5) | (funct2 << 3) | InstructionEncoding.Prime((int)rs2), Quadrant1);

    private static ushort CompressedJump(int offset)
    {
        InstructionEncoding.CheckSigned(offset, 12, "c.j offset");
        InstructionEncoding.CheckAligned(offset, 2, "c.j offset");
        uint u = (uint)offset;
        // offset[11|4|9:8|10|6|7|3:1|5] in bits 12:2.
        uint bits = (((u >> 11) & 1) << 10) | (((u >> 4) & 1) << 9) | (((u >> 8) & 3) << 7) | (((u >> 10) & 1) << 6)
            | (((u >> 6) & 1) << 5) | (((u >> 7) & 1) << 4) | (((u >> 1) & 7) << 1) | ((u >> 5) & 1);
        return InstructionEncoding.C(5, bits, Quadrant1);
    }

    private static ushort CompressedBranch(uint funct3, int rs1, int offset)
    {
        InstructionEncoding.CheckSigned(offset, 9, "compressed branch offset");
        InstructionEncoding.CheckAligned(offset, 2, "compressed branch offset");
        uint u = (uint)offset;
        // offset[8|4:3] in bits 12:10, rs1' in 9:7, offset[7:6|2:1|5] in bits 6:2.
        uint bits = (((u >> 8) & 1) << 10) | (((u >> 3) & 3) << 8) | (InstructionEncoding.Prime(rs1) << 5) | (((u >> 6) & 3) << 3)
            | (((u >> 1) & 3) << 1) | ((u >> 5) & 1);
        return InstructionEncoding.C(funct3, bits, Quadrant1);
    }

    private RiscvAssembler CompressedBranch(uint funct3, Reg rs1, string label)
    {
        InstructionEncoding.Prime((int)rs1);
        _fixups.Add(new Fixup(FixupKind.CompressedBranch, _bytes.Count, label) { Funct3 = funct3, Rs1 = (int)rs1 });
        return Emit16(0);
    }
}
