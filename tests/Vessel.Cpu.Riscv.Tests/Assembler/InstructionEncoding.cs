namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// The RISC-V instruction formats (unprivileged spec, "Base Instruction Formats" and
/// "Compressed Instruction Formats"): pure functions from fields to instruction bits. Every
/// immediate is range- and alignment-checked, so a test cannot silently encode something other
/// than what it asked for.
/// </summary>
public static class InstructionEncoding
{
    // ------------------------------------------------------------------ 32-bit formats

    public static uint R(uint opcode, uint funct3, uint funct7, int rd, int rs1, int rs2) =>
        (funct7 << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | (funct3 << 12) | ((uint)rd << 7) | opcode;

    public static uint R4(uint opcode, uint funct3, uint fmt, int rd, int rs1, int rs2, int rs3) =>
        ((uint)rs3 << 27) | (fmt << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | (funct3 << 12) | ((uint)rd << 7) | opcode;

    public static uint I(uint opcode, uint funct3, int rd, int rs1, int imm)
    {
        CheckSigned(imm, 12, "I-type immediate");
        return ((uint)imm << 20) | ((uint)rs1 << 15) | (funct3 << 12) | ((uint)rd << 7) | opcode;
    }

    public static uint S(uint opcode, uint funct3, int rs1, int rs2, int imm)
    {
        CheckSigned(imm, 12, "S-type immediate");
        uint u = (uint)imm;
        return (((u >> 5) & 0x7f) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | (funct3 << 12) | ((u & 0x1f) << 7) | opcode;
    }

    public static uint B(uint funct3, int rs1, int rs2, int offset)
    {
        CheckSigned(offset, 13, "branch offset");
        CheckAligned(offset, 2, "branch offset");
        uint u = (uint)offset;
        return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15)
            | (funct3 << 12) | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
    }

    /// <summary>U-type: <paramref name="upper20"/> is the 20-bit field (0..0xfffff, or negative as two's complement).</summary>
    public static uint U(uint opcode, int rd, int upper20)
    {
        if (upper20 < -(1 << 19) || upper20 > (1 << 20) - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(upper20), upper20, "U-type immediate must fit in 20 bits");
        }

        return (((uint)upper20 & 0xfffff) << 12) | ((uint)rd << 7) | opcode;
    }

    public static uint J(int rd, int offset)
    {
        CheckSigned(offset, 21, "jump offset");
        CheckAligned(offset, 2, "jump offset");
        uint u = (uint)offset;
        return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20)
            | (((u >> 12) & 0xff) << 12) | ((uint)rd << 7) | 0x6f;
    }

    public static uint Amo(uint funct5, uint funct3, bool aq, bool rl, int rd, int rs1, int rs2) =>
        (funct5 << 27) | ((aq ? 1u : 0u) << 26) | ((rl ? 1u : 0u) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15)
        | (funct3 << 12) | ((uint)rd << 7) | 0x2f;

    public static uint Csr(uint funct3, int rd, int csr, int rs1OrUimm)
    {
        if ((uint)csr > 0xfff)
        {
            throw new ArgumentOutOfRangeException(nameof(csr), csr, "CSR numbers have 12 bits");
        }

        if ((uint)rs1OrUimm > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(rs1OrUimm), rs1OrUimm, "the rs1/uimm field has 5 bits");
        }

        return ((uint)csr << 20) | ((uint)rs1OrUimm << 15) | (funct3 << 12) | ((uint)rd << 7) | 0x73;
    }

    // ------------------------------------------------------------------ compressed formats

    /// <summary>The 3-bit register field of CIW/CL/CS/CA/CB formats (x8..x15 or f8..f15).</summary>
    public static uint Prime(int register)
    {
        if (register is < 8 or > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(register), register, "compressed 3-bit register fields reach only x8..x15 / f8..f15");
        }

        return (uint)(register - 8);
    }

    /// <summary>CR: funct4 | rd/rs1 | rs2 | op.</summary>
    public static ushort CR(uint funct4, int rdRs1, int rs2, uint op) =>
        (ushort)((funct4 << 12) | ((uint)rdRs1 << 7) | ((uint)rs2 << 2) | op);

    /// <summary>CI with the usual 6-bit immediate split imm[5] at bit 12 and imm[4:0] at bits 6:2.</summary>
    public static ushort CI(uint funct3, int rdRs1, uint imm6, uint op) =>
        (ushort)((funct3 << 13) | (((imm6 >> 5) & 1) << 12) | ((uint)rdRs1 << 7) | ((imm6 & 0x1f) << 2) | op);

    /// <summary>CB/CJ and other compressed forms whose fields the caller assembles: funct3 | bits 12:2 | op.</summary>
    public static ushort C(uint funct3, uint bits12To2, uint op) => (ushort)((funct3 << 13) | ((bits12To2 & 0x7ff) << 2) | op);

    // ------------------------------------------------------------------ operand checks

    public static void CheckSigned(long value, int bits, string what)
    {
        long min = -(1L << (bits - 1)), max = (1L << (bits - 1)) - 1;
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(what, value, $"{what} must be in [{min}, {max}]");
        }
    }

    public static void CheckUnsigned(long value, int bits, string what)
    {
        if (value < 0 || value > (1L << bits) - 1)
        {
            throw new ArgumentOutOfRangeException(what, value, $"{what} must be in [0, {(1L << bits) - 1}]");
        }
    }

    public static void CheckAligned(long value, int alignment, string what)
    {
        if (value % alignment != 0)
        {
            throw new ArgumentOutOfRangeException(what, value, $"{what} must be a multiple of {alignment}");
        }
    }

    public static void CheckNonZero(long value, string what)
    {
        if (value == 0)
        {
            throw new ArgumentOutOfRangeException(what, value, $"{what} must not be zero (that encoding is reserved or a different instruction)");
        }
    }
}
