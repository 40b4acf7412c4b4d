using System.Text;
using Vessel.Cpu.Riscv.Sbi;
using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Vessel.Cpu.Riscv.Tests.Privileged;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Sbi;

/// <summary>
/// The built-in SBI (SBI v1.0 calling convention: a7 = extension, a6 = function, a0..a5
/// arguments, a0 = error and a1 = value on return): Base, TIME, IPI, HSM, SRST, DBCN and the
/// legacy calls, seen from S-mode code on a two-hart machine.
/// </summary>
public sealed class BuiltinSbiTests
{
    private const long Base = 0x10, Time = 0x54494d45, Ipi = 0x735049, Hsm = 0x48534d, Srst = 0x53525354, Dbcn = 0x4442434e, Rfence = 0x52464e43;
    private const ulong NotSupported = unchecked((ulong)-2L), InvalidParameter = unchecked((ulong)-3L);
    private const ulong InvalidAddress = unchecked((ulong)-5L), AlreadyAvailable = unchecked((ulong)-6L);
    private const ulong Data = TestMachine.RamBase + 0x10_0000;

    private sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Machine = new TestMachine(hartCount: 2);
            Platform = new FakeFirmwarePlatform(Machine.Processor);
            Machine.Processor.UseBuiltinFirmware(Platform);
        }

        public TestMachine Machine { get; }

        public FakeFirmwarePlatform Platform { get; }

        /// <summary>Loads the program and starts hart 0 in S-mode at its start, as the board does; hart 1 waits for HSM.</summary>
        public RiscvAssembler Start(Action<RiscvAssembler> build, ulong a1 = 0x8765_4321)
        {
            RiscvAssembler program = Machine.Load(build);
            Machine.Processor.Harts[0].StartInSupervisorMode(TestMachine.RamBase, 0, a1);
            Machine.Processor.Harts[1].StopUntilStarted();
            return program;
        }

        public void Dispose() => Machine.Dispose();
    }

    /// <summary>An SBI call whose error and value are then logged.</summary>
    private static RiscvAssembler Call(RiscvAssembler asm, long extension, long function, params long[] arguments)
    {
        for (int i = 0; i < arguments.Length; i++)
        {
            asm.Li((Reg)((int)A0 + i), arguments[i]);
        }

        asm.Li(A7, extension).Li(A6, function).Ecall();
        return asm.Log(A0).Log(A1);
    }

    [Fact]
    public void TheHartStartsInSupervisorModeWithHartIdAndDeviceTreeAddress()
    {
        using var fixture = new Fixture();
        fixture.Start(asm => asm.Mv(S2, A0).Mv(S3, A1).Halt(), a1: 0x8200_0000);
        fixture.Machine.Run();
        Assert.Equal(PrivilegeLevel.Supervisor, fixture.Machine.Hart.Privilege);
        Assert.Equal(0UL, fixture.Machine.X(S2));
        Assert.Equal(0x8200_0000UL, fixture.Machine.X(S3));
        Assert.Equal(HartRunState.Stopped, fixture.Machine.Processor.Harts[1].RunState);
    }

    [Fact]
    public void BaseExtensionReportsVersionAndProbesExtensions()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            Call(asm, Base, 0);                    // spec version
            Call(asm, Base, 3, Time);              // probe: present
            Call(asm, Base, 3, Hsm);
            Call(asm, Base, 3, 0x0123_4567);       // probe: absent
            Call(asm, Base, 99);                   // no such function
            Call(asm, 0x0abc_def0, 0);             // no such extension
            asm.Halt();
        });
        fixture.Machine.Run();
        ulong[] log = [.. fixture.Machine.Log];
        Assert.Equal([0UL, 1UL << 24], log[0..2]);        // v1.0: major in bits 30:24
        Assert.Equal(0UL, log[2]);
        Assert.NotEqual(0UL, log[3]);
        Assert.NotEqual(0UL, log[5]);
        Assert.Equal([0UL, 0UL], log[6..8]);
        Assert.Equal(NotSupported, log[8]);
        Assert.Equal(NotSupported, log[10]);
    }

    [Fact]
    public void AnSbiCallPreservesEveryRegisterButA0AndA1()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            for (int r = 1; r < 32; r++)
            {
                if (r is not (10 or 11 or 16 or 17))
                {
                    asm.Li((Reg)r, 0x1000 + r);
                }
            }

            asm.Li(A7, Base).Li(A6, 0).Ecall();
            asm.Halt();
        });
        fixture.Machine.Run();
        for (int r = 1; r < 32; r++)
        {
            if (r is not (10 or 11 or 16 or 17))
            {
                Assert.Equal(0x1000UL + (ulong)r, fixture.Machine.X((Reg)r));
            }
        }

        Assert.Equal((ulong)Base, fixture.Machine.X(A7));
        Assert.Equal(PrivilegeLevel.Supervisor, fixture.Machine.Hart.Privilege);
    }

    [Fact]
    public void SetTimerProgramsTheComparatorAndItsInterruptReachesSupervisorMode()
    {
        using var fixture = new Fixture();
        fixture.Platform.Now = 5000;
        fixture.Start(asm =>
        {
            asm.SetSupervisorTrapVector("strap");
            asm.Li(T0, 1 << 5).Csrs(Csr.Sie, T0).Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0);
            Call(asm, Time, 0, 9000);             // in the future: nothing happens
            Call(asm, Time, 0, 4000);             // already due: the interrupt comes right after the ecall
            asm.Li(A0, -1).Li(A7, 0).Ecall();     // the legacy set_timer, to "never": clears it
            asm.Csrr(S2, Csr.Sip).Halt();
            asm.Align(4).Label("strap").LogCsr(Csr.Scause).LogCsr(Csr.Sip);
            asm.Li(T0, 1 << 5).Csrc(Csr.Sie, T0).Sret();
        });
        fixture.Machine.Run();
        Assert.Equal([(0, 9000UL), (0, 4000UL), (0, ulong.MaxValue)], fixture.Platform.TimerCalls);
        Assert.Equal(6, fixture.Machine.Log.Count);
        Assert.Equal([0UL, 0UL, (1UL << 63) | 5], fixture.Machine.Log.Take(3));
        Assert.Equal(1UL << 5, fixture.Machine.Log[3] & (1UL << 5)); // STIP while pending
        Assert.Equal([0UL, 0UL], fixture.Machine.Log.Skip(4));      // the second call's result
        Assert.Equal(0UL, fixture.Machine.X(S2) & (1UL << 5));
    }

    [Fact]
    public void HsmStartsAndStopsTheOtherHartAndReportsItsState()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            asm.Li(S0, (long)Data);
            asm.Csrr(T0, Csr.Sscratch); // (S-mode CSRs work: we really are in S)
            Call(asm, Hsm, 2, 1);                              // status of hart 1: stopped
            asm.La(T0, "secondary");
            asm.Mv(A1, T0).Li(A0, 1).Li(A2, 0x5eed).Li(A7, Hsm).Li(A6, 0).Ecall().Log(A0);
            Call(asm, Hsm, 2, 1);                              // started
            asm.Mv(A1, T0).Li(A0, 1).Li(A2, 0).Li(A7, Hsm).Li(A6, 0).Ecall().Log(A0); // already started
            Call(asm, Hsm, 0, 7, (long)TestMachine.RamBase, 0); // no hart 7
            Call(asm, Hsm, 0, 1, 0x1000, 0);                    // start address outside RAM (hart 1 is running, though)
            asm.Label("wait").Ld(T1, 0, S0).Beqz(T1, "wait");  // hart 1 says it ran
            asm.Label("wait.stop").Li(A0, 1).Li(A7, Hsm).Li(A6, 2).Ecall().Beqz(A0, "stopped.check").J("wait.stop");
            asm.Label("stopped.check").Li(T1, 1).Bne(A1, T1, "wait.stop");
            asm.Log(A1);
            asm.Halt();

            // Hart 1 starts with only a0 (its hartid) and a1 (the opaque value) set.
            asm.Label("secondary").Li(T6, (long)Data).Sd(A0, 8, T6).Sd(A1, 16, T6);
            asm.Csrr(T0, Csr.Sstatus).Sd(T0, 24, T6);
            asm.Li(T0, 1).Sd(T0, 0, T6);
            asm.Li(A7, Hsm).Li(A6, 1).Ecall();                // hart_stop: does not return
            asm.Li(T0, 2).Sd(T0, 0, T6).Halt();
        });
        fixture.Machine.Run();

        ulong[] log = [.. fixture.Machine.Log];
        Assert.Equal([0UL, 1UL], log[0..2]);              // STOPPED
        Assert.Equal(0UL, log[2]);                          // hart_start succeeded
        Assert.Equal([0UL, 0UL], log[3..5]);              // STARTED
        Assert.Equal(AlreadyAvailable, log[5]);
        Assert.Equal(InvalidParameter, log[6]);
        Assert.Contains(log[8], new[] { InvalidAddress, AlreadyAvailable });
        Assert.Equal(1UL, log[^1]);                         // STOPPED again after hart_stop
        Assert.Equal(1UL, fixture.Machine.Read<ulong>(Data));
        Assert.Equal(1UL, fixture.Machine.Read<ulong>(Data + 8));      // a0 = its hartid
        Assert.Equal(0x5eedUL, fixture.Machine.Read<ulong>(Data + 16)); // a1 = opaque
        Assert.Equal(HartRunState.Stopped, fixture.Machine.Processor.Harts[1].RunState);
        Assert.Equal(PrivilegeLevel.Supervisor, fixture.Machine.Processor.Harts[1].Privilege);
    }

    [Fact]
    public void AnIpiSetsTheTargetsSupervisorSoftwarePending()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            asm.Li(S0, (long)Data);
            asm.La(A1, "secondary").Li(A0, 1).Li(A2, 0).Li(A7, Hsm).Li(A6, 0).Ecall();
            asm.Label("wait").Ld(T1, 0, S0).Beqz(T1, "wait");          // hart 1 is ready
            Call(asm, Ipi, 0, 0b10, 0);                                 // to hart 1
            Call(asm, Ipi, 0, 0b100, 0);                                // hart 2 does not exist
            asm.Label("wait.ack").Ld(T1, 8, S0).Beqz(T1, "wait.ack");
            Call(asm, Ipi, 0, 0, -1);                                   // everyone, this hart included
            asm.Csrr(S2, Csr.Sip);
            asm.Halt();

            asm.Label("secondary").Li(S0, (long)Data);
            asm.SetSupervisorTrapVector("ssi");
            asm.Li(T0, 1 << 1).Csrs(Csr.Sie, T0).Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0);
            asm.Li(T0, 1).Sd(T0, 0, S0);
            asm.Label("idle").Wfi().J("idle");
            asm.Align(4).Label("ssi").Csrr(T0, Csr.Scause).Sd(T0, 8, S0);
            asm.Li(T0, 1 << 1).Csrc(Csr.Sip, T0).Sret();
        });
        fixture.Machine.Run();
        ulong[] log = [.. fixture.Machine.Log];
        Assert.Equal(0UL, log[0]);
        Assert.Equal(InvalidParameter, log[2]);
        Assert.Equal(0UL, log[4]);
        Assert.Equal((1UL << 63) | 1, fixture.Machine.Read<ulong>(Data + 8));
        Assert.Equal(1UL << 1, fixture.Machine.X(S2) & (1UL << 1)); // the broadcast reached hart 0 too
    }

    [Theory]
    [InlineData(0L, 0L, SystemResetKind.Shutdown)]
    [InlineData(0L, 1L, SystemResetKind.Failure)]
    [InlineData(1L, 0L, SystemResetKind.Reboot)]
    [InlineData(2L, 0L, SystemResetKind.Reboot)]
    public void SystemResetCallsThePlatformAndDoesNotReturn(long type, long reason, SystemResetKind expected)
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            Call(asm, Srst, 0, type, reason);
            asm.LogConstant(-1).Halt();
        });
        fixture.Machine.Run(until: () => fixture.Machine.Hart.RunState == HartRunState.Stopped);
        Assert.Equal([expected], fixture.Platform.Resets);
        Assert.Empty(fixture.Machine.Log);
    }

    [Fact]
    public void SystemResetRejectsReservedTypesAndReasons()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            Call(asm, Srst, 0, 3, 0);
            Call(asm, Srst, 0, 0, 2);
            asm.Halt();
        });
        fixture.Machine.Run();
        Assert.Empty(fixture.Platform.Resets);
        Assert.Equal(InvalidParameter, fixture.Machine.Log[0]);
        Assert.Equal(InvalidParameter, fixture.Machine.Log[2]);
    }

    [Fact]
    public void DebugConsoleWritesAndReadsBytes()
    {
        using var fixture = new Fixture();
        fixture.Platform.QueueInput((byte)'o', (byte)'k');
        fixture.Start(asm =>
        {
            asm.La(S1, "text");
            asm.Mv(A1, S1).Li(A0, 6).Li(A2, 0).Li(A7, Dbcn).Li(A6, 0).Ecall().Log(A0).Log(A1); // console_write
            Call(asm, Dbcn, 2, '!');                                                            // console_write_byte
            Call(asm, Dbcn, 0, 4, 0x10, 0);                                                     // not RAM
            asm.Li(A1, (long)Data).Li(A0, 8).Li(A2, 0).Li(A7, Dbcn).Li(A6, 1).Ecall().Log(A0).Log(A1); // console_read
            asm.Li(A0, 'x').Li(A7, 1).Ecall().Log(A0);                                          // legacy putchar
            asm.Halt();
            asm.Label("text").Bytes("hello\n"u8);
        });
        fixture.Machine.Run();
        ulong[] log = [.. fixture.Machine.Log];
        Assert.Equal("hello\n!x", Encoding.ASCII.GetString([.. fixture.Platform.Console]));
        Assert.Equal([0UL, 6UL], log[0..2]);
        Assert.Equal(0UL, log[2]);
        Assert.Equal(InvalidParameter, log[4]);
        Assert.Equal([0UL, 2UL], log[6..8]);
        Assert.Equal((ushort)('o' | ('k' << 8)), fixture.Machine.Read<ushort>(Data));
        Assert.Equal(0UL, log[8]);
    }

    [Fact]
    public void ARemoteSfenceVmaMakesTheOtherHartSeeANewMapping()
    {
        // Both harts translate the same page; hart 1 reads it (filling its TLB), hart 0 repoints
        // the PTE and asks the SBI to fence hart 1, after which hart 1 must read the new frame.
        const ulong tables = TestMachine.RamBase + 0x80_0000, frameA = TestMachine.RamBase + 0x40_0000, frameB = frameA + 0x1000;
        const ulong va = 0x1_0000_0000, flags = Data + 0x8000; // (not in the same TLB slot as va)
        using var fixture = new Fixture();
        var builder = new PageTableBuilder(fixture.Machine.Memory, tables);
        builder.Map(TestMachine.RamBase, TestMachine.RamBase, PageTableBuilder.Page1G, Pte.Rwx);
        builder.Map(TestMachine.TestDeviceBase, TestMachine.TestDeviceBase, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        builder.Map(va, frameA, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.A);
        fixture.Machine.Write(frameA, 0xaaUL);
        fixture.Machine.Write(frameB, 0xbbUL);
        ulong pteAddress = builder.EntryAddress(va, 0), newPte = builder.ReadEntry(va, 0) + (0x1000 >> 2);
        fixture.Start(asm =>
        {
            asm.Li(T0, (long)builder.Satp()).Csrw(Csr.Satp, T0).SfenceVma();
            asm.Li(S0, (long)flags).Li(S1, (long)va);
            asm.La(A1, "secondary").Li(A0, 1).Li(A2, 0).Li(A7, Hsm).Li(A6, 0).Ecall();
            asm.Label("wait").Ld(T1, 0, S0).Beqz(T1, "wait");
            asm.Li(T0, (long)pteAddress).Li(T1, (long)newPte).Sd(T1, 0, T0);
            Call(asm, Rfence, 1, 0b10, 0, (long)va, 0x1000);   // remote sfence.vma for hart 1
            asm.Li(T1, 1).Sd(T1, 8, S0);
            asm.Label("wait.done").Ld(T1, 16, S0).Beqz(T1, "wait.done");
            asm.Halt();

            asm.Label("secondary").Li(T0, (long)builder.Satp()).Csrw(Csr.Satp, T0).SfenceVma();
            asm.Li(S0, (long)flags).Li(S1, (long)va);
            asm.Ld(S2, 0, S1).Ld(S2, 0, S1);                  // used twice: surely in the TLB
            asm.Li(T1, 1).Sd(T1, 0, S0);
            asm.Label("wait.fence").Ld(T1, 8, S0).Beqz(T1, "wait.fence");
            asm.Ld(S3, 0, S1);
            asm.Li(T1, 1).Sd(T1, 16, S0);
            asm.Halt();
        });
        fixture.Machine.Run(until: () => fixture.Machine.IsSpinning(0) && fixture.Machine.IsSpinning(1));
        Assert.Equal(0UL, fixture.Machine.Log[0]);
        Assert.Equal(0xaaUL, fixture.Machine.X(S2, hart: 1));
        Assert.Equal(0xbbUL, fixture.Machine.X(S3, hart: 1));
    }

    [Fact]
    public void HartSuspendWaitsForAnInterruptAndReturnsSuccess()
    {
        using var fixture = new Fixture();
        fixture.Platform.Now = 0;
        fixture.Start(asm =>
        {
            asm.Li(T0, 1 << 5).Csrs(Csr.Sie, T0);             // STIE, with sstatus.SIE clear: wake, no trap
            Call(asm, Time, 0, 100);                          // due later
            Call(asm, Hsm, 3, 0, 0, 0);                       // default retentive suspend
            Call(asm, Hsm, 3, 0x8000_0000, 0, 0);             // non-retentive: not supported here
            asm.Halt();
        });
        fixture.Machine.Run(until: () => fixture.Machine.Hart.RunState == HartRunState.WaitingForInterrupt);
        Assert.Equal(2, fixture.Machine.Log.Count);            // only set_timer has returned

        fixture.Platform.Now = 100;
        fixture.Machine.Hart.SetPin(Vessel.Machine.Interrupts.RiscvInterruptBits.MachineTimer, true); // the comparator fires
        fixture.Machine.Run();
        Assert.Equal([0UL, 0UL, 0UL, 0UL], fixture.Machine.Log.Take(4));
        Assert.Contains(fixture.Machine.Log[4], new[] { NotSupported, InvalidParameter });
    }

    [Fact]
    public void EcallsFromUserModeStillTrapToTheKernel()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            asm.SetSupervisorTrapVector("strap");
            asm.La(T0, "user").Csrw(Csr.Sepc, T0).Li(T0, Mstatus.Spp).Csrc(Csr.Sstatus, T0).Sret();
            asm.Label("user").Li(A7, Base).Ecall();
            asm.Halt();
            asm.Align(4).Label("strap").LogCsr(Csr.Scause).Halt();
        });
        fixture.Machine.Run();
        Assert.Equal([8UL], fixture.Machine.Log);
    }

    [Fact]
    public void RemoteFencesSucceedForExistingHartsOnly()
    {
        using var fixture = new Fixture();
        fixture.Start(asm =>
        {
            Call(asm, Rfence, 0, 0b1, 0);            // remote fence.i
            Call(asm, Rfence, 1, 0b1, 0, 0, -1);     // remote sfence.vma, everything
            Call(asm, Rfence, 2, 0b1, 0, 0, -1, 0);  // remote sfence.vma.asid
            Call(asm, Rfence, 1, 0b1000, 0, 0, -1);  // hart 3 does not exist
            Call(asm, Rfence, 3, 0b1, 0, 0, -1);     // hypervisor fences: no H extension
            asm.Halt();
        });
        fixture.Machine.Run();
        ulong[] log = [.. fixture.Machine.Log];
        Assert.Equal([0UL, 0UL, 0UL, InvalidParameter, NotSupported], log.Where((_, i) => i % 2 == 0));
    }
}
