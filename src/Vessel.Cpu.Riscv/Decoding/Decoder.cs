namespace Vessel.Cpu.Riscv.Decoding;

/// <summary>
/// Decodes RV64GC instruction bits into <see cref="Instruction"/>s. Pure functions of the bits:
/// whether an instruction is allowed in the current privilege mode or FP state is checked when
/// it executes, so a decoded instruction can be cached per physical page.
/// </summary>
public static class Decoder
{
    /// <summary>Decodes one instruction; <paramref name="bits"/> holds 16 or 32 valid bits.</summary>
    public static Instruction Decode(uint bits)
    {
        return (bits & 3) == 3 ? Decode32(bits) : DecodeCompressed((ushort)bits);
    }

    /// <summary>Length in bytes of the instruction whose low 16 bits are <paramref name="low"/>.</summary>
    public static int LengthOf(ushort low) => (low & 3) == 3 ? 4 : 2;

    private static byte IntRd(uint r) => r == 0 ? Instruction.ZeroSink : (byte)r;

    private static Instruction Make(Opcode op, uint raw, uint rd = 0, uint rs1 = 0, uint rs2 = 0, int imm = 0, int length = 4)
        => new() { Op = op, Rd = (byte)rd, Rs1 = (byte)rs1, Rs2 = (byte)rs2, Imm = imm, Raw = raw, Length = (byte)length };

    private static Instruction IllegalOf(uint raw, int length) => new() { Op = Opcode.Illegal, Raw = raw, Length = (byte)length };

    // ---------------------------------------------------------------- 32-bit instructions

    private static int ImmI(uint i) => (int)i >> 20;

    private static int ImmS(uint i) => ((int)i >> 25 << 5) | (int)((i >> 7) & 0x1f);

    private static int ImmB(uint i) =>
        ((int)i >> 31 << 12) | (int)((i >> 7) & 1) << 11 | (int)((i >> 25) & 0x3f) << 5 | (int)((i >> 8) & 0xf) << 1;

    private static int ImmU(uint i) => (int)(i & 0xfffff000);

    private static int ImmJ(uint i) =>
        ((int)i >> 31 << 20) | (int)((i >> 12) & 0xff) << 12 | (int)((i >> 20) & 1) << 11 | (int)((i >> 21) & 0x3ff) << 1;

    private static Instruction Decode32(uint i)
    {
        uint rd = (i >> 7) & 0x1f;
        uint funct3 = (i >> 12) & 7;
        uint rs1 = (i >> 15) & 0x1f;
        uint rs2 = (i >> 20) & 0x1f;
        uint funct7 = i >> 25;

        switch (i & 0x7f)
        {
            case 0x37:
                return Make(Opcode.Lui, i, IntRd(rd), imm: ImmU(i));
            case 0x17:
                return Make(Opcode.Auipc, i, IntRd(rd), imm: ImmU(i));
            case 0x6f:
                return Make(Opcode.Jal, i, IntRd(rd), imm: ImmJ(i));
            case 0x67:
                return funct3 == 0 ? Make(Opcode.Jalr, i, IntRd(rd), rs1, imm: ImmI(i)) : IllegalOf(i, 4);

            case 0x63:
            {
                Opcode op = funct3 switch
                {
                    0 => Opcode.Beq,
                    1 => Opcode.Bne,
                    4 => Opcode.Blt,
                    5 => Opcode.Bge,
                    6 => Opcode.Bltu,
                    7 => Opcode.Bgeu,
                    _ => Opcode.Illegal,
                };
                return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, 0, rs1, rs2, ImmB(i));
            }

            case 0x03:
            {
                Opcode op = funct3 switch
                {
                    0 => Opcode.Lb,
                    1 => Opcode.Lh,
                    2 => Opcode.Lw,
                    3 => Opcode.Ld,
                    4 => Opcode.Lbu,
                    5 => Opcode.Lhu,
                    6 => Opcode.Lwu,
                    _ => Opcode.Illegal,
                };
                return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, IntRd(rd), rs1, imm: ImmI(i));
            }

            case 0x23:
            {
                Opcode op = funct3 switch
                {
                    0 => Opcode.Sb,
                    1 => Opcode.Sh,
                    2 => Opcode.Sw,
                    3 => Opcode.Sd,
                    _ => Opcode.Illegal,
                };
                return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, 0, rs1, rs2, ImmS(i));
            }

            case 0x13:
                return DecodeOpImm(i, rd, funct3, rs1);
            case 0x1b:
                return DecodeOpImm32(i, rd, funct3, rs1);
            case 0x33:
                return DecodeOp(i, rd, funct3, rs1, rs2, funct7);
            case 0x3b:
                return DecodeOp32(i, rd, funct3, rs1, rs2, funct7);

            case 0x0f:
                return funct3 switch
                {
                    0 => Make(Opcode.Fence, i),
                    1 => Make(Opcode.FenceI, i),
                    _ => IllegalOf(i, 4),
                };

            case 0x73:
                return DecodeSystem(i, rd, funct3, rs1, rs2, funct7);

            case 0x2f:
                return DecodeAmo(i, rd, funct3, rs1, rs2);

            case 0x07:
                return funct3 switch
                {
                    2 => Make(Opcode.Flw, i, rd, rs1, imm: ImmI(i)),
                    3 => Make(Opcode.Fld, i, rd, rs1, imm: ImmI(i)),
                    _ => IllegalOf(i, 4),
                };

            case 0x27:
                return funct3 switch
                {
                    2 => Make(Opcode.Fsw, i, 0, rs1, rs2, ImmS(i)),
                    3 => Make(Opcode.Fsd, i, 0, rs1, rs2, ImmS(i)),
                    _ => IllegalOf(i, 4),
                };

            case 0x43:
            case 0x47:
            case 0x4b:
            case 0x4f:
                return DecodeFusedMultiplyAdd(i, rd, funct3, rs1, rs2);

            case 0x53:
                return DecodeOpFp(i, rd, funct3, rs1, rs2, funct7);

            default:
                return IllegalOf(i, 4);
        }
    }

    private static Instruction DecodeOpImm(uint i, uint rd, uint funct3, uint rs1)
    {
        int imm = ImmI(i);
        switch (funct3)
        {
            case 0: return Make(Opcode.Addi, i, IntRd(rd), rs1, imm: imm);
            case 2: return Make(Opcode.Slti, i, IntRd(rd), rs1, imm: imm);
            case 3: return Make(Opcode.Sltiu, i, IntRd(rd), rs1, imm: imm);
            case 4: return Make(Opcode.Xori, i, IntRd(rd), rs1, imm: imm);
            case 6: return Make(Opcode.Ori, i, IntRd(rd), rs1, imm: imm);
            case 7: return Make(Opcode.Andi, i, IntRd(rd), rs1, imm: imm);
            case 1:
                return (i >> 26) == 0 ? Make(Opcode.Slli, i, IntRd(rd), rs1, imm: (int)((i >> 20) & 0x3f)) : IllegalOf(i, 4);
            case 5:
                return (i >> 26) switch
                {
                    0 => Make(Opcode.Srli, i, IntRd(rd), rs1, imm: (int)((i >> 20) & 0x3f)),
                    0x10 => Make(Opcode.Srai, i, IntRd(rd), rs1, imm: (int)((i >> 20) & 0x3f)),
                    _ => IllegalOf(i, 4),
                };
            default:
                return IllegalOf(i, 4);
        }
    }

    private static Instruction DecodeOpImm32(uint i, uint rd, uint funct3, uint rs1)
    {
        uint funct7 = i >> 25;
        uint shamt = (i >> 20) & 0x1f;
        return funct3 switch
        {
            0 => Make(Opcode.Addiw, i, IntRd(rd), rs1, imm: ImmI(i)),
            1 when funct7 == 0 => Make(Opcode.Slliw, i, IntRd(rd), rs1, imm: (int)shamt),
            5 when funct7 == 0 => Make(Opcode.Srliw, i, IntRd(rd), rs1, imm: (int)shamt),
            5 when funct7 == 0x20 => Make(Opcode.Sraiw, i, IntRd(rd), rs1, imm: (int)shamt),
            _ => IllegalOf(i, 4),
        };
    }

    private static Instruction DecodeOp(uint i, uint rd, uint funct3, uint rs1, uint rs2, uint funct7)
    {
        Opcode op = (funct7, funct3) switch
        {
            (0, 0) => Opcode.Add,
            (0x20, 0) => Opcode.Sub,
            (0, 1) => Opcode.Sll,
            (0, 2) => Opcode.Slt,
            (0, 3) => Opcode.Sltu,
            (0, 4) => Opcode.Xor,
            (0, 5) => Opcode.Srl,
            (0x20, 5) => Opcode.Sra,
            (0, 6) => Opcode.Or,
            (0, 7) => Opcode.And,
            (1, 0) => Opcode.Mul,
            (1, 1) => Opcode.Mulh,
            (1, 2) => Opcode.Mulhsu,
            (1, 3) => Opcode.Mulhu,
            (1, 4) => Opcode.Div,
            (1, 5) => Opcode.Divu,
            (1, 6) => Opcode.Rem,
            (1, 7) => Opcode.Remu,
            _ => Opcode.Illegal,
        };
        return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, IntRd(rd), rs1, rs2);
    }

    private static Instruction DecodeOp32(uint i, uint rd, uint funct3, uint rs1, uint rs2, uint funct7)
    {
        Opcode op = (funct7, funct3) switch
        {
            (0, 0) => Opcode.Addw,
            (0x20, 0) => Opcode.Subw,
            (0, 1) => Opcode.Sllw,
            (0, 5) => Opcode.Srlw,
            (0x20, 5) => Opcode.Sraw,
            (1, 0) => Opcode.Mulw,
            (1, 4) => Opcode.Divw,
            (1, 5) => Opcode.Divuw,
            (1, 6) => Opcode.Remw,
            (1, 7) => Opcode.Remuw,
            _ => Opcode.Illegal,
        };
        return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, IntRd(rd), rs1, rs2);
    }

    private static Instruction DecodeSystem(uint i, uint rd, uint funct3, uint rs1, uint rs2, uint funct7)
    {
        if (funct3 == 0)
        {
            if (funct7 == 0x09 && rd == 0)
            {
                return Make(Opcode.SfenceVma, i, 0, rs1, rs2);
            }

            if (rd != 0 || rs1 != 0)
            {
                return IllegalOf(i, 4);
            }

            return (i >> 20) switch
            {
                0x000 => Make(Opcode.Ecall, i),
                0x001 => Make(Opcode.Ebreak, i),
                0x102 => Make(Opcode.Sret, i),
                0x302 => Make(Opcode.Mret, i),
                0x105 => Make(Opcode.Wfi, i),
                _ => IllegalOf(i, 4),
            };
        }

        int csr = (int)(i >> 20);
        return funct3 switch
        {
            1 => Make(Opcode.Csrrw, i, IntRd(rd), rs1, imm: csr),
            2 => Make(Opcode.Csrrs, i, IntRd(rd), rs1, imm: csr),
            3 => Make(Opcode.Csrrc, i, IntRd(rd), rs1, imm: csr),
            5 => Make(Opcode.Csrrwi, i, IntRd(rd), rs1, imm: csr),
            6 => Make(Opcode.Csrrsi, i, IntRd(rd), rs1, imm: csr),
            7 => Make(Opcode.Csrrci, i, IntRd(rd), rs1, imm: csr),
            _ => IllegalOf(i, 4),
        };
    }

    private static Instruction DecodeAmo(uint i, uint rd, uint funct3, uint rs1, uint rs2)
    {
        bool doubleword;
        if (funct3 == 2)
        {
            doubleword = false;
        }
        else if (funct3 == 3)
        {
            doubleword = true;
        }
        else
        {
            return IllegalOf(i, 4);
        }

        uint funct5 = i >> 27;
        Opcode op = funct5 switch
        {
            0x02 when rs2 == 0 => doubleword ? Opcode.LrD : Opcode.LrW,
            0x03 => doubleword ? Opcode.ScD : Opcode.ScW,
            0x01 => doubleword ? Opcode.AmoSwapD : Opcode.AmoSwapW,
            0x00 => doubleword ? Opcode.AmoAddD : Opcode.AmoAddW,
            0x04 => doubleword ? Opcode.AmoXorD : Opcode.AmoXorW,
            0x0c => doubleword ? Opcode.AmoAndD : Opcode.AmoAndW,
            0x08 => doubleword ? Opcode.AmoOrD : Opcode.AmoOrW,
            0x10 => doubleword ? Opcode.AmoMinD : Opcode.AmoMinW,
            0x14 => doubleword ? Opcode.AmoMaxD : Opcode.AmoMaxW,
            0x18 => doubleword ? Opcode.AmoMinuD : Opcode.AmoMinuW,
            0x1c => doubleword ? Opcode.AmoMaxuD : Opcode.AmoMaxuW,
            _ => Opcode.Illegal,
        };
        return op == Opcode.Illegal ? IllegalOf(i, 4) : Make(op, i, IntRd(rd), rs1, rs2);
    }

    private static Instruction DecodeFusedMultiplyAdd(uint i, uint rd, uint funct3, uint rs1, uint rs2)
    {
        uint fmt = (i >> 25) & 3;
        if (fmt > 1)
        {
            return IllegalOf(i, 4);
        }

        bool isDouble = fmt == 1;
        Opcode op = (i & 0x7f) switch
        {
            0x43 => isDouble ? Opcode.FmaddD : Opcode.FmaddS,
            0x47 => isDouble ? Opcode.FmsubD : Opcode.FmsubS,
            0x4b => isDouble ? Opcode.FnmsubD : Opcode.FnmsubS,
            _ => isDouble ? Opcode.FnmaddD : Opcode.FnmaddS,
        };
        Instruction result = Make(op, i, rd, rs1, rs2);
        result.Rs3 = (byte)(i >> 27);
        result.Rm = (byte)funct3;
        return result;
    }

    private static Instruction DecodeOpFp(uint i, uint rd, uint funct3, uint rs1, uint rs2, uint funct7)
    {
        // Destination kind: most write an FP register; compares, classify, moves to integer
        // and conversions to integer write an integer register (x0 goes to the sink).
        Opcode op;
        bool intDestination = false;
        bool usesRm = false;
        switch (funct7)
        {
            case 0x00: op = Opcode.FaddS; usesRm = true; break;
            case 0x01: op = Opcode.FaddD; usesRm = true; break;
            case 0x04: op = Opcode.FsubS; usesRm = true; break;
            case 0x05: op = Opcode.FsubD; usesRm = true; break;
            case 0x08: op = Opcode.FmulS; usesRm = true; break;
            case 0x09: op = Opcode.FmulD; usesRm = true; break;
            case 0x0c: op = Opcode.FdivS; usesRm = true; break;
            case 0x0d: op = Opcode.FdivD; usesRm = true; break;
            case 0x2c: op = rs2 == 0 ? Opcode.FsqrtS : Opcode.Illegal; usesRm = true; break;
            case 0x2d: op = rs2 == 0 ? Opcode.FsqrtD : Opcode.Illegal; usesRm = true; break;
            case 0x10:
                op = funct3 switch { 0 => Opcode.FsgnjS, 1 => Opcode.FsgnjnS, 2 => Opcode.FsgnjxS, _ => Opcode.Illegal };
                break;
            case 0x11:
                op = funct3 switch { 0 => Opcode.FsgnjD, 1 => Opcode.FsgnjnD, 2 => Opcode.FsgnjxD, _ => Opcode.Illegal };
                break;
            case 0x14:
                op = funct3 switch { 0 => Opcode.FminS, 1 => Opcode.FmaxS, _ => Opcode.Illegal };
                break;
            case 0x15:
                op = funct3 switch { 0 => Opcode.FminD, 1 => Opcode.FmaxD, _ => Opcode.Illegal };
                break;
            case 0x20: op = rs2 == 1 ? Opcode.FcvtSD : Opcode.Illegal; usesRm = true; break;
            case 0x21: op = rs2 == 0 ? Opcode.FcvtDS : Opcode.Illegal; usesRm = true; break;
            case 0x50:
                op = funct3 switch { 0 => Opcode.FleS, 1 => Opcode.FltS, 2 => Opcode.FeqS, _ => Opcode.Illegal };
                intDestination = true;
                break;
            case 0x51:
                op = funct3 switch { 0 => Opcode.FleD, 1 => Opcode.FltD, 2 => Opcode.FeqD, _ => Opcode.Illegal };
                intDestination = true;
                break;
            case 0x60:
                op = rs2 switch { 0 => Opcode.FcvtWS, 1 => Opcode.FcvtWuS, 2 => Opcode.FcvtLS, 3 => Opcode.FcvtLuS, _ => Opcode.Illegal };
                intDestination = true;
                usesRm = true;
                break;
            case 0x61:
                op = rs2 switch { 0 => Opcode.FcvtWD, 1 => Opcode.FcvtWuD, 2 => Opcode.FcvtLD, 3 => Opcode.FcvtLuD, _ => Opcode.Illegal };
                intDestination = true;
                usesRm = true;
                break;
            case 0x68:
                op = rs2 switch { 0 => Opcode.FcvtSW, 1 => Opcode.FcvtSWu, 2 => Opcode.FcvtSL, 3 => Opcode.FcvtSLu, _ => Opcode.Illegal };
                usesRm = true;
                break;
            case 0x69:
                op = rs2 switch { 0 => Opcode.FcvtDW, 1 => Opcode.FcvtDWu, 2 => Opcode.FcvtDL, 3 => Opcode.FcvtDLu, _ => Opcode.Illegal };
                usesRm = true;
                break;
            case 0x70:
                op = rs2 != 0 ? Opcode.Illegal : funct3 switch { 0 => Opcode.FmvXW, 1 => Opcode.FclassS, _ => Opcode.Illegal };
                intDestination = true;
                break;
            case 0x71:
                op = rs2 != 0 ? Opcode.Illegal : funct3 switch { 0 => Opcode.FmvXD, 1 => Opcode.FclassD, _ => Opcode.Illegal };
                intDestination = true;
                break;
            case 0x78: op = rs2 == 0 && funct3 == 0 ? Opcode.FmvWX : Opcode.Illegal; break;
            case 0x79: op = rs2 == 0 && funct3 == 0 ? Opcode.FmvDX : Opcode.Illegal; break;
            default: op = Opcode.Illegal; break;
        }

        if (op == Opcode.Illegal)
        {
            return IllegalOf(i, 4);
        }

        Instruction result = Make(op, i, intDestination ? IntRd(rd) : rd, rs1, rs2);
        result.Rm = usesRm ? (byte)funct3 : (byte)0;
        return result;
    }

    // ---------------------------------------------------------------- compressed (RVC)

    private static uint Bit(uint value, int bit) => (value >> bit) & 1;

    private static uint Bits(uint value, int high, int low) => (value >> low) & ((1u << (high - low + 1)) - 1);

    private static int SignExtend(uint value, int bits) => (int)(value << (32 - bits)) >> (32 - bits);

    private static Instruction DecodeCompressed(ushort half)
    {
        uint c = half;
        uint funct3 = c >> 13;
        uint rdFull = Bits(c, 11, 7);
        uint rs2Full = Bits(c, 6, 2);
        uint rdPrime = Bits(c, 4, 2) + 8;
        uint rs1Prime = Bits(c, 9, 7) + 8;

        switch (c & 3)
        {
            case 0:
                switch (funct3)
                {
                    case 0:
                    {
                        uint imm = (Bits(c, 12, 11) << 4) | (Bits(c, 10, 7) << 6) | (Bit(c, 6) << 2) | (Bit(c, 5) << 3);
                        return imm == 0 ? IllegalOf(c, 2) : Make(Opcode.Addi, c, rdPrime, 2, imm: (int)imm, length: 2);
                    }

                    case 1:
                        return Make(Opcode.Fld, c, rdPrime, rs1Prime, imm: (int)((Bits(c, 12, 10) << 3) | (Bits(c, 6, 5) << 6)), length: 2);
                    case 2:
                        return Make(Opcode.Lw, c, rdPrime, rs1Prime, imm: (int)((Bits(c, 12, 10) << 3) | (Bit(c, 6) << 2) | (Bit(c, 5) << 6)), length: 2);
                    case 3:
                        return Make(Opcode.Ld, c, rdPrime, rs1Prime, imm: (int)((Bits(c, 12, 10) << 3) | (Bits(c, 6, 5) << 6)), length: 2);
                    case 5:
                        return Make(Opcode.Fsd, c, 0, rs1Prime, rdPrime, (int)((Bits(c, 12, 10) << 3) | (Bits(c, 6, 5) << 6)), 2);
                    case 6:
                        return Make(Opcode.Sw, c, 0, rs1Prime, rdPrime, (int)((Bits(c, 12, 10) << 3) | (Bit(c, 6) << 2) | (Bit(c, 5) << 6)), 2);
                    case 7:
                        return Make(Opcode.Sd, c, 0, rs1Prime, rdPrime, (int)((Bits(c, 12, 10) << 3) | (Bits(c, 6, 5) << 6)), 2);
                    default:
                        return IllegalOf(c, 2);
                }

            case 1:
                switch (funct3)
                {
                    case 0:
                    {
                        int imm = SignExtend((Bit(c, 12) << 5) | Bits(c, 6, 2), 6);
                        return Make(Opcode.Addi, c, IntRd(rdFull), rdFull, imm: imm, length: 2);
                    }

                    case 1:
                    {
                        if (rdFull == 0)
                        {
                            return IllegalOf(c, 2);
                        }

                        int imm = SignExtend((Bit(c, 12) << 5) | Bits(c, 6, 2), 6);
                        return Make(Opcode.Addiw, c, rdFull, rdFull, imm: imm, length: 2);
                    }

                    case 2:
                    {
                        int imm = SignExtend((Bit(c, 12) << 5) | Bits(c, 6, 2), 6);
                        return Make(Opcode.Addi, c, IntRd(rdFull), 0, imm: imm, length: 2);
                    }

                    case 3:
                    {
                        if (rdFull == 2)
                        {
                            uint raw = (Bit(c, 12) << 9) | (Bit(c, 6) << 4) | (Bit(c, 5) << 6) | (Bits(c, 4, 3) << 7) | (Bit(c, 2) << 5);
                            return raw == 0 ? IllegalOf(c, 2) : Make(Opcode.Addi, c, 2, 2, imm: SignExtend(raw, 10), length: 2);
                        }

                        uint luiRaw = (Bit(c, 12) << 17) | (Bits(c, 6, 2) << 12);
                        return luiRaw == 0 ? IllegalOf(c, 2) : Make(Opcode.Lui, c, IntRd(rdFull), imm: SignExtend(luiRaw, 18), length: 2);
                    }

                    case 4:
                        return DecodeCompressedArithmetic(c, rs1Prime, rdPrime);

                    case 5:
                        return Make(Opcode.Jal, c, Instruction.ZeroSink, imm: CompressedJumpOffset(c), length: 2);

                    case 6:
                    case 7:
                    {
                        uint raw = (Bit(c, 12) << 8) | (Bits(c, 11, 10) << 3) | (Bits(c, 6, 5) << 6) | (Bits(c, 4, 3) << 1) | (Bit(c, 2) << 5);
                        return Make(funct3 == 6 ? Opcode.Beq : Opcode.Bne, c, 0, rs1Prime, 0, SignExtend(raw, 9), 2);
                    }

                    default:
                        return IllegalOf(c, 2);
                }

            case 2:
                switch (funct3)
                {
                    case 0:
                        return Make(Opcode.Slli, c, IntRd(rdFull), rdFull, imm: (int)((Bit(c, 12) << 5) | Bits(c, 6, 2)), length: 2);
                    case 1:
                        return Make(Opcode.Fld, c, rdFull, 2, imm: (int)((Bit(c, 12) << 5) | (Bits(c, 6, 5) << 3) | (Bits(c, 4, 2) << 6)), length: 2);
                    case 2:
                        return rdFull == 0
                            ? IllegalOf(c, 2)
                            : Make(Opcode.Lw, c, rdFull, 2, imm: (int)((Bit(c, 12) << 5) | (Bits(c, 6, 4) << 2) | (Bits(c, 3, 2) << 6)), length: 2);
                    case 3:
                        return rdFull == 0
                            ? IllegalOf(c, 2)
                            : Make(Opcode.Ld, c, rdFull, 2, imm: (int)((Bit(c, 12) << 5) | (Bits(c, 6, 5) << 3) | (Bits(c, 4, 2) << 6)), length: 2);
                    case 4:
                        if (Bit(c, 12) == 0)
                        {
                            if (rs2Full == 0)
                            {
                                return rdFull == 0 ? IllegalOf(c, 2) : Make(Opcode.Jalr, c, Instruction.ZeroSink, rdFull, length: 2);
                            }

                            return Make(Opcode.Add, c, IntRd(rdFull), 0, rs2Full, length: 2);
                        }

                        if (rdFull == 0 && rs2Full == 0)
                        {
                            return Make(Opcode.Ebreak, c, length: 2);
                        }

                        if (rs2Full == 0)
                        {
                            return Make(Opcode.Jalr, c, 1, rdFull, length: 2);
                        }

                        return Make(Opcode.Add, c, IntRd(rdFull), rdFull, rs2Full, length: 2);
                    case 5:
                        return Make(Opcode.Fsd, c, 0, 2, rs2Full, (int)((Bits(c, 12, 10) << 3) | (Bits(c, 9, 7) << 6)), 2);
                    case 6:
                        return Make(Opcode.Sw, c, 0, 2, rs2Full, (int)((Bits(c, 12, 9) << 2) | (Bits(c, 8, 7) << 6)), 2);
                    case 7:
                        return Make(Opcode.Sd, c, 0, 2, rs2Full, (int)((Bits(c, 12, 10) << 3) | (Bits(c, 9, 7) << 6)), 2);
                    default:
                        return IllegalOf(c, 2);
                }

            default:
                return IllegalOf(c, 2);
        }
    }

    private static Instruction DecodeCompressedArithmetic(uint c, uint rs1Prime, uint rs2Prime)
    {
        switch (Bits(c, 11, 10))
        {
            case 0:
                return Make(Opcode.Srli, c, rs1Prime, rs1Prime, imm: (int)((Bit(c, 12) << 5) | Bits(c, 6, 2)), length: 2);
            case 1:
                return Make(Opcode.Srai, c, rs1Prime, rs1Prime, imm: (int)((Bit(c, 12) << 5) | Bits(c, 6, 2)), length: 2);
            case 2:
                return Make(Opcode.Andi, c, rs1Prime, rs1Prime, imm: SignExtend((Bit(c, 12) << 5) | Bits(c, 6, 2), 6), length: 2);
        }

        Opcode op = (Bit(c, 12), Bits(c, 6, 5)) switch
        {
            (0, 0) => Opcode.Sub,
            (0, 1) => Opcode.Xor,
            (0, 2) => Opcode.Or,
            (0, 3) => Opcode.And,
            (1, 0) => Opcode.Subw,
            (1, 1) => Opcode.Addw,
            _ => Opcode.Illegal,
        };
        return op == Opcode.Illegal ? IllegalOf(c, 2) : Make(op, c, rs1Prime, rs1Prime, rs2Prime, length: 2);
    }

    private static int CompressedJumpOffset(uint c)
    {
        uint raw = (Bit(c, 12) << 11) | (Bit(c, 11) << 4) | (Bits(c, 10, 9) << 8) | (Bit(c, 8) << 10)
            | (Bit(c, 7) << 6) | (Bit(c, 6) << 7) | (Bits(c, 5, 3) << 1) | (Bit(c, 2) << 5);
        return SignExtend(raw, 12);
    }
}
