using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Vessel.Machine.Interrupts;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Privileged;

/// <summary>
/// Synchronous exceptions: the cause, epc and tval each one reports, delegation to S-mode
/// through medeleg, the mstatus stacks on trap entry and on mret/sret, and the privileged
/// instructions that are illegal in lower modes (TW, TSR, TVM).
/// </summary>
public sealed class ExceptionTests
{
    [Fact]
    public void EcallFromUserSupervisorAndMachineHaveCauses8_9_11()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(S1, 0);
            asm.Label("ecall.m").Ecall();
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("user").Label("ecall.u").Ecall();
            asm.Halt();
            asm.Label("supervisor").Label("ecall.s").Ecall();
            asm.Halt();

            // M handler: log, then go to the next stage (s1 counts the traps).
            asm.Align(4).Label("trap").LogCsr(Csr.Mcause).LogCsr(Csr.Mepc).LogCsr(Csr.Mtval);
            asm.Addi(S1, S1, 1);
            asm.Li(T0, 1).Beq(S1, T0, "after.m");
            asm.Li(T0, 2).Beq(S1, T0, "to.user");
            asm.Halt();
            asm.Label("after.m").Csrr(T0, Csr.Mepc).Addi(T0, T0, 4).Csrw(Csr.Mepc, T0).Mret();
            asm.Label("to.user").EnterMode(PrivilegeLevel.User, "user");
        });
        machine.Run();
        Assert.Equal(
            [11UL, program.AddressOf("ecall.m"), 0, 9, program.AddressOf("ecall.s"), 0, 8, program.AddressOf("ecall.u"), 0],
            machine.Log);
    }

    [Fact]
    public void FetchingFromNothingIsAnInstructionAccessFaultAtTheTarget()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T1, 0x4000_0000).Jalr(Ra, T1, 0x10);
            asm.Halt();
            asm.MachineTrapRecorder("trap");
        });
        machine.Run();
        Assert.Equal([1UL, 0x4000_0010UL, 0x4000_0010UL], machine.Log);
    }

    [Fact]
    public void BreakpointReportsItsOwnAddress()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Label("ebreak").Ebreak();
            asm.Label("c.ebreak").CEbreak();
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Run();

        // mepc is the ebreak itself; mtval is either zero or that address (the spec allows both).
        Assert.Equal(6, machine.Log.Count);
        Assert.Equal([3UL, program.AddressOf("ebreak")], machine.Log.Take(2));
        Assert.Contains(machine.Log[2], new[] { 0UL, program.AddressOf("ebreak") });
        Assert.Equal([3UL, program.AddressOf("c.ebreak")], machine.Log.Skip(3).Take(2));
        Assert.Contains(machine.Log[5], new[] { 0UL, program.AddressOf("c.ebreak") });
    }

    [Fact]
    public void TrapEntryStacksTheInterruptEnableAndPrivilegeAndMretUnstacksThem()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, Mstatus.Mie).Csrs(Csr.Mstatus, T0); // no interrupt is pending or enabled in mie
            asm.Ecall();
            asm.Csrr(S3, Csr.Mstatus);                    // after mret
            asm.Halt();

            asm.Align(4).Label("trap").Csrr(S2, Csr.Mstatus);
            asm.Csrr(T0, Csr.Mepc).Addi(T0, T0, 4).Csrw(Csr.Mepc, T0);
            asm.Mret();
        });
        machine.Run();
        ulong inHandler = machine.X(S2), after = machine.X(S3);
        Assert.Equal(0UL, inHandler & Mstatus.Mie);
        Assert.Equal((ulong)Mstatus.Mpie, inHandler & Mstatus.Mpie);
        Assert.Equal((ulong)Mstatus.Mpp, inHandler & Mstatus.Mpp);   // came from M
        Assert.Equal((ulong)Mstatus.Mie, after & Mstatus.Mie);        // MIE = MPIE
        Assert.Equal((ulong)Mstatus.Mpie, after & Mstatus.Mpie);      // MPIE = 1
        Assert.Equal(0UL, after & Mstatus.Mpp);                       // MPP = U, the least-privileged mode
        Assert.Equal(PrivilegeLevel.Machine, machine.Hart.Privilege);
    }

    [Fact]
    public void DelegatedExceptionsFromSAndUGoToSWithSppSpieSie()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("mtrap").SetSupervisorTrapVector("strap");
            asm.Li(T0, (1 << 2) | (1 << 8)).Csrw(Csr.Medeleg, T0); // illegal instruction, ecall from U
            asm.Label("m.illegal").Emit32(0x0000_000b); // custom-0 in M: not delegated, stays in M
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");

            asm.Label("supervisor").Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0);
            asm.Label("s.illegal").Emit32(0x0000_000b);
            asm.Csrr(S4, Csr.Sstatus);                     // after sret
            asm.La(T0, "user").Csrw(Csr.Sepc, T0);
            asm.Li(T0, Mstatus.Spp).Csrc(Csr.Sstatus, T0).Sret();

            asm.Label("user").Label("u.ecall").Ecall();
            asm.Halt();

            // S handler: log scause, sepc, stval and sstatus, skip the instruction, sret.
            asm.Align(4).Label("strap").LogCsr(Csr.Scause).LogCsr(Csr.Sepc).LogCsr(Csr.Stval).LogCsr(Csr.Sstatus);
            asm.Csrr(T0, Csr.Scause).Li(T1, 8).Beq(T0, T1, "done");
            asm.Csrr(T0, Csr.Sepc).Addi(T0, T0, 4).Csrw(Csr.Sepc, T0).Sret();
            asm.Label("done").Halt();

            // M handler: log and resume (the illegal instruction executed in M).
            asm.MachineTrapRecorder("mtrap", resume: true);
        });
        machine.Run();

        IReadOnlyList<ulong> log = machine.Log;
        Assert.Equal([2UL, program.AddressOf("m.illegal"), 0x0bUL], log.Take(3)); // in M: not delegated
        Assert.Equal([2UL, program.AddressOf("s.illegal"), 0x0bUL], log.Skip(3).Take(3));
        ulong sstatusInHandler = log[6];
        Assert.Equal((ulong)Mstatus.Spp, sstatusInHandler & Mstatus.Spp);   // came from S
        Assert.Equal((ulong)Mstatus.Spie, sstatusInHandler & Mstatus.Spie); // SIE was set
        Assert.Equal(0UL, sstatusInHandler & Mstatus.Sie);
        ulong afterSret = machine.X(S4);
        Assert.Equal((ulong)Mstatus.Sie, afterSret & Mstatus.Sie);
        Assert.Equal((ulong)Mstatus.Spie, afterSret & Mstatus.Spie);
        Assert.Equal(0UL, afterSret & Mstatus.Spp);
        Assert.Equal([8UL, program.AddressOf("u.ecall"), 0UL], log.Skip(7).Take(3));
        Assert.Equal(0UL, log[10] & Mstatus.Spp); // came from U
        Assert.Equal(PrivilegeLevel.Supervisor, machine.Hart.Privilege);
    }

    [Fact]
    public void EcallFromMachineModeCannotBeDelegated()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, -1).Csrw(Csr.Medeleg, T0).Csrr(S2, Csr.Medeleg);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0UL, machine.X(S2) & (1UL << 11));
        Assert.NotEqual(0UL, machine.X(S2) & (1UL << 8)); // a delegable cause that S-mode kernels rely on
    }

    [Fact]
    public void MretToALowerModeClearsMprvButMretToMachineKeepsIt()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap").Li(S1, 0);
            asm.Li(T0, Mstatus.Mprv | Mstatus.Mpp).Csrs(Csr.Mstatus, T0); // MPRV with MPP = M
            asm.La(T0, "back.in.m").Csrw(Csr.Mepc, T0).Mret();
            asm.Label("back.in.m").Csrr(S2, Csr.Mstatus);
            asm.Li(T0, Mstatus.Mprv).Csrs(Csr.Mstatus, T0);
            asm.EnterMode(PrivilegeLevel.Supervisor, "supervisor");
            asm.Label("supervisor").Ecall();
            asm.Align(4).Label("trap").Csrr(S3, Csr.Mstatus).Halt();
        });
        machine.Run();
        Assert.Equal((ulong)Mstatus.Mprv, machine.X(S2) & Mstatus.Mprv);
        Assert.Equal(0UL, machine.X(S3) & Mstatus.Mprv);
    }

    [Fact]
    public void SretInMachineModeReturnsToSppAndClearsMprv()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, Mstatus.Spp | Mstatus.Spie | Mstatus.Mprv).Csrs(Csr.Mstatus, T0);
            asm.La(T0, "supervisor").Csrw(Csr.Sepc, T0).Sret();
            asm.Label("supervisor").Csrr(S2, Csr.Sstatus).Ecall();
            asm.Align(4).Label("trap").Csrr(S3, Csr.Mstatus).Halt();
        });
        machine.Run();
        Assert.Equal((ulong)Mstatus.Sie, machine.X(S2) & Mstatus.Sie);
        Assert.Equal(0UL, machine.X(S2) & Mstatus.Spp);
        Assert.Equal((ulong)Mstatus.MppSupervisor, machine.X(S3) & Mstatus.Mpp);
        Assert.Equal(0UL, machine.X(S3) & Mstatus.Mprv);
    }

    public static TheoryData<string, PrivilegeLevel, long> PrivilegedInstructions => new()
    {
        { "mret", PrivilegeLevel.Supervisor, 0 },
        { "mret", PrivilegeLevel.User, 0 },
        { "sret", PrivilegeLevel.User, 0 },
        { "sret", PrivilegeLevel.Supervisor, Mstatus.Tsr },
        { "wfi", PrivilegeLevel.User, 0 },
        { "wfi", PrivilegeLevel.Supervisor, Mstatus.Tw },
        { "sfence.vma", PrivilegeLevel.User, 0 },
        { "sfence.vma", PrivilegeLevel.Supervisor, Mstatus.Tvm },
        { "csrr satp", PrivilegeLevel.Supervisor, Mstatus.Tvm },
        { "csrw satp", PrivilegeLevel.Supervisor, Mstatus.Tvm },
        { "csrr satp", PrivilegeLevel.User, 0 },
        { "csrr mstatus", PrivilegeLevel.Supervisor, 0 },
        { "csrr sstatus", PrivilegeLevel.User, 0 },
    };

    [Theory]
    [MemberData(nameof(PrivilegedInstructions))]
    public void PrivilegedInstructionsAreIllegalWhereTheSpecSaysSo(string instruction, PrivilegeLevel mode, long mstatusBits)
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            if (mstatusBits != 0)
            {
                asm.Li(T0, mstatusBits).Csrs(Csr.Mstatus, T0);
            }

            asm.EnterMode(mode, "lower");
            asm.Label("lower");
            _ = instruction switch
            {
                "mret" => asm.Mret(),
                "sret" => asm.Sret(),
                "wfi" => asm.Wfi(),
                "sfence.vma" => asm.SfenceVma(),
                "csrr satp" => asm.Csrr(A0, Csr.Satp),
                "csrw satp" => asm.Csrw(Csr.Satp, Zero),
                "csrr mstatus" => asm.Csrr(A0, Csr.Mstatus),
                _ => asm.Csrr(A0, Csr.Sstatus),
            };
            asm.Halt();
            asm.MachineTrapRecorder("trap");
        });
        byte[] image = program.Build();
        machine.Run();
        uint bits = BitConverter.ToUInt32(image, (int)(program.AddressOf("lower") - program.Origin));
        Assert.Equal([2UL, program.AddressOf("lower"), bits], machine.Log);
    }

    public static TheoryData<string, PrivilegeLevel, long> AllowedInstructions => new()
    {
        { "sret", PrivilegeLevel.Supervisor, 0 },
        { "wfi", PrivilegeLevel.Supervisor, 0 },
        { "sfence.vma", PrivilegeLevel.Supervisor, 0 },
        { "csrr satp", PrivilegeLevel.Supervisor, 0 },
        { "sret", PrivilegeLevel.Machine, Mstatus.Tsr },
        { "sfence.vma", PrivilegeLevel.Machine, Mstatus.Tvm },
        { "csrr satp", PrivilegeLevel.Machine, Mstatus.Tvm },
        { "wfi", PrivilegeLevel.Machine, Mstatus.Tw },
    };

    [Theory]
    [MemberData(nameof(AllowedInstructions))]
    public void TheSameInstructionsAreAllowedWithoutTheTrapBitsOrInHigherModes(string instruction, PrivilegeLevel mode, long mstatusBits)
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, mstatusBits | Mstatus.Spp).Csrs(Csr.Mstatus, T0);

            // Let an external interrupt end a wfi without being taken: delegated to S and enabled
            // in sie, but S interrupts are never taken in M, nor in S while SIE = 0.
            asm.Li(T0, 1 << 9).Csrw(Csr.Mideleg, T0).Csrw(Csr.Mie, T0);
            asm.La(T0, "done").Csrw(Csr.Sepc, T0);
            if (mode != PrivilegeLevel.Machine)
            {
                asm.EnterMode(mode, "lower");
            }

            asm.Label("lower");
            _ = instruction switch
            {
                "sret" => asm.Sret(),
                "wfi" => asm.Wfi(),
                "sfence.vma" => asm.SfenceVma(),
                _ => asm.Csrr(A0, Csr.Satp),
            };
            asm.Label("done").Li(S2, 1).Halt();
            asm.MachineTrapRecorder("trap");
        });

        // wfi may wait: wake it with the interrupt prepared above.
        machine.Run(until: () => machine.Hart.RunState == HartRunState.WaitingForInterrupt || machine.IsSpinning());
        if (machine.Hart.RunState == HartRunState.WaitingForInterrupt)
        {
            Assert.Equal("wfi", instruction);
            machine.Hart.SetPin(RiscvInterruptBits.SupervisorExternal, true);
            machine.Run();
        }

        Assert.Empty(machine.Log);
        Assert.Equal(1UL, machine.X(S2));
    }
}
