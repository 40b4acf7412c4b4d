using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Vessel.Machine.Interrupts;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Privileged;

/// <summary>
/// Interrupts: priority, the enable rules per privilege mode and delegation, direct and vectored
/// trap vectors, wfi, the interrupt pins (<see cref="Hart.SetPin"/>) and the writable and
/// read-only bits of mip/sip, including the SEIP read-modify-write rule.
/// </summary>
public sealed class InterruptTests
{
    private const long AllInterrupts = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 9) | (1 << 11);
    private const long SupervisorInterrupts = (1 << 1) | (1 << 5) | (1 << 9);
    private const long MachinePins = (1 << 3) | (1 << 7) | (1 << 11);
    private const ulong Interrupt = 1UL << 63;

    /// <summary>Raises pins through the pin device: <c>mask</c> of mip bits for hart 0 (clobbers t0, t1).</summary>
    private static RiscvAssembler SetPins(RiscvAssembler asm, long mask) =>
        asm.Li(T0, (long)TestMachine.PinDeviceBase).Li(T1, mask).Sd(T1, 0, T0);

    /// <summary>A handler that logs the cause and masks that interrupt in xie (so the next one can come), then returns.</summary>
    private static RiscvAssembler MaskingHandler(RiscvAssembler asm, string label, bool machine)
    {
        asm.Align(4).Label(label);
        asm.LogCsr(machine ? Csr.Mcause : Csr.Scause);
        asm.Csrr(T5, machine ? Csr.Mcause : Csr.Scause).Andi(T5, T5, 0x3f).Li(T4, 1).Sll(T6, T4, T5);
        asm.Csrc(machine ? Csr.Mie : Csr.Sie, T6);
        return machine ? asm.Mret() : asm.Sret();
    }

    [Fact]
    public void PendingInterruptsAreTakenInPriorityOrder()
    {
        // Without delegation all six are machine interrupts: MEI, MSI, MTI, SEI, SSI, STI.
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            SetPins(asm, MachinePins);
            asm.Li(T0, SupervisorInterrupts).Csrs(Csr.Mip, T0);
            asm.Li(T0, AllInterrupts).Csrw(Csr.Mie, T0);
            asm.Li(T0, Mstatus.Mie).Csrs(Csr.Mstatus, T0);
            asm.Li(S2, 1).Halt();
            MaskingHandler(asm, "trap", machine: true);
        });
        machine.Run();
        Assert.Equal([Interrupt | 11, Interrupt | 3, Interrupt | 7, Interrupt | 9, Interrupt | 1, Interrupt | 5], machine.Log);
        Assert.Equal(1UL, machine.X(S2));
    }

    [Fact]
    public void InSModeMachineInterruptsComeFirstThenDelegatedOnesGoToS()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("mtrap").SetSupervisorTrapVector("strap");
            asm.Li(T0, SupervisorInterrupts).Csrw(Csr.Mideleg, T0).Csrs(Csr.Mip, T0);
            asm.Li(T0, AllInterrupts).Csrw(Csr.Mie, T0);
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("supervisor");
            SetPins(asm, MachinePins);                 // taken at once: M interrupts are enabled below M
            asm.Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0); // now the S ones
            asm.Li(S2, 1).Halt();
            MaskingHandler(asm, "mtrap", machine: true);
            MaskingHandler(asm, "strap", machine: false);
        });
        machine.Run();
        Assert.Equal([Interrupt | 11, Interrupt | 3, Interrupt | 7, Interrupt | 9, Interrupt | 1, Interrupt | 5], machine.Log);
    }

    [Fact]
    public void MachineInterruptsNeedMieOnlyInMachineMode()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, 1 << 7).Csrw(Csr.Mie, T0);
            SetPins(asm, 1 << 7);
            asm.Nop().Nop().J("next").Label("next"); // (room to take it if it were enabled)
            asm.Csrr(S2, Csr.Mip).LogConstant(100);   // still pending, not taken: MIE = 0 in M
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("supervisor").J("wait").Label("wait").J("wait");
            asm.Align(4).Label("trap").LogCsr(Csr.Mcause).Li(T0, Mstatus.Mpp).Csrr(S3, Csr.Mstatus).Halt();
        });
        machine.Run();
        Assert.Equal(1UL << 7, machine.X(S2) & (1UL << 7));
        Assert.Equal([100UL, Interrupt | 7], machine.Log);
        Assert.Equal((ulong)Mstatus.MppSupervisor, machine.X(S3) & Mstatus.Mpp); // taken in S, with MIE = 0
    }

    [Fact]
    public void DelegatedInterruptsAreNeverTakenInMAlwaysInUAndInSOnlyWithSie()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("mtrap").SetSupervisorTrapVector("strap");
            asm.Li(T0, 1 << 1).Csrw(Csr.Mideleg, T0).Csrw(Csr.Mie, T0).Csrs(Csr.Mip, T0); // SSIP pending, delegated
            asm.Li(T0, Mstatus.Mie | Mstatus.Sie).Csrs(Csr.Mstatus, T0);
            asm.Nop().J("m.next").Label("m.next").LogConstant(1);       // M: not taken even with MIE and SIE
            asm.Li(T0, Mstatus.Sie).Csrc(Csr.Mstatus, T0);
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("supervisor").Nop().J("s.next").Label("s.next").LogConstant(2); // S with SIE = 0: not taken
            asm.La(T0, "user").Csrw(Csr.Sepc, T0).Li(T0, Mstatus.Spp).Csrc(Csr.Sstatus, T0).Sret();
            asm.Label("user").J("user");                                // U: taken although SIE = 0
            asm.Align(4).Label("strap").LogCsr(Csr.Scause).LogCsr(Csr.Sstatus).Halt();
            asm.Align(4).Label("mtrap").LogConstant(-1).Halt();
        });
        machine.Run();
        Assert.Equal(4, machine.Log.Count);
        Assert.Equal([1UL, 2UL, Interrupt | 1], machine.Log.Take(3));
        Assert.Equal(0UL, machine.Log[3] & Mstatus.Spp); // taken from U
    }

    [Fact]
    public void VectoredModeSendsInterruptsToBasePlusFourTimesCauseAndExceptionsToBase()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.La(T0, "vectors").Ori(T0, T0, 1).Csrw(Csr.Mtvec, T0);
            asm.Ecall();                                  // an exception: to the base
            asm.Li(T0, 1 << 3).Csrw(Csr.Mie, T0);
            SetPins(asm, 1 << 3);
            asm.Li(T0, Mstatus.Mie).Csrs(Csr.Mstatus, T0); // MSI: to base + 12
            asm.Halt();

            asm.Align(64).Label("vectors");
            for (int i = 0; i < 16; i++)
            {
                asm.J($"vector{i}");
            }

            for (int i = 0; i < 16; i++)
            {
                asm.Label($"vector{i}").LogConstant(i).LogCsr(Csr.Mcause);
                if (i == 0)
                {
                    asm.Csrr(T0, Csr.Mepc).Addi(T0, T0, 4).Csrw(Csr.Mepc, T0).Mret();
                }
                else
                {
                    asm.Halt();
                }
            }
        });
        machine.Run();
        Assert.Equal([0UL, 11UL, 3UL, Interrupt | 3], machine.Log);
    }

    [Fact]
    public void SupervisorVectoredModeWorksTheSameWay()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.La(T0, "vectors").Ori(T0, T0, 1).Csrw(Csr.Stvec, T0);
            asm.Li(T0, 1 << 5).Csrw(Csr.Mideleg, T0).Csrw(Csr.Mie, T0);
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("supervisor").Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0);
            asm.Label("wait").Nop().J("wait"); // (not a spin: the harness would take it for the end)

            asm.Align(64).Label("vectors");
            for (int i = 0; i < 16; i++)
            {
                asm.J($"vector{i}");
            }

            for (int i = 0; i < 16; i++)
            {
                asm.Label($"vector{i}").LogConstant(i).LogCsr(Csr.Scause).Halt();
            }
        });
        machine.Run(until: () => machine.Hart.Privilege == PrivilegeLevel.Supervisor && machine.InstructionsExecuted > 100);
        Assert.Empty(machine.Log);
        machine.Hart.SetPin(RiscvInterruptBits.SupervisorTimer, true); // STIP as a pin, as a CLINT with Sstc would drive it
        machine.Run();
        Assert.Equal([5UL, Interrupt | 5], machine.Log);
    }

    [Fact]
    public void WfiWakesOnAPinAndTheInterruptIsTakenAfterTheWfi()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, 1 << 7).Csrw(Csr.Mie, T0).Li(T0, Mstatus.Mie).Csrs(Csr.Mstatus, T0);
            asm.Label("wfi").Wfi();
            asm.Halt();
            asm.Align(4).Label("trap").LogCsr(Csr.Mcause).LogCsr(Csr.Mepc).LogCsr(Csr.Mtval).Halt();
        });
        machine.RunUntilWaiting();
        Assert.Equal(0, machine.Hart.Run(100)); // stays asleep
        Assert.Equal(HartRunState.WaitingForInterrupt, machine.Hart.RunState);
        Assert.Empty(machine.Log);

        machine.Hart.SetPin(RiscvInterruptBits.MachineTimer, true);
        machine.Run();
        Assert.Equal([Interrupt | 7, program.AddressOf("wfi") + 4, 0UL], machine.Log);
    }

    [Fact]
    public void WfiWithInterruptsGloballyDisabledResumesAfterTheWfiWithoutATrap()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, 1 << 11).Csrw(Csr.Mie, T0); // MEIE set, mstatus.MIE clear
            asm.Wfi();
            asm.Csrr(S2, Csr.Mip).Halt();
            asm.Align(4).Label("trap").LogConstant(-1).Halt();
        });
        machine.RunUntilWaiting();
        machine.Hart.SetPin(RiscvInterruptBits.MachineExternal, true);
        machine.Run();
        Assert.Empty(machine.Log);
        Assert.Equal(1UL << 11, machine.X(S2) & (1UL << 11));
    }

    [Fact]
    public void OnlySsipStipAndSeipAreWritableInMipAndOnlyDelegatedSsipInSip()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, AllInterrupts).Csrs(Csr.Mip, T0).Csrr(S2, Csr.Mip);  // MSIP/MTIP/MEIP are read-only
            asm.Csrc(Csr.Mip, T0).Csrr(S3, Csr.Mip);
            asm.Li(T0, SupervisorInterrupts).Csrw(Csr.Mideleg, T0);
            asm.Li(T0, AllInterrupts).Csrs(Csr.Sip, T0).Csrr(S4, Csr.Sip).Csrr(S5, Csr.Mip); // only SSIP via sip
            asm.Csrw(Csr.Mideleg, Zero).Csrr(S6, Csr.Sip);                      // sip shows delegated bits only
            asm.Li(T0, AllInterrupts).Csrw(Csr.Mie, T0).Csrr(S7, Csr.Sie);     // so does sie
            asm.Halt();
        });
        machine.Run();
        Assert.Equal((ulong)SupervisorInterrupts, machine.X(S2));
        Assert.Equal(0UL, machine.X(S3));
        Assert.Equal(1UL << 1, machine.X(S4));
        Assert.Equal(1UL << 1, machine.X(S5));
        Assert.Equal(0UL, machine.X(S6));
        Assert.Equal(0UL, machine.X(S7));
    }

    [Fact]
    public void ReadModifyWriteOfMipUsesOnlyTheSoftwareSeipBit()
    {
        // Priv. spec, "Machine Interrupt Registers": SEIP reads as the OR of the software-writable
        // bit and the external interrupt signal, but only the software bit takes part in the
        // read-modify-write of csrrs/csrrc, so the signal is never latched into it.
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 1 << 1);
            asm.Csrrs(S2, Csr.Mip, T0);       // reads SEIP = 1 (signal), sets SSIP
            asm.Csrrc(S3, Csr.Mip, T0);       // clears SSIP
            asm.Li(S4, 1).Halt();
            asm.Label("second").Csrr(S5, Csr.Mip);
            asm.Li(T0, 1 << 9).Csrs(Csr.Mip, T0).Csrr(S6, Csr.Mip); // the software bit itself
            asm.Li(S7, 1).Halt();
        });
        machine.Hart.SetPin(RiscvInterruptBits.SupervisorExternal, true);
        machine.Run();
        Assert.Equal(1UL << 9, machine.X(S2) & (1UL << 9));
        Assert.Equal((1UL << 9) | (1UL << 1), machine.X(S3) & ((1UL << 9) | (1UL << 1)));

        // The signal goes away: SEIP must read 0, since software never set its own bit.
        machine.Hart.SetPin(RiscvInterruptBits.SupervisorExternal, false);
        machine.Hart.Pc = machine.Hart.Pc + 4;
        machine.Run();
        Assert.Equal(0UL, machine.X(S5) & (1UL << 9));
        Assert.Equal(1UL << 9, machine.X(S6) & (1UL << 9));
    }
}
