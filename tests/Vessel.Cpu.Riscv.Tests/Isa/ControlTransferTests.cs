using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>Branches (taken and not, signed and unsigned, forwards and backwards) and JAL/JALR.</summary>
public sealed class ControlTransferTests
{
    private static readonly ulong[] s_operands = [0, 1, ulong.MaxValue, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff, 0x8000_0000];

    [Fact]
    public void EachBranchIsTakenExactlyWhenItsComparisonHolds()
    {
        (string Name, Func<ulong, ulong, bool> Holds)[] branches =
        [
            ("beq", (a, b) => a == b),
            ("bne", (a, b) => a != b),
            ("blt", (a, b) => (long)a < (long)b),
            ("bge", (a, b) => (long)a >= (long)b),
            ("bltu", (a, b) => a < b),
            ("bgeu", (a, b) => a >= b),
        ];
        var cases = new List<(string Name, ulong A, ulong B, bool Expected)>();
        foreach ((string name, var holds) in branches)
        {
            foreach (ulong a in s_operands)
            {
                foreach (ulong b in s_operands)
                {
                    cases.Add((name, a, b, holds(a, b)));
                }
            }
        }

        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            for (int i = 0; i < cases.Count; i++)
            {
                (string name, ulong a, ulong b, _) = cases[i];
                string taken = $"taken{i}", done = $"done{i}";
                asm.Li(A0, a).Li(A1, b).Li(A2, 0);
                _ = name switch
                {
                    "beq" => asm.Beq(A0, A1, taken), "bne" => asm.Bne(A0, A1, taken), "blt" => asm.Blt(A0, A1, taken),
                    "bge" => asm.Bge(A0, A1, taken), "bltu" => asm.Bltu(A0, A1, taken), _ => asm.Bgeu(A0, A1, taken),
                };
                asm.J(done);
                asm.Label(taken).Li(A2, 1);
                asm.Label(done).Log(A2);
            }

            asm.Halt();
        });
        machine.Run();

        Assert.Equal(cases.Count, machine.Log.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            (string name, ulong a, ulong b, bool expected) = cases[i];
            Assert.True((expected ? 1UL : 0UL) == machine.Log[i], $"{name} 0x{a:x}, 0x{b:x} should {(expected ? string.Empty : "not ")}be taken");
        }
    }

    [Fact]
    public void BackwardBranchesLoopAndForwardBranchesSkip()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(A0, 10).Li(A1, 0);
            asm.Label("loop").Addi(A1, A1, 3).Addi(A0, A0, -1).Bnez(A0, "loop");
            asm.Beq(Zero, Zero, "skip").Li(A1, -1).Label("skip");
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(30UL, machine.X(A1));
        Assert.Equal(0UL, machine.X(A0));
    }

    [Fact]
    public void JalLinksTheNextInstructionAndJumpsBothWays()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.Label("call").Jal(Ra, "forward");
            asm.Label("back").Jal(T0, "end");
            asm.Li(A0, -1).Halt(); // never reached
            asm.Label("forward").Mv(A1, Ra).Jal(Zero, "back");
            asm.Label("end").Halt();
        });
        machine.Run();
        Assert.Equal(program.AddressOf("call") + 4, machine.X(A1));
        Assert.Equal(program.AddressOf("back") + 4, machine.X(T0));
        Assert.Equal(program.AddressOf("end"), machine.Hart.Pc);
        Assert.Equal(0UL, machine.X(A0));
    }

    [Fact]
    public void JalrComputesTheTargetFromTheOldRs1AndClearsBitZero()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            // rd = rs1: the target uses rs1 before the link is written.
            asm.La(A0, "first").Addi(A0, A0, -8);
            asm.Label("jalr1").Jalr(A0, A0, 8);
            asm.Halt();
            asm.Label("first").Mv(S2, A0);

            // An odd target: bit 0 of the sum is cleared, so it lands on the label.
            asm.La(A1, "second").Addi(A1, A1, 1);
            asm.Label("jalr2").Jalr(Ra, A1, 0);
            asm.Halt();
            asm.Label("second").Mv(S3, Ra);

            // A negative offset.
            asm.La(A2, "third").Addi(A2, A2, 100);
            asm.Jalr(Zero, A2, -100);
            asm.Halt();
            asm.Label("third").Li(S4, 1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(program.AddressOf("jalr1") + 4, machine.X(S2));
        Assert.Equal(program.AddressOf("jalr2") + 4, machine.X(S3));
        Assert.Equal(1UL, machine.X(S4));
    }

    [Fact]
    public void CompressedJumpsLinkTheNextHalfword()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.La(S0, "target");
            asm.Label("cjalr").CJalr(S0);
            asm.Halt();
            asm.Label("target").Mv(A0, Ra);
            asm.La(S1, "last");
            asm.CJr(S1);
            asm.Halt();
            asm.Label("last").CJ("end").Halt();
            asm.Label("end").Li(A1, 7).Halt();
        });
        machine.Run();
        Assert.Equal(program.AddressOf("cjalr") + 2, machine.X(A0));
        Assert.Equal(7UL, machine.X(A1));
    }
}
