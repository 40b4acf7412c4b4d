namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Encoders for the RV64GC instructions the translator tests use: each returns the
/// instruction's bits (16-bit ones for the compressed forms, whose names start with C).
/// Checked against GNU as in <see cref="EncoderOracleTests"/>.
/// </summary>
public static class Rv
{
    // ------------------------------------------------------------------ formats

    private static uint R(uint opcode, int rd, int funct3, int rs1, int rs2, uint funct7) =>
        (funct7 << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | ((uint)funct3 << 12) | ((uint)rd << 7) | opcode;

    private static uint I(uint opcode, int rd, int funct3, int rs1, int imm)
    {
        CheckRange(imm, -2048, 2047);
        return ((uint)(imm & 0xfff) << 20) | ((uint)rs1 << 15) | ((uint)funct3 << 12) | ((uint)rd << 7) | opcode;
    }

    private static uint S(uint opcode, int funct3, int rs1, int rs2, int imm)
    {
        CheckRange(imm, -2048, 2047);
        uint u = (uint)imm;
        return (((u >> 5) & 0x7f) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | ((uint)funct3 << 12) | ((u & 0x1f) << 7) | opcode;
    }

    private static uint B(int funct3, int rs1, int rs2, int offset)
    {
        CheckRange(offset, -4096, 4094);
        uint u = (uint)offset;
        return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15)
            | ((uint)funct3 << 12) | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
    }

    private static uint U(uint opcode, int rd, int imm20) => ((uint)imm20 << 12) | ((uint)rd << 7) | opcode;

    private static void CheckRange(int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"must be in [{min}, {max}]");
        }
    }

    // ------------------------------------------------------------------ RV64I

    public static uint Lui(int rd, int imm20) => U(0x37, rd, imm20 & 0xfffff);

    public static uint Auipc(int rd, int imm20) => U(0x17, rd, imm20 & 0xfffff);

    public static uint Jal(int rd, int offset)
    {
        CheckRange(offset, -(1 << 20), (1 << 20) - 2);
        uint u = (uint)offset;
        return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) | (((u >> 12) & 0xff) << 12) | ((uint)rd << 7) | 0x6f;
    }

    public static uint Jalr(int rd, int rs1, int imm) => I(0x67, rd, 0, rs1, imm);

    public static uint Beq(int rs1, int rs2, int offset) => B(0, rs1, rs2, offset);

    public static uint Bne(int rs1, int rs2, int offset) => B(1, rs1, rs2, offset);

    public static uint Blt(int rs1, int rs2, int offset) => B(4, rs1, rs2, offset);

    public static uint Bge(int rs1, int rs2, int offset) => B(5, rs1, rs2, offset);

    public static uint Bltu(int rs1, int rs2, int offset) => B(6, rs1, rs2, offset);

    public static uint Bgeu(int rs1, int rs2, int offset) => B(7, rs1, rs2, offset);

    public static uint Branch(int funct3, int rs1, int rs2, int offset) => B(funct3, rs1, rs2, offset);

    public static uint Lb(int rd, int rs1, int imm) => I(0x03, rd, 0, rs1, imm);

    public static uint Lh(int rd, int rs1, int imm) => I(0x03, rd, 1, rs1, imm);

    public static uint Lw(int rd, int rs1, int imm) => I(0x03, rd, 2, rs1, imm);

    public static uint Ld(int rd, int rs1, int imm) => I(0x03, rd, 3, rs1, imm);

    public static uint Lbu(int rd, int rs1, int imm) => I(0x03, rd, 4, rs1, imm);

    public static uint Lhu(int rd, int rs1, int imm) => I(0x03, rd, 5, rs1, imm);

    public static uint Lwu(int rd, int rs1, int imm) => I(0x03, rd, 6, rs1, imm);

    /// <summary>A load by funct3 (0 lb, 1 lh, 2 lw, 3 ld, 4 lbu, 5 lhu, 6 lwu).</summary>
    public static uint Load(int funct3, int rd, int rs1, int imm) => I(0x03, rd, funct3, rs1, imm);

    public static uint Sb(int rs2, int rs1, int imm) => S(0x23, 0, rs1, rs2, imm);

    public static uint Sh(int rs2, int rs1, int imm) => S(0x23, 1, rs1, rs2, imm);

    public static uint Sw(int rs2, int rs1, int imm) => S(0x23, 2, rs1, rs2, imm);

    public static uint Sd(int rs2, int rs1, int imm) => S(0x23, 3, rs1, rs2, imm);

    /// <summary>A store by funct3 (0 sb, 1 sh, 2 sw, 3 sd).</summary>
    public static uint Store(int funct3, int rs2, int rs1, int imm) => S(0x23, funct3, rs1, rs2, imm);

    public static uint Addi(int rd, int rs1, int imm) => I(0x13, rd, 0, rs1, imm);

    public static uint Slti(int rd, int rs1, int imm) => I(0x13, rd, 2, rs1, imm);

    public static uint Sltiu(int rd, int rs1, int imm) => I(0x13, rd, 3, rs1, imm);

    public static uint Xori(int rd, int rs1, int imm) => I(0x13, rd, 4, rs1, imm);

    public static uint Ori(int rd, int rs1, int imm) => I(0x13, rd, 6, rs1, imm);

    public static uint Andi(int rd, int rs1, int imm) => I(0x13, rd, 7, rs1, imm);

    public static uint Slli(int rd, int rs1, int shamt) => I(0x13, rd, 1, rs1, shamt & 63);

    public static uint Srli(int rd, int rs1, int shamt) => I(0x13, rd, 5, rs1, shamt & 63);

    public static uint Srai(int rd, int rs1, int shamt) => I(0x13, rd, 5, rs1, (shamt & 63) | 0x400);

    public static uint Add(int rd, int rs1, int rs2) => R(0x33, rd, 0, rs1, rs2, 0);

    public static uint Sub(int rd, int rs1, int rs2) => R(0x33, rd, 0, rs1, rs2, 0x20);

    public static uint Sll(int rd, int rs1, int rs2) => R(0x33, rd, 1, rs1, rs2, 0);

    public static uint Slt(int rd, int rs1, int rs2) => R(0x33, rd, 2, rs1, rs2, 0);

    public static uint Sltu(int rd, int rs1, int rs2) => R(0x33, rd, 3, rs1, rs2, 0);

    public static uint Xor(int rd, int rs1, int rs2) => R(0x33, rd, 4, rs1, rs2, 0);

    public static uint Srl(int rd, int rs1, int rs2) => R(0x33, rd, 5, rs1, rs2, 0);

    public static uint Sra(int rd, int rs1, int rs2) => R(0x33, rd, 5, rs1, rs2, 0x20);

    public static uint Or(int rd, int rs1, int rs2) => R(0x33, rd, 6, rs1, rs2, 0);

    public static uint And(int rd, int rs1, int rs2) => R(0x33, rd, 7, rs1, rs2, 0);

    public static uint Addiw(int rd, int rs1, int imm) => I(0x1b, rd, 0, rs1, imm);

    public static uint Slliw(int rd, int rs1, int shamt) => I(0x1b, rd, 1, rs1, shamt & 31);

    public static uint Srliw(int rd, int rs1, int shamt) => I(0x1b, rd, 5, rs1, shamt & 31);

    public static uint Sraiw(int rd, int rs1, int shamt) => I(0x1b, rd, 5, rs1, (shamt & 31) | 0x400);

    public static uint Addw(int rd, int rs1, int rs2) => R(0x3b, rd, 0, rs1, rs2, 0);

    public static uint Subw(int rd, int rs1, int rs2) => R(0x3b, rd, 0, rs1, rs2, 0x20);

    public static uint Sllw(int rd, int rs1, int rs2) => R(0x3b, rd, 1, rs1, rs2, 0);

    public static uint Srlw(int rd, int rs1, int rs2) => R(0x3b, rd, 5, rs1, rs2, 0);

    public static uint Sraw(int rd, int rs1, int rs2) => R(0x3b, rd, 5, rs1, rs2, 0x20);

    public static uint Fence() => 0x0ff0000f;

    public static uint FenceI() => 0x0000100f;

    public static uint Ecall() => 0x00000073;

    public static uint Ebreak() => 0x00100073;

    public static uint Mret() => 0x30200073;

    public static uint Sret() => 0x10200073;

    public static uint Wfi() => 0x10500073;

    public static uint SfenceVma(int rs1, int rs2) => R(0x73, 0, 0, rs1, rs2, 0x09);

    public static uint Csrrw(int rd, int csr, int rs1) => I(0x73, rd, 1, rs1, SignedCsr(csr));

    public static uint Csrrs(int rd, int csr, int rs1) => I(0x73, rd, 2, rs1, SignedCsr(csr));

    public static uint Csrrc(int rd, int csr, int rs1) => I(0x73, rd, 3, rs1, SignedCsr(csr));

    public static uint Csrrwi(int rd, int csr, int uimm) => I(0x73, rd, 5, uimm, SignedCsr(csr));

    public static uint Csrr(int rd, int csr) => Csrrs(rd, csr, 0);

    public static uint Csrw(int csr, int rs1) => Csrrw(0, csr, rs1);

    private static int SignedCsr(int csr) => (csr << 20) >> 20;

    // ------------------------------------------------------------------ M

    /// <summary>An M-extension operation by funct3 (0 mul, 1 mulh, 2 mulhsu, 3 mulhu, 4 div, 5 divu, 6 rem, 7 remu).</summary>
    public static uint MulDiv(int funct3, int rd, int rs1, int rs2) => R(0x33, rd, funct3, rs1, rs2, 1);

    /// <summary>An RV64M word operation by funct3 (0 mulw, 4 divw, 5 divuw, 6 remw, 7 remuw).</summary>
    public static uint MulDivWord(int funct3, int rd, int rs1, int rs2) => R(0x3b, rd, funct3, rs1, rs2, 1);

    public static uint Mul(int rd, int rs1, int rs2) => MulDiv(0, rd, rs1, rs2);

    // ------------------------------------------------------------------ A

    /// <summary>An AMO by funct5 (0 add, 1 swap, 2 lr, 3 sc, 4 xor, 8 or, 12 and, 16 min, 20 max, 24 minu, 28 maxu).</summary>
    public static uint Amo(int funct5, bool doubleword, int rd, int rs1, int rs2) =>
        R(0x2f, rd, doubleword ? 3 : 2, rs1, rs2, (uint)funct5 << 2);

    public static uint LrD(int rd, int rs1) => Amo(2, true, rd, rs1, 0);

    public static uint ScD(int rd, int rs1, int rs2) => Amo(3, true, rd, rs1, rs2);

    public static uint LrW(int rd, int rs1) => Amo(2, false, rd, rs1, 0);

    public static uint ScW(int rd, int rs1, int rs2) => Amo(3, false, rd, rs1, rs2);

    // ------------------------------------------------------------------ F and D

    public static uint Flw(int rd, int rs1, int imm) => I(0x07, rd, 2, rs1, imm);

    public static uint Fld(int rd, int rs1, int imm) => I(0x07, rd, 3, rs1, imm);

    public static uint Fsw(int rs2, int rs1, int imm) => S(0x27, 2, rs1, rs2, imm);

    public static uint Fsd(int rs2, int rs1, int imm) => S(0x27, 3, rs1, rs2, imm);

    /// <summary>An OP-FP instruction: funct7 selects the operation and format, rm the rounding mode (7 = dynamic).</summary>
    public static uint FpOp(uint funct7, int rd, int rs1, int rs2, int rm) => R(0x53, rd, rm, rs1, rs2, funct7);

    public static uint FaddD(int rd, int rs1, int rs2, int rm = 7) => FpOp(0x01, rd, rs1, rs2, rm);

    public static uint FmulD(int rd, int rs1, int rs2, int rm = 7) => FpOp(0x09, rd, rs1, rs2, rm);

    public static uint FdivD(int rd, int rs1, int rs2, int rm = 7) => FpOp(0x0d, rd, rs1, rs2, rm);

    public static uint FaddS(int rd, int rs1, int rs2, int rm = 7) => FpOp(0x00, rd, rs1, rs2, rm);

    public static uint FmaddD(int rd, int rs1, int rs2, int rs3, int rm = 7) =>
        ((uint)rs3 << 27) | (1u << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | ((uint)rm << 12) | ((uint)rd << 7) | 0x43;

    public static uint FcvtDL(int rd, int rs1, int rm = 7) => FpOp(0x69, rd, rs1, 2, rm);

    public static uint FcvtLD(int rd, int rs1, int rm = 7) => FpOp(0x61, rd, rs1, 2, rm);

    public static uint FmvDX(int rd, int rs1) => FpOp(0x79, rd, rs1, 0, 0);

    public static uint FmvXD(int rd, int rs1) => FpOp(0x71, rd, rs1, 0, 0);

    public static uint FltD(int rd, int rs1, int rs2) => FpOp(0x51, rd, rs1, rs2, 1);

    // ------------------------------------------------------------------ C (16 bits)

    private static ushort CI(int funct3, int rd, int imm6, int quadrant) =>
        (ushort)((funct3 << 13) | (((imm6 >> 5) & 1) << 12) | (rd << 7) | ((imm6 & 0x1f) << 2) | quadrant);

    private static int Prime(int register)
    {
        CheckRange(register, 8, 15);
        return register - 8;
    }

    public static ushort CAddi(int rd, int imm) { CheckRange(imm, -32, 31); return CI(0, rd, imm, 1); }

    public static ushort CAddiw(int rd, int imm) { CheckRange(imm, -32, 31); return CI(1, rd, imm, 1); }

    public static ushort CLi(int rd, int imm) { CheckRange(imm, -32, 31); return CI(2, rd, imm, 1); }

    public static ushort CLui(int rd, int imm6) { CheckRange(imm6, -32, 31); return CI(3, rd, imm6, 1); }

    public static ushort CSlli(int rd, int shamt) => CI(0, rd, shamt & 63, 2);

    public static ushort CSrli(int rdPrime, int shamt) =>
        (ushort)((4 << 13) | (((shamt >> 5) & 1) << 12) | (0 << 10) | (Prime(rdPrime) << 7) | ((shamt & 0x1f) << 2) | 1);

    public static ushort CSrai(int rdPrime, int shamt) =>
        (ushort)((4 << 13) | (((shamt >> 5) & 1) << 12) | (1 << 10) | (Prime(rdPrime) << 7) | ((shamt & 0x1f) << 2) | 1);

    public static ushort CAndi(int rdPrime, int imm)
    {
        CheckRange(imm, -32, 31);
        return (ushort)((4 << 13) | (((imm >> 5) & 1) << 12) | (2 << 10) | (Prime(rdPrime) << 7) | ((imm & 0x1f) << 2) | 1);
    }

    private static ushort CArith(int word, int funct2, int rdPrime, int rs2Prime) =>
        (ushort)((4 << 13) | (word << 12) | (3 << 10) | (Prime(rdPrime) << 7) | (funct2 << 5) | (Prime(rs2Prime) << 2) | 1);

    public static ushort CSub(int rd, int rs2) => CArith(0, 0, rd, rs2);

    public static ushort CXor(int rd, int rs2) => CArith(0, 1, rd, rs2);

    public static ushort COr(int rd, int rs2) => CArith(0, 2, rd, rs2);

    public static ushort CAnd(int rd, int rs2) => CArith(0, 3, rd, rs2);

    public static ushort CSubw(int rd, int rs2) => CArith(1, 0, rd, rs2);

    public static ushort CAddw(int rd, int rs2) => CArith(1, 1, rd, rs2);

    public static ushort CMv(int rd, int rs2) => (ushort)((4 << 13) | (rd << 7) | (rs2 << 2) | 2);

    public static ushort CAdd(int rd, int rs2) => (ushort)((4 << 13) | (1 << 12) | (rd << 7) | (rs2 << 2) | 2);

    public static ushort CJr(int rs1) => (ushort)((4 << 13) | (rs1 << 7) | 2);

    public static ushort CJ(int offset)
    {
        CheckRange(offset, -2048, 2046);
        uint u = (uint)offset;
        uint bits = (((u >> 11) & 1) << 12) | (((u >> 4) & 1) << 11) | (((u >> 8) & 3) << 9) | (((u >> 10) & 1) << 8)
            | (((u >> 6) & 1) << 7) | (((u >> 7) & 1) << 6) | (((u >> 1) & 7) << 3) | (((u >> 5) & 1) << 2);
        return (ushort)((5 << 13) | bits | 1);
    }

    private static ushort CBranch(int funct3, int rs1Prime, int offset)
    {
        CheckRange(offset, -256, 254);
        uint u = (uint)offset;
        uint bits = (((u >> 8) & 1) << 12) | (((u >> 3) & 3) << 10) | (((u >> 6) & 3) << 5) | (((u >> 1) & 3) << 3) | (((u >> 5) & 1) << 2);
        return (ushort)(((uint)funct3 << 13) | bits | ((uint)Prime(rs1Prime) << 7) | 1);
    }

    public static ushort CBeqz(int rs1, int offset) => CBranch(6, rs1, offset);

    public static ushort CBnez(int rs1, int offset) => CBranch(7, rs1, offset);

    public static ushort CLw(int rd, int rs1, int offset)
    {
        CheckRange(offset, 0, 124);
        uint u = (uint)offset;
        return (ushort)((2 << 13) | (((u >> 3) & 7) << 10) | ((uint)Prime(rs1) << 7) | (((u >> 2) & 1) << 6) | (((u >> 6) & 1) << 5) | ((uint)Prime(rd) << 2));
    }

    public static ushort CLd(int rd, int rs1, int offset)
    {
        CheckRange(offset, 0, 248);
        uint u = (uint)offset;
        return (ushort)((3 << 13) | (((u >> 3) & 7) << 10) | ((uint)Prime(rs1) << 7) | (((u >> 6) & 3) << 5) | ((uint)Prime(rd) << 2));
    }

    public static ushort CSw(int rs2, int rs1, int offset)
    {
        CheckRange(offset, 0, 124);
        uint u = (uint)offset;
        return (ushort)((6 << 13) | (((u >> 3) & 7) << 10) | ((uint)Prime(rs1) << 7) | (((u >> 2) & 1) << 6) | (((u >> 6) & 1) << 5) | ((uint)Prime(rs2) << 2));
    }

    public static ushort CSd(int rs2, int rs1, int offset)
    {
        CheckRange(offset, 0, 248);
        uint u = (uint)offset;
        return (ushort)((7 << 13) | (((u >> 3) & 7) << 10) | ((uint)Prime(rs1) << 7) | (((u >> 6) & 3) << 5) | ((uint)Prime(rs2) << 2));
    }
}
