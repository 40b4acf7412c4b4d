using Vessel.Cpu.Riscv.Tests.Assembler;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// Building blocks for test programs on <see cref="TestMachine"/>: recording values in the test
/// device's log, trap handlers that record what happened, and switching privilege mode. The
/// helpers use t5 and t6 as scratch registers (and t4 in the resuming handlers); tests keep
/// their results elsewhere.
/// </summary>
public static class ProgramExtensions
{
    public const ulong LogAddress = TestMachine.TestDeviceBase + TestDevice.LogOffset;

    /// <summary>Appends the value of <paramref name="register"/> to the test device's log (clobbers t6).</summary>
    public static RiscvAssembler Log(this RiscvAssembler asm, Reg register)
    {
        if (register == T6)
        {
            throw new ArgumentException("t6 is the scratch register of Log", nameof(register));
        }

        asm.Li(T6, (long)LogAddress);
        return asm.Sd(register, 0, T6);
    }

    /// <summary>Appends a CSR's value to the log (clobbers t5 and t6).</summary>
    public static RiscvAssembler LogCsr(this RiscvAssembler asm, ushort csr)
    {
        asm.Csrr(T5, csr);
        return asm.Log(T5);
    }

    /// <summary>Appends a constant to the log (a marker that shows which path ran; clobbers t5 and t6).</summary>
    public static RiscvAssembler LogConstant(this RiscvAssembler asm, long value)
    {
        asm.Li(T5, value);
        return asm.Log(T5);
    }

    /// <summary>Stops the program: the harness notices the hart spinning here.</summary>
    public static RiscvAssembler Halt(this RiscvAssembler asm) => asm.Spin();

    /// <summary>Sets <c>mtvec</c> (direct mode) to <paramref name="label"/> (clobbers t0).</summary>
    public static RiscvAssembler SetMachineTrapVector(this RiscvAssembler asm, string label)
    {
        asm.La(T0, label);
        return asm.Csrw(Csr.Mtvec, T0);
    }

    /// <summary>Sets <c>stvec</c> (direct mode) to <paramref name="label"/> (clobbers t0).</summary>
    public static RiscvAssembler SetSupervisorTrapVector(this RiscvAssembler asm, string label)
    {
        asm.La(T0, label);
        return asm.Csrw(Csr.Stvec, T0);
    }

    /// <summary>
    /// Leaves M-mode for <paramref name="mode"/> at <paramref name="label"/> through <c>mret</c>
    /// (sets mstatus.MPP and mepc; clobbers t0).
    /// </summary>
    public static RiscvAssembler EnterMode(this RiscvAssembler asm, PrivilegeLevel mode, string label)
    {
        asm.Li(T0, 3L << 11);
        asm.Csrc(Csr.Mstatus, T0);
        asm.Li(T0, (long)mode << 11);
        asm.Csrs(Csr.Mstatus, T0);
        asm.La(T0, label);
        asm.Csrw(Csr.Mepc, T0);
        return asm.Mret();
    }

    /// <summary>
    /// An M-mode trap handler at <paramref name="label"/> that logs mcause, mepc and mtval, then
    /// halts, or with <paramref name="resume"/> skips the trapping instruction (2 or 4 bytes,
    /// read at mepc, which must be identity-mapped) and returns with <c>mret</c>.
    /// </summary>
    public static RiscvAssembler MachineTrapRecorder(this RiscvAssembler asm, string label, bool resume = false) =>
        TrapRecorder(asm, label, resume, Csr.Mcause, Csr.Mepc, Csr.Mtval, machine: true);

    /// <summary>The S-mode counterpart of <see cref="MachineTrapRecorder"/> (scause, sepc, stval; <c>sret</c>).</summary>
    public static RiscvAssembler SupervisorTrapRecorder(this RiscvAssembler asm, string label, bool resume = false) =>
        TrapRecorder(asm, label, resume, Csr.Scause, Csr.Sepc, Csr.Stval, machine: false);

    private static RiscvAssembler TrapRecorder(RiscvAssembler asm, string label, bool resume, ushort cause, ushort epc, ushort tval, bool machine)
    {
        asm.Align(4).Label(label); // xtvec.BASE is 4-byte aligned
        asm.LogCsr(cause).LogCsr(epc).LogCsr(tval);
        if (!resume)
        {
            return asm.Halt();
        }

        // Skip the instruction at xepc: 4 bytes unless its low two bits say compressed.
        asm.Csrr(T5, epc);
        asm.Lhu(T6, 0, T5);
        asm.Andi(T6, T6, 3);
        asm.Addi(T4, Zero, 3);
        asm.Addi(T5, T5, 2);
        asm.Bne(T6, T4, $"{label}.short");
        asm.Addi(T5, T5, 2);
        asm.Label($"{label}.short");
        asm.Csrw(epc, T5);
        return machine ? asm.Mret() : asm.Sret();
    }
}
