using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// RV64I and M arithmetic: every operation on a grid of boundary operands (and random ones),
/// compared with <see cref="IntegerReference"/>; plus LUI/AUIPC, x0, and the sign extension of
/// the W forms.
/// </summary>
public sealed class IntegerInstructionTests
{
    private static readonly string[] s_registerOps =
    [
        "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
        "addw", "subw", "sllw", "srlw", "sraw",
        "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
        "mulw", "divw", "divuw", "remw", "remuw",
    ];

    /// <summary>Operands at the edges: zero, ±1, the signed and unsigned limits of 32 and 64 bits, and shift amounts at 31/32/63/64.</summary>
    private static readonly ulong[] s_edges =
    [
        0, 1, ulong.MaxValue, 2, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff,
        0xffff_ffff_8000_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000,
        31, 32, 33, 63, 64, 0xffff_ffff_ffff_fffe, 0x1234_5678_9abc_def0, 7,
    ];

    private static void Emit(RiscvAssembler asm, string op, Reg rd, Reg rs1, Reg rs2)
    {
        _ = op switch
        {
            "add" => asm.Add(rd, rs1, rs2), "sub" => asm.Sub(rd, rs1, rs2), "sll" => asm.Sll(rd, rs1, rs2),
            "slt" => asm.Slt(rd, rs1, rs2), "sltu" => asm.Sltu(rd, rs1, rs2), "xor" => asm.Xor(rd, rs1, rs2),
            "srl" => asm.Srl(rd, rs1, rs2), "sra" => asm.Sra(rd, rs1, rs2), "or" => asm.Or(rd, rs1, rs2),
            "and" => asm.And(rd, rs1, rs2), "addw" => asm.Addw(rd, rs1, rs2), "subw" => asm.Subw(rd, rs1, rs2),
            "sllw" => asm.Sllw(rd, rs1, rs2), "srlw" => asm.Srlw(rd, rs1, rs2), "sraw" => asm.Sraw(rd, rs1, rs2),
            "mul" => asm.Mul(rd, rs1, rs2), "mulh" => asm.Mulh(rd, rs1, rs2), "mulhsu" => asm.Mulhsu(rd, rs1, rs2),
            "mulhu" => asm.Mulhu(rd, rs1, rs2), "div" => asm.Div(rd, rs1, rs2), "divu" => asm.Divu(rd, rs1, rs2),
            "rem" => asm.Rem(rd, rs1, rs2), "remu" => asm.Remu(rd, rs1, rs2), "mulw" => asm.Mulw(rd, rs1, rs2),
            "divw" => asm.Divw(rd, rs1, rs2), "divuw" => asm.Divuw(rd, rs1, rs2), "remw" => asm.Remw(rd, rs1, rs2),
            "remuw" => asm.Remuw(rd, rs1, rs2),
            _ => throw new ArgumentException(op),
        };
    }

    [Fact]
    public void RegisterOperationsOnBoundaryAndRandomOperandsFollowTheSpec()
    {
        var pairs = new List<(ulong A, ulong B)>();
        foreach (ulong a in s_edges)
        {
            foreach (ulong b in s_edges)
            {
                pairs.Add((a, b));
            }
        }

        var random = new Random(1234);
        for (int i = 0; i < 100; i++)
        {
            pairs.Add(((ulong)random.NextInt64() * (ulong)random.Next(1, 4), (ulong)random.NextInt64() >> random.Next(64)));
        }

        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(S1, (long)ProgramExtensions.LogAddress);
            foreach ((ulong a, ulong b) in pairs)
            {
                asm.Li(A0, a).Li(A1, b);
                foreach (string op in s_registerOps)
                {
                    Emit(asm, op, A2, A0, A1);
                    asm.Sd(A2, 0, S1);
                }
            }

            asm.Halt();
        });
        machine.Run(maxInstructions: 2_000_000);

        var failures = new List<string>();
        int index = 0;
        foreach ((ulong a, ulong b) in pairs)
        {
            foreach (string op in s_registerOps)
            {
                ulong expected = IntegerReference.Evaluate(op, a, b);
                ulong actual = machine.Log[index++];
                if (actual != expected)
                {
                    failures.Add($"{op} 0x{a:x}, 0x{b:x}: expected 0x{expected:x}, got 0x{actual:x}");
                }
            }
        }

        Assert.Equal(pairs.Count * s_registerOps.Length, machine.Log.Count);
        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(30)));
    }

    [Fact]
    public void ImmediateOperationsSignExtendTheImmediateAndShiftByAtMost63()
    {
        int[] immediates = [0, 1, -1, 2047, -2048, 0x555, -0x556];
        int[] shifts64 = [0, 1, 31, 32, 33, 63];
        int[] shifts32 = [0, 1, 15, 31];
        var cases = new List<(string Op, ulong A, int Imm)>();
        foreach (ulong a in s_edges)
        {
            foreach (string op in new[] { "addi", "slti", "sltiu", "xori", "ori", "andi", "addiw" })
            {
                cases.AddRange(immediates.Select(imm => (op, a, imm)));
            }

            foreach (string op in new[] { "slli", "srli", "srai" })
            {
                cases.AddRange(shifts64.Select(imm => (op, a, imm)));
            }

            foreach (string op in new[] { "slliw", "srliw", "sraiw" })
            {
                cases.AddRange(shifts32.Select(imm => (op, a, imm)));
            }
        }

        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(S1, (long)ProgramExtensions.LogAddress);
            foreach ((string op, ulong a, int imm) in cases)
            {
                asm.Li(A0, a);
                _ = op switch
                {
                    "addi" => asm.Addi(A2, A0, imm), "slti" => asm.Slti(A2, A0, imm), "sltiu" => asm.Sltiu(A2, A0, imm),
                    "xori" => asm.Xori(A2, A0, imm), "ori" => asm.Ori(A2, A0, imm), "andi" => asm.Andi(A2, A0, imm),
                    "addiw" => asm.Addiw(A2, A0, imm), "slli" => asm.Slli(A2, A0, imm), "srli" => asm.Srli(A2, A0, imm),
                    "srai" => asm.Srai(A2, A0, imm), "slliw" => asm.Slliw(A2, A0, imm), "srliw" => asm.Srliw(A2, A0, imm),
                    _ => asm.Sraiw(A2, A0, imm),
                };
                asm.Sd(A2, 0, S1);
            }

            asm.Halt();
        });
        machine.Run();

        Assert.Equal(cases.Count, machine.Log.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            (string op, ulong a, int imm) = cases[i];
            Assert.True(IntegerReference.EvaluateImmediate(op, a, imm) == machine.Log[i], $"{op} 0x{a:x}, {imm}: got 0x{machine.Log[i]:x}");
        }
    }

    [Fact]
    public void LiLoadsEveryKindOfConstant()
    {
        // The assembler's li expansion, checked end to end (it is used by every other test).
        ulong[] values = [0, 1, 0x7ff, 0x800, 0xfff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 0x8000_0000_0000_0000,
            0x7fff_ffff_ffff_ffff, ulong.MaxValue, 0xffff_ffff_8000_0000, 0xffff_ffff_7fff_ffff, 0x1234_5678_9abc_def0, 0x0000_0800_0000_0800];
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            foreach (ulong value in values)
            {
                asm.Li(A0, value).Log(A0);
            }

            asm.Halt();
        });
        machine.Run();
        Assert.Equal(values, machine.Log);
    }

    [Fact]
    public void LuiSignExtendsAndAuipcAddsToItsOwnAddress()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.Lui(A0, 0x80000);      // bit 31 set: sign-extended to 64 bits
            asm.Lui(A1, 0x7ffff);
            asm.Label("auipc1").Auipc(A2, 0);
            asm.Label("auipc2").Auipc(A3, -1);  // pc - 4096
            asm.Label("auipc3").Auipc(A4, 0x80000); // pc - 2 GiB (the immediate is sign-extended)
            asm.Lui(Zero, 0x12345);   // writes to x0 are discarded
            asm.Addi(A5, Zero, 0);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xffff_ffff_8000_0000UL, machine.X(A0));
        Assert.Equal(0x7fff_f000UL, machine.X(A1));
        Assert.Equal(program.AddressOf("auipc1"), machine.X(A2));
        Assert.Equal(program.AddressOf("auipc2") - 4096, machine.X(A3));
        Assert.Equal(program.AddressOf("auipc3") - 0x8000_0000, machine.X(A4));
        Assert.Equal(0UL, machine.X(Zero));
        Assert.Equal(0UL, machine.X(A5));
    }

    [Fact]
    public void RegisterZeroReadsZeroWhateverIsWrittenToIt()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(A0, -1);
            asm.Addi(Zero, A0, 5).Add(A1, Zero, Zero);
            asm.Xor(Zero, A0, A0).Or(A2, Zero, A0);
            asm.La(A3, "data").Ld(Zero, 0, A3).Mv(A4, Zero);
            asm.Jal(Zero, "next").Label("next").Mv(A5, Zero);
            asm.Halt();
            asm.Align(8).Label("data").Dword(0x1122_3344_5566_7788);
        });
        machine.Run();
        Assert.Equal(0UL, machine.X(A1));
        Assert.Equal(ulong.MaxValue, machine.X(A2));
        Assert.Equal(0UL, machine.X(A4));
        Assert.Equal(0UL, machine.X(A5));
    }
}
