using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.FReg;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// The C extension: every compressed instruction must have exactly the effect of the 32-bit
/// instruction it expands to (spec, "RVC Instruction Set Listings"), which is checked by running
/// both from the same random register state and comparing all registers and memory; and the
/// reserved encodings must raise an illegal-instruction exception that reports their 16 bits.
/// </summary>
public sealed class CompressedInstructionTests
{
    private const ulong Code = TestMachine.RamBase + 0x4000;
    private const ulong Prologue = Code + 0x2000;
    private const ulong SavedT0 = Prologue + 0x800;
    private const ulong Data = TestMachine.RamBase + 0x10_0000;
    private const int DataSize = 1024;

    private sealed record Pair(string Name, Action<RiscvAssembler> Compressed, Action<RiscvAssembler> Expanded);

    [Fact]
    public void EachCompressedFormHasTheEffectOfItsExpansion()
    {
        var random = new Random(0xc0de);
        using var machine = new TestMachine();
        var failures = new List<string>();
        int compared = 0;
        for (int round = 0; round < 20; round++)
        {
            foreach (Pair pair in Pairs(random))
            {
                ulong[] registers = RandomRegisters(random);
                byte[] data = new byte[DataSize];
                random.NextBytes(data);
                (ulong[] X, ulong[] F, byte[] Memory, ulong Pc) compressed = Execute(machine, pair.Compressed, registers, data, compressedLength: true);
                (ulong[] X, ulong[] F, byte[] Memory, ulong Pc) expanded = Execute(machine, pair.Expanded, registers, data, compressedLength: false);
                compared++;
                for (int r = 0; r < 32; r++)
                {
                    if (compressed.X[r] != expanded.X[r])
                    {
                        failures.Add($"{pair.Name}: x{r} is 0x{compressed.X[r]:x}, the expansion gives 0x{expanded.X[r]:x}");
                    }

                    if (compressed.F[r] != expanded.F[r])
                    {
                        failures.Add($"{pair.Name}: f{r} is 0x{compressed.F[r]:x}, the expansion gives 0x{expanded.F[r]:x}");
                    }
                }

                if (!compressed.Memory.AsSpan().SequenceEqual(expanded.Memory))
                {
                    failures.Add($"{pair.Name}: memory differs from the expansion's");
                }

                if (compressed.Pc != expanded.Pc)
                {
                    failures.Add($"{pair.Name}: stops at 0x{compressed.Pc:x}, the expansion at 0x{expanded.Pc:x}");
                }
            }
        }

        Assert.True(compared > 500);
        Assert.True(failures.Count == 0, string.Join('\n', failures.Distinct().Take(30)));
    }

    /// <summary>
    /// Random register values; sp, x8..x15 (the compressed base registers) point into the data
    /// area so that loads and stores through them stay inside it.
    /// </summary>
    private static ulong[] RandomRegisters(Random random)
    {
        ulong[] registers = new ulong[32];
        for (int r = 1; r < 32; r++)
        {
            registers[r] = random.Next(4) switch
            {
                0 => (ulong)random.Next(-64, 64),
                1 => 0xffff_ffff_0000_0000 | (uint)random.Next(),
                _ => (ulong)random.NextInt64() << random.Next(2),
            };
        }

        foreach (int r in new[] { 2, 8, 9, 10, 11, 12, 13, 14, 15 })
        {
            registers[r] = Data + 512 + (ulong)(random.Next(-32, 32) * 8);
        }

        return registers;
    }

    /// <summary>
    /// Runs one instruction at <see cref="Code"/> from the given state. The instruction is
    /// followed by a spin, and a spin waits at every even offset within jump range, so any
    /// control transfer stops where it lands. A prologue turns the FPU on (for the FP loads and
    /// stores) and points mtvec at a spin of its own before jumping to the instruction.
    /// </summary>
    private static (ulong[] X, ulong[] F, byte[] Memory, ulong Pc) Execute(
        TestMachine machine, Action<RiscvAssembler> emit, ulong[] registers, byte[] data, bool compressedLength)
    {
        var asm = new RiscvAssembler(Code - 0x1000);
        for (int i = 0; i < 0x800; i++)
        {
            asm.Emit16(0xa001); // c.j . (a spin wherever a jump lands)
        }

        emit(asm);
        int length = (int)(asm.Here - Code);
        Assert.Equal(compressedLength ? 2 : 4, length);
        while (asm.Here < Code + 0x1000)
        {
            asm.Emit16(0xa001);
        }

        asm.Org(Prologue);
        asm.Li(T0, 1L << 13).Csrs(Csr.Mstatus, T0);
        asm.La(T0, "trap").Csrw(Csr.Mtvec, T0);
        asm.Li(T0, (long)SavedT0).Ld(T0, 0, T0);
        asm.Jal(Zero, (int)((long)Code - (long)asm.Here));
        asm.Align(4).Label("trap").Halt();
        asm.Org(SavedT0).Dword(registers[(int)T0]);

        machine.Memory.WriteBytes(asm.Origin, asm.Build());
        machine.Memory.WriteBytes(Data, data);
        Hart hart = machine.Hart;
        hart.Reset(Prologue);
        for (int r = 0; r < 32; r++)
        {
            hart.SetRegister(r, registers[r]);
            hart.SetFloatRegister(r, registers[r] ^ 0x5555_5555_5555_5555);
        }

        machine.Run(maxInstructions: 1000);

        ulong[] x = new ulong[32], f = new ulong[32];
        for (int r = 0; r < 32; r++)
        {
            x[r] = hart.GetRegister(r);
            f[r] = hart.GetFloatRegister(r);
        }

        byte[] memory = new byte[DataSize];
        machine.Memory.ReadBytes(Data, memory);

        // Links and fall-through differ by the instruction length by definition; normalise them.
        ulong pc = hart.Pc == Code + (ulong)length ? Code + 4 : hart.Pc;
        for (int r = 0; r < 32; r++)
        {
            if (x[r] == Code + (ulong)length && registers[r] != x[r])
            {
                x[r] = Code + 4;
            }
        }

        return (x, f, memory, pc);
    }

    private static IEnumerable<Pair> Pairs(Random random)
    {
        Reg Any() => (Reg)random.Next(32);
        Reg NonZero() => (Reg)random.Next(1, 32);
        Reg Prime() => (Reg)random.Next(8, 16);
        FReg FAny() => (FReg)random.Next(32);
        FReg FPrime() => (FReg)random.Next(8, 16);
        int Imm6() => random.Next(-32, 32);
        int NonZeroImm6() => random.Next(2) == 0 ? random.Next(-32, 0) : random.Next(1, 32);
        int Shift() => random.Next(1, 64);

        Reg rd = Prime(), rs = Prime(), n = NonZero(), n2 = NonZero(), any = Any();
        FReg fp = FPrime(), fa = FAny();
        int imm = Imm6(), nz = NonZeroImm6(), shamt = Shift();
        int spn = random.Next(1, 256) * 4;
        int sp16 = (random.Next(2) == 0 ? random.Next(-32, 0) : random.Next(1, 32)) * 16;
        int word = random.Next(0, 16) * 4, dword = random.Next(0, 32) * 8;
        int wordSp = random.Next(0, 64) * 4, dwordSp = random.Next(0, 64) * 8;
        // Never 0: a jump to itself would loop on the instruction under test.
        int jump = (random.Next(2) == 0 ? random.Next(-0x400, 0) : random.Next(1, 0x400)) * 2;
        int branch = (random.Next(2) == 0 ? random.Next(-128, 0) : random.Next(1, 128)) * 2;
        Reg lui = n == Sp ? A0 : n;

        // Quadrant 0.
        yield return new("c.addi4spn", a => a.CAddi4spn(rd, spn), a => a.Addi(rd, Sp, spn));
        yield return new("c.fld", a => a.CFld(fp, dword, rs), a => a.Fld(fp, dword, rs));
        yield return new("c.lw", a => a.CLw(rd, word, rs), a => a.Lw(rd, word, rs));
        yield return new("c.ld", a => a.CLd(rd, dword, rs), a => a.Ld(rd, dword, rs));
        yield return new("c.fsd", a => a.CFsd(fp, dword, rs), a => a.Fsd(fp, dword, rs));
        yield return new("c.sw", a => a.CSw(rd, word, rs), a => a.Sw(rd, word, rs));
        yield return new("c.sd", a => a.CSd(rd, dword, rs), a => a.Sd(rd, dword, rs));

        // Quadrant 1.
        yield return new("c.nop", a => a.CNop(), a => a.Nop());
        yield return new("c.addi", a => a.CAddi(n, nz), a => a.Addi(n, n, nz));
        yield return new("c.addi (hint: rd = x0)", a => a.CAddi(Zero, nz), a => a.Nop());
        yield return new("c.addiw", a => a.CAddiw(n, imm), a => a.Addiw(n, n, imm));
        yield return new("c.li", a => a.CLi(n, imm), a => a.Addi(n, Zero, imm));
        yield return new("c.addi16sp", a => a.CAddi16sp(sp16), a => a.Addi(Sp, Sp, sp16));
        yield return new("c.lui", a => a.CLui(lui, nz), a => a.Lui(lui, nz));
        yield return new("c.srli", a => a.CSrli(rd, shamt), a => a.Srli(rd, rd, shamt));
        yield return new("c.srai", a => a.CSrai(rd, shamt), a => a.Srai(rd, rd, shamt));
        yield return new("c.andi", a => a.CAndi(rd, imm), a => a.Andi(rd, rd, imm));
        yield return new("c.sub", a => a.CSub(rd, rs), a => a.Sub(rd, rd, rs));
        yield return new("c.xor", a => a.CXor(rd, rs), a => a.Xor(rd, rd, rs));
        yield return new("c.or", a => a.COr(rd, rs), a => a.Or(rd, rd, rs));
        yield return new("c.and", a => a.CAnd(rd, rs), a => a.And(rd, rd, rs));
        yield return new("c.subw", a => a.CSubw(rd, rs), a => a.Subw(rd, rd, rs));
        yield return new("c.addw", a => a.CAddw(rd, rs), a => a.Addw(rd, rd, rs));
        yield return new("c.j", a => a.CJ(jump), a => a.Jal(Zero, jump));
        yield return new("c.beqz", a => a.CBeqz(rs, branch), a => a.Beq(rs, Zero, branch));
        yield return new("c.bnez", a => a.CBnez(rs, branch), a => a.Bne(rs, Zero, branch));

        // Quadrant 2.
        yield return new("c.slli", a => a.CSlli(n, shamt), a => a.Slli(n, n, shamt));
        yield return new("c.fldsp", a => a.CFldsp(fa, dwordSp), a => a.Fld(fa, dwordSp, Sp));
        yield return new("c.lwsp", a => a.CLwsp(n, wordSp), a => a.Lw(n, wordSp, Sp));
        yield return new("c.ldsp", a => a.CLdsp(n, dwordSp), a => a.Ld(n, dwordSp, Sp));
        yield return new("c.mv", a => a.CMv(any, n2), a => a.Add(any, Zero, n2));
        yield return new("c.add", a => a.CAdd(any, n2), a => a.Add(any, any, n2));
        yield return new("c.fsdsp", a => a.CFsdsp(fa, dwordSp), a => a.Fsd(fa, dwordSp, Sp));
        yield return new("c.swsp", a => a.CSwsp(any, wordSp), a => a.Sw(any, wordSp, Sp));
        yield return new("c.sdsp", a => a.CSdsp(any, dwordSp), a => a.Sd(any, dwordSp, Sp));
    }

    [Fact]
    public void CompressedJumpsThroughRegistersClearBitZeroAndLinkPcPlusTwo()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.La(A0, "target").Addi(A0, A0, 1); // odd: bit 0 is cleared
            asm.Label("call").CJalr(A0);
            asm.Halt();
            asm.Label("target").Mv(S2, Ra);
            asm.La(A1, "end").CMv(Ra, A1).CJr(Ra);
            asm.Halt();
            asm.Label("end").Li(S3, 1).Halt();
        });
        machine.Run();
        Assert.Equal(program.AddressOf("call") + 2, machine.X(S2));
        Assert.Equal(1UL, machine.X(S3));
    }

    public static TheoryData<ushort, string> ReservedEncodings => new()
    {
        { 0x0000, "all zeros (c.addi4spn with nzuimm = 0)" },
        { 0x0004, "c.addi4spn x9, sp, 0" },
        { 0x8000, "quadrant 0, funct3 = 100 (reserved)" },
        { 0x2001, "c.addiw with rd = x0" },
        { 0x6101, "c.addi16sp with nzimm = 0" },
        { 0x6501, "c.lui a0, 0" },
        { 0x4002, "c.lwsp with rd = x0" },
        { 0x6002, "c.ldsp with rd = x0" },
        { 0x8002, "c.jr with rs1 = x0" },
        { 0x9c41, "c.subw/c.addw space, funct2 = 10 (reserved)" },
        { 0x9c61, "c.subw/c.addw space, funct2 = 11 (reserved)" },
    };

    [Theory]
    [MemberData(nameof(ReservedEncodings))]
    public void ReservedEncodingsRaiseIllegalInstructionWithTheirBits(ushort bits, string description)
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Label("bad").Emit16(bits);
            asm.Halt();
            asm.MachineTrapRecorder("trap");
        });
        machine.Run();
        Assert.True(
            new[] { 2UL, program.AddressOf("bad"), bits }.SequenceEqual(machine.Log),
            $"{description}: log {string.Join(", ", machine.Log.Select(v => $"0x{v:x}"))}");
    }

    [Fact]
    public void HintsExecuteAsNoOperations()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(A0, 0x1234).Li(A1, 5).Li(S0, 0x777);
            asm.CNop().CAddi(Zero, 3).CLi(Zero, 5).CLui(A5, 1).CAddi(A0, 0).CMv(Zero, A1).CAdd(Zero, A1).CSlli(Zero, 3).CSlli(A1, 0);
            asm.Emit16(0x8001); // c.srli s0, 0: a HINT in RV64C
            asm.Emit16(0x8401); // c.srai s0, 0
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0x1234UL, machine.X(A0));
        Assert.Equal(5UL, machine.X(A1));
        Assert.Equal(0x777UL, machine.X(S0));
        Assert.Equal(0x1000UL, machine.X(A5));
        Assert.Equal(0UL, machine.X(Zero));
    }
}
