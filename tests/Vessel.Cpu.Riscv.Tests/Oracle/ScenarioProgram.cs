using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// An oracle program made of named scenarios that trap: M- and S-mode handlers append a record
/// for every trap to a log in RAM, scenarios append values of their own, and at the end the
/// whole log is printed. Records are five doublewords:
/// a scenario marker <c>[0x5ce0_0000 + n, 0, 0, 0, 0]</c>, a trap
/// <c>['M' or 'S', cause, epc, tval, status]</c>, or a value <c>['V', value, 0, 0, 0]</c>.
/// </summary>
/// <remarks>
/// Registers t3..t6 belong to the handlers and macros; s11 holds where an ecall from S or U
/// mode resumes in M. The handlers skip the trapping instruction, except that a fetch fault
/// resumes at ra (scenarios reach them with <c>jalr ra</c>), an ecall from S or U continues at
/// s11 in M-mode, and an interrupt is masked in mie (and its software-pending bit cleared) before
/// returning. Breakpoints log mtval as 0, since the spec lets it be 0 or the pc (QEMU 7.2 writes
/// 0, Vessel the pc).
/// </remarks>
internal sealed class ScenarioProgram
{
    public const int RecordWords = 5;
    public const ulong MarkerBase = 0x5ce0_0000;
    private const int LogBytes = 64 << 10;

    private readonly OracleProgram _program = new();
    private readonly List<string> _scenarios = [];

    public ScenarioProgram()
    {
        Asm.SetMachineTrapVector("trap.m").SetSupervisorTrapVector("trap.s");
        Asm.La(T6, "log.pointer").La(T5, "log").Sd(T5, 0, T6);
        Asm.J("scenarios");
        EmitHandler(machine: true);
        EmitHandler(machine: false);
        Asm.Align(4).Label("scenarios");
    }

    public RiscvAssembler Asm => _program.Asm;

    public IReadOnlyList<string> Scenarios => _scenarios;

    /// <summary>Starts a scenario from a clean state: M-mode, the handlers in place, no delegation, interrupts off, translation off.</summary>
    public void Scenario(string name)
    {
        int index = _scenarios.Count;
        _scenarios.Add(name);
        Asm.SetMachineTrapVector("trap.m").SetSupervisorTrapVector("trap.s");
        Asm.Csrw(Csr.Mstatus, Zero).Csrw(Csr.Medeleg, Zero).Csrw(Csr.Mideleg, Zero).Csrw(Csr.Mie, Zero).Csrw(Csr.Mip, Zero);
        Asm.Csrw(Csr.Satp, Zero).SfenceVma();
        Asm.Li(T4, (long)MarkerBase + index);
        Append(T4, Zero, Zero, Zero, Zero);
    }

    /// <summary>Appends a value record (clobbers t3..t6).</summary>
    public void Value(Reg value)
    {
        Asm.Li(T3, 'V');
        Append(T3, value, Zero, Zero, Zero);
    }

    public void ValueOfCsr(ushort csr)
    {
        Asm.Csrr(T4, csr);
        Asm.Li(T3, 'V');
        Append(T3, T4, Zero, Zero, Zero);
    }

    /// <summary>Leaves M-mode for <paramref name="mode"/> at <paramref name="label"/>; an ecall there comes back to <paramref name="resume"/> in M.</summary>
    public void Enter(PrivilegeLevel mode, string label, string resume)
    {
        Asm.La(S11, resume);
        Asm.Li(T3, 3L << 11).Csrc(Csr.Mstatus, T3).Li(T3, (long)mode << 11).Csrs(Csr.Mstatus, T3);
        Asm.La(T3, label).Csrw(Csr.Mepc, T3).Mret();
    }

    /// <summary>Prints the log and powers off; returns the image.</summary>
    public byte[] Finish(Action<RiscvAssembler>? data = null)
    {
        Asm.Csrw(Csr.Satp, Zero).SfenceVma();
        Asm.La(T6, "log.pointer").Ld(A1, 0, T6).La(A0, "log").Sub(A1, A1, A0).Srli(A1, A1, 3);
        Asm.Jal(Ra, "oracle.print");
        return _program.Finish(asm =>
        {
            data?.Invoke(asm);
            asm.Align(8).Label("log.pointer").Dword(0UL).Label("log").Zero(LogBytes);
        });
    }

    /// <summary>Names each printed line after its record, using the scenario markers in <paramref name="output"/>.</summary>
    public string Describe(string[] output, int line)
    {
        int record = line / RecordWords, field = line % RecordWords;
        string scenario = "(before the first scenario)";
        for (int r = 0; r <= record && (r * RecordWords) < output.Length; r++)
        {
            ulong first = Convert.ToUInt64(output[r * RecordWords], 16);
            if (first >= MarkerBase && first < MarkerBase + (ulong)_scenarios.Count)
            {
                scenario = _scenarios[(int)(first - MarkerBase)];
            }
        }

        string[] fields = ["kind", "cause/value", "epc", "tval", "status"];
        return $"{scenario}, record {record}, {fields[field]}";
    }

    /// <summary>Appends a record of five registers to the log (uses t5, t6; the registers must not be t5/t6).</summary>
    private void Append(Reg a, Reg b, Reg c, Reg d, Reg e)
    {
        Asm.La(T6, "log.pointer").Ld(T5, 0, T6);
        Asm.Sd(a, 0, T5).Sd(b, 8, T5).Sd(c, 16, T5).Sd(d, 24, T5).Sd(e, 32, T5);
        Asm.Addi(T5, T5, 8 * RecordWords).Sd(T5, 0, T6);
    }

    private void EmitHandler(bool machine)
    {
        string p = machine ? "trap.m" : "trap.s";
        ushort cause = machine ? Csr.Mcause : Csr.Scause, epc = machine ? Csr.Mepc : Csr.Sepc;
        ushort tval = machine ? Csr.Mtval : Csr.Stval, status = machine ? Csr.Mstatus : Csr.Sstatus;
        Asm.Align(4).Label(p);
        Asm.La(T6, "log.pointer").Ld(T5, 0, T6);
        Asm.Li(T4, machine ? 'M' : 'S').Sd(T4, 0, T5);
        Asm.Csrr(T4, cause).Sd(T4, 8, T5);
        Asm.Csrr(T4, epc).Sd(T4, 16, T5);
        Asm.Csrr(T3, cause).Addi(T3, T3, -3);
        Asm.Csrr(T4, tval).Bnez(T3, $"{p}.tval").Li(T4, 0);
        Asm.Label($"{p}.tval").Sd(T4, 24, T5);
        Asm.Csrr(T4, status).Sd(T4, 32, T5);
        Asm.Addi(T5, T5, 8 * RecordWords).Sd(T5, 0, T6);

        Asm.Csrr(T4, cause);
        Asm.Bltz(T4, $"{p}.interrupt");
        if (machine)
        {
            Asm.Li(T3, 8).Beq(T4, T3, $"{p}.ecall");
            Asm.Li(T3, 9).Beq(T4, T3, $"{p}.ecall");
        }

        Asm.Li(T3, 1).Beq(T4, T3, $"{p}.fetch");
        Asm.Li(T3, 12).Beq(T4, T3, $"{p}.fetch");

        // Skip the instruction: 2 or 4 bytes, from its low bits, read through the trapped mode's
        // translation (MPRV in M; SUM in S, for U code): the pc may be a virtual address.
        Asm.Csrr(T4, epc);
        Asm.Li(T5, machine ? 1L << 17 : 1L << 18).Csrs(status, T5).Lhu(T3, 0, T4).Csrc(status, T5);
        Asm.Andi(T3, T3, 3).Li(T5, 3).Addi(T4, T4, 2);
        Asm.Bne(T3, T5, $"{p}.short").Addi(T4, T4, 2);
        Asm.Label($"{p}.short").Csrw(epc, T4);
        Return(machine);

        Asm.Label($"{p}.fetch").Csrw(epc, Ra);
        Return(machine);

        if (machine)
        {
            Asm.Label($"{p}.ecall").Jr(S11);
        }

        Asm.Label($"{p}.interrupt").Andi(T4, T4, 63).Li(T3, 1).Sll(T3, T3, T4);
        Asm.Csrc(machine ? Csr.Mie : Csr.Sie, T3).Csrc(machine ? Csr.Mip : Csr.Sip, T3);
        Return(machine);
    }

    private void Return(bool machine) => _ = machine ? Asm.Mret() : Asm.Sret();
}
