using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>The A extension: every AMO on words and doublewords, LR/SC success and failure, and misaligned atomics.</summary>
public sealed class AtomicTests
{
    private const ulong Data = TestMachine.RamBase + 0x10_0000;

    private static readonly ulong[] s_values =
        [0, 1, ulong.MaxValue, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff, 0xffff_ffff_8000_0000, 0x7fff_ffff, 0x8000_0000, 0x1_ffff_fffe];

    private static readonly string[] s_operations = ["swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu"];

    /// <summary>What the AMO stores (spec: "AMOs ... apply a binary operator to the loaded value and rs2"), on XLEN or 32 bits.</summary>
    private static ulong Combine(string op, ulong old, ulong operand, bool word)
    {
        if (word)
        {
            int a = (int)old, b = (int)operand;
            uint ua = (uint)old, ub = (uint)operand;
            return op switch
            {
                "swap" => ub,
                "add" => ua + ub,
                "xor" => ua ^ ub,
                "and" => ua & ub,
                "or" => ua | ub,
                "min" => (uint)Math.Min(a, b),
                "max" => (uint)Math.Max(a, b),
                "minu" => Math.Min(ua, ub),
                _ => Math.Max(ua, ub),
            };
        }

        return op switch
        {
            "swap" => operand,
            "add" => old + operand,
            "xor" => old ^ operand,
            "and" => old & operand,
            "or" => old | operand,
            "min" => (ulong)Math.Min((long)old, (long)operand),
            "max" => (ulong)Math.Max((long)old, (long)operand),
            "minu" => Math.Min(old, operand),
            _ => Math.Max(old, operand),
        };
    }

    private static void EmitAmo(RiscvAssembler asm, string op, bool word, Reg rd, Reg rs2, Reg rs1, bool aq, bool rl)
    {
        _ = (op, word) switch
        {
            ("swap", true) => asm.AmoswapW(rd, rs2, rs1, aq, rl), ("swap", false) => asm.AmoswapD(rd, rs2, rs1, aq, rl),
            ("add", true) => asm.AmoaddW(rd, rs2, rs1, aq, rl), ("add", false) => asm.AmoaddD(rd, rs2, rs1, aq, rl),
            ("xor", true) => asm.AmoxorW(rd, rs2, rs1, aq, rl), ("xor", false) => asm.AmoxorD(rd, rs2, rs1, aq, rl),
            ("and", true) => asm.AmoandW(rd, rs2, rs1, aq, rl), ("and", false) => asm.AmoandD(rd, rs2, rs1, aq, rl),
            ("or", true) => asm.AmoorW(rd, rs2, rs1, aq, rl), ("or", false) => asm.AmoorD(rd, rs2, rs1, aq, rl),
            ("min", true) => asm.AmominW(rd, rs2, rs1, aq, rl), ("min", false) => asm.AmominD(rd, rs2, rs1, aq, rl),
            ("max", true) => asm.AmomaxW(rd, rs2, rs1, aq, rl), ("max", false) => asm.AmomaxD(rd, rs2, rs1, aq, rl),
            ("minu", true) => asm.AmominuW(rd, rs2, rs1, aq, rl), ("minu", false) => asm.AmominuD(rd, rs2, rs1, aq, rl),
            ("maxu", true) => asm.AmomaxuW(rd, rs2, rs1, aq, rl), _ => asm.AmomaxuD(rd, rs2, rs1, aq, rl),
        };
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AmosReturnTheOldValueSignExtendedAndStoreTheCombination(bool word)
    {
        // Each case: memory holds `old` (and a guard word next to it), the AMO runs with `operand`;
        // the log gets rd, then the memory doubleword after the AMO.
        var cases = new List<(string Op, ulong Old, ulong Operand)>();
        foreach (string op in s_operations)
        {
            foreach (ulong old in s_values)
            {
                foreach (ulong operand in s_values)
                {
                    cases.Add((op, old, operand));
                }
            }
        }

        const ulong guard = 0x5a5a_5a5a_5a5a_5a5a;
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data).Li(S1, (long)ProgramExtensions.LogAddress).Li(S2, (long)guard);
            for (int i = 0; i < cases.Count; i++)
            {
                (string op, ulong old, ulong operand) = cases[i];
                asm.Li(A0, old).Li(A1, operand);
                if (word)
                {
                    // The word is the low half of the doubleword; the high half is the guard.
                    asm.Sd(S2, 0, S0).Sw(A0, 0, S0);
                }
                else
                {
                    asm.Sd(A0, 0, S0);
                }

                EmitAmo(asm, op, word, A2, A1, S0, aq: (i & 1) != 0, rl: (i & 2) != 0);
                asm.Sd(A2, 0, S1).Ld(A3, 0, S0).Sd(A3, 0, S1);
            }

            asm.Halt();
        });
        machine.Run();

        Assert.Equal(cases.Count * 2, machine.Log.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            (string op, ulong old, ulong operand) = cases[i];
            ulong expectedRd = word ? IntegerReference.SignExtendWord(old) : old;
            ulong expectedMemory = word ? (guard & 0xffff_ffff_0000_0000) | Combine(op, old, operand, word: true) : Combine(op, old, operand, word: false);
            string what = $"amo{op}.{(word ? "w" : "d")} old 0x{old:x} operand 0x{operand:x}";
            Assert.True(expectedRd == machine.Log[2 * i], $"{what}: rd 0x{machine.Log[2 * i]:x}, expected 0x{expectedRd:x}");
            Assert.True(expectedMemory == machine.Log[(2 * i) + 1], $"{what}: memory 0x{machine.Log[(2 * i) + 1]:x}, expected 0x{expectedMemory:x}");
        }
    }

    [Fact]
    public void AnAmoWhoseDestinationIsAlsoItsOperandUsesTheOperandValue()
    {
        using var machine = new TestMachine();
        machine.Write(Data, 5UL);
        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data).Li(A0, 100);
            asm.AmoaddD(A0, A0, S0); // memory = 5 + 100, a0 = 5
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(5UL, machine.X(A0));
        Assert.Equal(105UL, machine.Read<ulong>(Data));
    }

    [Fact]
    public void StoreConditionalSucceedsOnlyOnAHeldReservation()
    {
        using var machine = new TestMachine();
        machine.Write(Data, 0xffff_ffff_8000_0001UL);
        machine.Write(Data + 8, 10UL);
        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data).Li(A0, 0x1234);

            // No reservation yet: fails, memory untouched.
            asm.ScD(S2, A0, S0);

            // LR.W sign-extends; SC.W to the reserved word succeeds and writes 32 bits.
            asm.LrW(S3, S0).ScW(S4, A0, S0, rl: true);

            // The reservation was used up: a second SC fails.
            asm.ScW(S5, Zero, S0);

            // SC to another address than the LR fails.
            asm.Addi(S1, S0, 8);
            asm.LrD(S6, S0, aq: true).ScD(S7, A0, S1);

            // LR/SC on a doubleword succeeds.
            asm.LrD(S8, S1).Addi(S8, S8, 1).ScD(S9, S8, S1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(1UL, machine.X(S2));
        Assert.Equal(0xffff_ffff_8000_0001UL, machine.X(S3));
        Assert.Equal(0UL, machine.X(S4));
        Assert.Equal(1UL, machine.X(S5));
        Assert.Equal(0xffff_ffff_0000_1234UL, machine.X(S6));
        Assert.NotEqual(0UL, machine.X(S7));
        Assert.Equal(0UL, machine.X(S9));
        Assert.Equal(0xffff_ffff_0000_1234UL, machine.Read<ulong>(Data));
        Assert.Equal(11UL, machine.Read<ulong>(Data + 8));
    }

    [Fact]
    public void AStoreByAnotherHartBetweenLrAndScMakesTheScFail()
    {
        // Hart 0 takes a reservation, then waits until hart 1 has stored a new value to the
        // reserved doubleword (and raised a flag); its SC must fail.
        const ulong flag = Data + 64;
        using var machine = new TestMachine(hartCount: 2);
        machine.Write(Data, 1UL);
        machine.Load(asm =>
        {
            asm.Csrr(T0, Csr.Mhartid).Li(S0, (long)Data).Li(S1, (long)flag);
            asm.Bnez(T0, "hart1");

            asm.LrD(A0, S0);
            asm.Label("wait").Ld(T1, 0, S1).Beqz(T1, "wait");
            asm.Li(A1, 99).ScD(A2, A1, S0);
            asm.Halt();

            asm.Label("hart1").Li(T1, 2).Sd(T1, 0, S0);
            asm.Fence().Li(T1, 1).Sd(T1, 0, S1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(1UL, machine.X(A0));
        Assert.NotEqual(0UL, machine.X(A2));
        Assert.Equal(2UL, machine.Read<ulong>(Data));
    }

    [Fact]
    public void MisalignedAtomicsRaiseAddressMisalignedWithTheAddress()
    {
        // LR raises a load address-misaligned exception (4); SC and AMOs a store/AMO one (6).
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(S0, (long)Data + 4);
            asm.Label("amod").AmoaddD(A0, A1, S0);
            asm.Addi(S1, S0, 2);
            asm.Label("amow").AmoswapW(A0, A1, S1);
            asm.Label("lr").LrD(A0, S0);
            asm.Label("sc").ScW(A0, A1, S1);
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Run();
        ulong at = Data + 4;
        Assert.Equal(
            [6UL, program.AddressOf("amod"), at, 6UL, program.AddressOf("amow"), at + 2, 4UL, program.AddressOf("lr"), at, 6UL, program.AddressOf("sc"), at + 2],
            machine.Log);
    }
}
