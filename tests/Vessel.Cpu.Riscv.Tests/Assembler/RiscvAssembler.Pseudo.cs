namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>The usual pseudo-instructions (unprivileged spec, "RISC-V Assembly Programmer's Handbook").</summary>
public sealed partial class RiscvAssembler
{
    public RiscvAssembler Nop() => Addi(Reg.Zero, Reg.Zero, 0);

    public RiscvAssembler Mv(Reg rd, Reg rs) => Addi(rd, rs, 0);

    public RiscvAssembler Not(Reg rd, Reg rs) => Xori(rd, rs, -1);

    public RiscvAssembler Neg(Reg rd, Reg rs) => Sub(rd, Reg.Zero, rs);

    public RiscvAssembler SextW(Reg rd, Reg rs) => Addiw(rd, rs, 0);

    public RiscvAssembler Seqz(Reg rd, Reg rs) => Sltiu(rd, rs, 1);

    public RiscvAssembler Snez(Reg rd, Reg rs) => Sltu(rd, Reg.Zero, rs);

    public RiscvAssembler J(string label) => Jal(Reg.Zero, label);

    public RiscvAssembler J(int offset) => Jal(Reg.Zero, offset);

    public RiscvAssembler Jal(string label) => Jal(Reg.Ra, label);

    public RiscvAssembler Jr(Reg rs) => Jalr(Reg.Zero, rs, 0);

    public RiscvAssembler Ret() => Jalr(Reg.Zero, Reg.Ra, 0);

    public RiscvAssembler Beqz(Reg rs, string label) => Beq(rs, Reg.Zero, label);

    public RiscvAssembler Bnez(Reg rs, string label) => Bne(rs, Reg.Zero, label);

    public RiscvAssembler Bltz(Reg rs, string label) => Blt(rs, Reg.Zero, label);

    public RiscvAssembler Bgez(Reg rs, string label) => Bge(rs, Reg.Zero, label);

    /// <summary>An endless loop on itself: where a test program stops (the harness detects it).</summary>
    public RiscvAssembler Spin() => Jal(Reg.Zero, 0);

    /// <summary>Loads the address of <paramref name="label"/> pc-relatively (<c>auipc</c> + <c>addi</c>).</summary>
    public RiscvAssembler La(Reg rd, string label)
    {
        _fixups.Add(new Fixup(FixupKind.PcRelativePair, _bytes.Count, label) { Rd = (int)rd, Rd2 = (int)rd, Opcode = OpImm, Funct3 = 0 });
        Emit32(0);
        return Emit32(0);
    }

    /// <summary>Loads any 64-bit constant into <paramref name="rd"/> with lui/addiw/slli/addi (1 to 8 instructions).</summary>
    public RiscvAssembler Li(Reg rd, long value)
    {
        if (value is >= -2048 and <= 2047)
        {
            return Addi(rd, Reg.Zero, (int)value);
        }

        if (value is >= int.MinValue and <= int.MaxValue)
        {
            int lower = (int)(value << 52 >> 52);
            int upper = (int)(((value - lower) >> 12) & 0xfffff);
            Lui(rd, upper);
            return lower != 0 ? Addiw(rd, rd, lower) : this;
        }

        // value = (high << shift) + lower, with high loaded recursively.
        int low12 = (int)(value << 52 >> 52);
        long high = (value - low12) >> 12;
        int shift = 12 + System.Numerics.BitOperations.TrailingZeroCount((ulong)high);
        high >>= shift - 12;
        Li(rd, high);
        Slli(rd, rd, shift);
        return low12 != 0 ? Addi(rd, rd, low12) : this;
    }

    public RiscvAssembler Li(Reg rd, ulong value) => Li(rd, (long)value);

    // CSR shorthands.
    public RiscvAssembler Csrr(Reg rd, ushort csr) => Csrrs(rd, csr, Reg.Zero);

    public RiscvAssembler Csrw(ushort csr, Reg rs) => Csrrw(Reg.Zero, csr, rs);

    public RiscvAssembler Csrs(ushort csr, Reg rs) => Csrrs(Reg.Zero, csr, rs);

    public RiscvAssembler Csrc(ushort csr, Reg rs) => Csrrc(Reg.Zero, csr, rs);

    public RiscvAssembler Csrwi(ushort csr, int uimm) => Csrrwi(Reg.Zero, csr, uimm);

    public RiscvAssembler Csrsi(ushort csr, int uimm) => Csrrsi(Reg.Zero, csr, uimm);

    public RiscvAssembler Csrci(ushort csr, int uimm) => Csrrci(Reg.Zero, csr, uimm);

    // FP register moves.
    public RiscvAssembler FmvS(FReg rd, FReg rs) => FsgnjS(rd, rs, rs);

    public RiscvAssembler FnegS(FReg rd, FReg rs) => FsgnjnS(rd, rs, rs);

    public RiscvAssembler FabsS(FReg rd, FReg rs) => FsgnjxS(rd, rs, rs);

    public RiscvAssembler FmvD(FReg rd, FReg rs) => FsgnjD(rd, rs, rs);

    public RiscvAssembler FnegD(FReg rd, FReg rs) => FsgnjnD(rd, rs, rs);

    public RiscvAssembler FabsD(FReg rd, FReg rs) => FsgnjxD(rd, rs, rs);
}
