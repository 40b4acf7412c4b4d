using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// A bare-metal program for the QEMU oracle: a prologue that opens all memory to S and U mode
/// through PMP (QEMU enforces PMP; Vessel ignores it) and catches unexpected traps, routines that
/// print registers and memory as hex lines on the UART, and the power-off at the end. Every
/// printed line gets a description in <see cref="Lines"/>, so a difference can be named.
/// </summary>
internal sealed class OracleProgram
{
    public const ulong Uart = TestMachine.UartBase;
    public const ulong Finisher = TestMachine.TestDeviceBase;
    public const ulong Clint = 0x0200_0000;
    private const ulong MtimecmpHart0 = Clint + 0x4000;

    private readonly List<string> _lines = [];

    public OracleProgram()
    {
        Asm = new RiscvAssembler(TestMachine.RamBase);
        Asm.Li(T0, -1).Srli(T0, T0, 10).Csrw(Csr.Pmpaddr0, T0).Li(T0, 0x1f).Csrw(Csr.Pmpcfg0, T0); // NAPOT, RWX, all of memory
        Asm.La(T0, "oracle.unexpected").Csrw(Csr.Mtvec, T0);

        // QEMU's CLINT resets mtimecmp to 0, so MTIP would be pending (and visible in mip)
        // from the start; push it to "never". (Vessel's runner maps a sink there.)
        Asm.Li(T0, (long)MtimecmpHart0).Li(T1, -1).Sd(T1, 0, T0);
        Asm.J("oracle.main");
        EmitRoutines();
        Asm.Align(4).Label("oracle.main");
    }

    public RiscvAssembler Asm { get; }

    /// <summary>What each printed line holds.</summary>
    public IReadOnlyList<string> Lines => _lines;

    /// <summary>Prints x1..x31 (all registers keep their values up to the print itself).</summary>
    public void DumpRegisters(string what)
    {
        Asm.Csrw(Csr.Mscratch, T6);
        Asm.La(T6, "oracle.save");
        for (int r = 1; r < 31; r++)
        {
            Asm.Sd((Reg)r, 8 * r, T6);
        }

        Asm.Csrr(T5, Csr.Mscratch).Sd(T5, 8 * 31, T6);
        Asm.Addi(A0, T6, 8).Li(A1, 31).Jal(Ra, "oracle.print");
        for (int r = 1; r < 32; r++)
        {
            _lines.Add($"{what}: x{r} ({(Reg)r})");
        }
    }

    /// <summary>Compares two outputs line by line; returns a report of the first differences (empty when equal).</summary>
    public string Compare(string qemu, string vessel, Func<int, string>? context = null)
    {
        string[] expected = qemu.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] actual = vessel.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var report = new System.Text.StringBuilder();
        int differences = 0;
        for (int i = 0; i < Math.Max(expected.Length, actual.Length); i++)
        {
            string q = i < expected.Length ? expected[i] : "(nothing)";
            string v = i < actual.Length ? actual[i] : "(nothing)";
            if (q != v && ++differences <= 12)
            {
                string what = i < _lines.Count ? _lines[i] : "(past the expected output)";
                report.AppendLine($"line {i}, {what}: qemu {q}, vessel {v}");
                if (context is not null && differences == 1)
                {
                    report.AppendLine(context(i));
                }
            }
        }

        if (expected.Length != _lines.Count)
        {
            report.AppendLine($"qemu printed {expected.Length} lines, the program describes {_lines.Count}");
        }

        return differences == 0 && expected.Length == _lines.Count ? string.Empty : $"{differences} lines differ\n{report}";
    }

    /// <summary>Prints f0..f31 and fcsr (clobbers a0, a1, ra, t0-t6; FS must be on).</summary>
    public void DumpFloatRegisters(string what)
    {
        Asm.La(T6, "oracle.save");
        for (int r = 0; r < 32; r++)
        {
            Asm.Fsd((FReg)r, 8 * r, T6);
        }

        Asm.Csrr(T5, Csr.Fcsr).Sd(T5, 8 * 32, T6);
        Asm.Mv(A0, T6).Li(A1, 33).Jal(Ra, "oracle.print");
        for (int r = 0; r < 32; r++)
        {
            _lines.Add($"{what}: f{r}");
        }

        _lines.Add($"{what}: fcsr");
    }

    /// <summary>Prints <paramref name="count"/> doublewords starting at <paramref name="label"/> (clobbers a0, a1, ra, t0-t5).</summary>
    public void DumpMemory(string label, int count, Func<int, string> describe)
    {
        Asm.La(A0, label).Li(A1, count).Jal(Ra, "oracle.print");
        for (int i = 0; i < count; i++)
        {
            _lines.Add(describe(i));
        }
    }

    /// <summary>
    /// Powers the machine off (sifive_test: 0x5555 = pass), places any data after the code, and
    /// returns the image.
    /// </summary>
    public byte[] Finish(Action<RiscvAssembler>? data = null)
    {
        Asm.Li(T0, (long)Finisher).Li(T1, 0x5555).Sw(T1, 0, T0).Spin();
        data?.Invoke(Asm);
        Asm.Align(8).Label("oracle.save").Zero(8 * 33);
        return Asm.Build();
    }

    private void EmitRoutines()
    {
        // print(a0 = address, a1 = count): each doubleword as 16 hex digits and a newline.
        Asm.Label("oracle.print").Li(T0, (long)Uart);
        Asm.Label("oracle.print.word").Ld(T1, 0, A0).Li(T2, 60);
        Asm.Label("oracle.print.digit").Srl(T3, T1, T2).Andi(T3, T3, 15).Li(T4, 10);
        Asm.Blt(T3, T4, "oracle.print.decimal").Addi(T3, T3, 'a' - '0' - 10);
        Asm.Label("oracle.print.decimal").Addi(T3, T3, '0');
        PutChar(T3, "oracle.print.wait1");
        Asm.Addi(T2, T2, -4).Bge(T2, Zero, "oracle.print.digit");
        Asm.Li(T3, '\n');
        PutChar(T3, "oracle.print.wait2");
        Asm.Addi(A0, A0, 8).Addi(A1, A1, -1).Bnez(A1, "oracle.print.word");
        Asm.Ret();

        // An unexpected trap prints a line of 'f's, mcause, mepc and mtval, then powers off.
        Asm.Align(4).Label("oracle.unexpected");
        Asm.La(A0, "oracle.save").Li(T0, -1).Sd(T0, 0, A0);
        Asm.Csrr(T0, Csr.Mcause).Sd(T0, 8, A0).Csrr(T0, Csr.Mepc).Sd(T0, 16, A0).Csrr(T0, Csr.Mtval).Sd(T0, 24, A0);
        Asm.Li(A1, 4).Jal(Ra, "oracle.print");
        Asm.Li(T0, (long)Finisher).Li(T1, 0x5555).Sw(T1, 0, T0).Spin();
    }

    private void PutChar(Reg character, string waitLabel)
    {
        Asm.Label(waitLabel).Lbu(T5, 5, T0).Andi(T5, T5, 0x20).Beqz(T5, waitLabel); // LSR.THRE
        Asm.Sb(character, 0, T0);
    }
}
