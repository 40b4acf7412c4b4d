using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Privileged;

/// <summary>
/// The CSRs: identification, the WARL fields of mstatus and the trap registers, the sstatus
/// view, counters and their enables, read-only and nonexistent CSRs, PMP registers and satp.
/// </summary>
public sealed class CsrTests
{
    [Fact]
    public void MisaDescribesRv64Imafdcsu()
    {
        using var machine = new TestMachine();
        machine.Load(asm => asm.Csrr(S2, Csr.Misa).Li(T0, 0).Csrw(Csr.Misa, T0).Csrr(S3, Csr.Misa).Halt());
        machine.Run();
        ulong misa = machine.X(S2);
        Assert.Equal(2UL, misa >> 62); // MXL = 64 bits
        foreach (char extension in "ACDFIMSU")
        {
            Assert.True((misa & (1UL << (extension - 'A'))) != 0, $"misa lacks {extension}");
        }

        Assert.Equal(0UL, misa & (1UL << ('H' - 'A')));
        Assert.Equal(0UL, misa & (1UL << ('V' - 'A')));
        Assert.Equal(misa >> 62, machine.X(S3) >> 62); // a WARL write cannot change the XLEN
    }

    [Fact]
    public void MhartidIsTheHartIndex()
    {
        using var machine = new TestMachine(hartCount: 2);
        machine.Load(asm => asm.Csrr(S2, Csr.Mhartid).Halt());
        machine.Run(until: () => machine.IsSpinning(0) && machine.IsSpinning(1));
        Assert.Equal(0UL, machine.X(S2, hart: 0));
        Assert.Equal(1UL, machine.X(S2, hart: 1));
    }

    [Fact]
    public void MstatusWarlFieldsHoldOnlyLegalValues()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 2L << 11).Csrw(Csr.Mstatus, T0).Csrr(S2, Csr.Mstatus);  // MPP = 2 does not exist
            asm.Li(T0, -1).Csrw(Csr.Mstatus, T0).Csrr(S3, Csr.Mstatus);        // everything
            asm.Csrw(Csr.Mstatus, Zero).Csrr(S4, Csr.Mstatus);                 // nothing
            asm.Halt();
        });
        machine.Run();
        Assert.NotEqual(2UL, (machine.X(S2) >> 11) & 3);
        ulong all = machine.X(S3), none = machine.X(S4);

        // UXL and SXL are read-only 2 (64-bit U and S modes).
        Assert.Equal(2UL, (all >> 32) & 3);
        Assert.Equal(2UL, (all >> 34) & 3);
        Assert.Equal(2UL, (none >> 32) & 3);
        Assert.Equal(2UL, (none >> 34) & 3);

        // Little-endian only (UBE, SBE, MBE = 0), no H (MPV, GVA = 0), and no XS or VS state:
        // SD is the summary of FS alone.
        Assert.Equal(0UL, all & ((1UL << 6) | (1UL << 36) | (1UL << 37) | (1UL << 38) | (1UL << 39)));
        Assert.Equal(0UL, all & ((3UL << 9) | (3UL << 15)));
        Assert.Equal(1UL << 63, all & (1UL << 63));
        Assert.Equal(0UL, none & (1UL << 63));

        // The writable fields S-mode kernels and firmware use all stick.
        const long writable = Mstatus.Sie | Mstatus.Mie | Mstatus.Spie | Mstatus.Mpie | Mstatus.Spp | Mstatus.Mpp
            | Mstatus.Fs | Mstatus.Mprv | Mstatus.Sum | Mstatus.Mxr | Mstatus.Tvm | Mstatus.Tw | Mstatus.Tsr;
        Assert.Equal((ulong)writable, all & writable);
        Assert.Equal(0UL, none & writable);
    }

    [Fact]
    public void SstatusIsARestrictedViewOfMstatus()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, -1).Csrw(Csr.Mstatus, T0).Csrr(S2, Csr.Sstatus);
            asm.Csrw(Csr.Sstatus, Zero).Csrr(S3, Csr.Mstatus);   // clears only the S-visible fields
            asm.Li(T0, -1).Csrw(Csr.Sstatus, T0).Csrr(S4, Csr.Mstatus);
            asm.Halt();
        });
        machine.Run();
        const long sVisible = Mstatus.Sie | Mstatus.Spie | Mstatus.Spp | Mstatus.Fs | Mstatus.Sum | Mstatus.Mxr;
        const long mOnly = Mstatus.Mie | Mstatus.Mpie | Mstatus.Mpp | Mstatus.Mprv | Mstatus.Tvm | Mstatus.Tw | Mstatus.Tsr;
        ulong sstatus = machine.X(S2);
        Assert.Equal((ulong)sVisible, sstatus & sVisible);
        Assert.Equal(0UL, sstatus & mOnly);
        Assert.Equal(2UL, (sstatus >> 32) & 3);              // UXL is visible
        Assert.Equal(0UL, sstatus & (3UL << 34));            // SXL is not
        Assert.Equal(1UL << 63, sstatus & (1UL << 63));      // SD is
        Assert.Equal(0UL, machine.X(S3) & sVisible);
        Assert.Equal((ulong)mOnly, machine.X(S3) & mOnly);
        Assert.Equal((ulong)(mOnly | sVisible), machine.X(S4) & (mOnly | sVisible));
    }

    [Fact]
    public void SieWritesOnlyReachDelegatedBits()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 1 << 1).Csrw(Csr.Mideleg, T0);
            asm.Li(T0, -1).Csrw(Csr.Sie, T0).Csrr(S2, Csr.Mie).Csrr(S3, Csr.Sie);
            asm.Li(T0, (1 << 3) | (1 << 5)).Csrw(Csr.Mie, T0).Csrw(Csr.Sie, Zero).Csrr(S4, Csr.Mie);
            asm.Li(T0, -1).Csrw(Csr.Mideleg, T0).Csrr(S5, Csr.Mideleg);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(1UL << 1, machine.X(S2));
        Assert.Equal(1UL << 1, machine.X(S3));
        Assert.Equal((1UL << 3) | (1UL << 5), machine.X(S4)); // MSIE and the undelegated STIE survive
        Assert.Equal(0UL, machine.X(S5) & ((1UL << 3) | (1UL << 7) | (1UL << 11))); // M interrupts cannot be delegated
    }

    [Fact]
    public void TrapVectorsAndEpcsHoldOnlyLegalValues()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 0x8000_1002).Csrw(Csr.Mtvec, T0).Csrr(S2, Csr.Mtvec);  // mode 2 is reserved
            asm.Li(T0, 0x8000_1003).Csrw(Csr.Stvec, T0).Csrr(S3, Csr.Stvec);  // so is 3
            asm.Li(T0, 0x8000_1001).Csrw(Csr.Mtvec, T0).Csrr(S4, Csr.Mtvec);  // vectored
            asm.Li(T0, 0x8000_1237).Csrw(Csr.Mepc, T0).Csrr(S5, Csr.Mepc);    // IALIGN = 16: bit 0 reads 0
            asm.Li(T0, -1).Csrw(Csr.Sepc, T0).Csrr(S6, Csr.Sepc);
            asm.Li(T0, -1).Csrw(Csr.Mscratch, T0).Csrr(S7, Csr.Mscratch);
            asm.Li(T0, 0x1234_5678_9abc_def0).Csrw(Csr.Sscratch, T0).Csrr(S8, Csr.Sscratch);
            asm.Halt();
        });
        machine.Run();
        Assert.True((machine.X(S2) & 3) < 2);
        Assert.True((machine.X(S3) & 3) < 2);
        Assert.Equal(0x8000_1001UL, machine.X(S4));
        Assert.Equal(0x8000_1236UL, machine.X(S5));
        Assert.Equal(ulong.MaxValue - 1, machine.X(S6));
        Assert.Equal(ulong.MaxValue, machine.X(S7));
        Assert.Equal(0x1234_5678_9abc_def0UL, machine.X(S8));
    }

    [Fact]
    public void InstretCountsRetiredInstructionsAndAWriteReplacesTheIncrement()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Csrr(S2, Csr.Instret);
            for (int i = 0; i < 10; i++)
            {
                asm.Nop();
            }

            asm.Csrr(S3, Csr.Instret);
            asm.Li(T0, 1000).Csrw(Csr.Minstret, T0);
            asm.Csrr(S4, Csr.Minstret);   // "the write is done instead of the increment"
            asm.Csrr(S5, Csr.Cycle).Nop().Csrr(S6, Csr.Cycle);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(11UL, machine.X(S3) - machine.X(S2)); // the first csrr and ten nops
        Assert.Equal(1000UL, machine.X(S4));
        Assert.True(machine.X(S6) > machine.X(S5));
    }

    [Fact]
    public void AnInhibitedInstretDoesNotCountOrTheInhibitBitReadsZero()
    {
        // mcountinhibit is WARL: an implementation may hardwire IR to zero, but if the bit
        // sticks, minstret must stop counting.
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 1 << 2).Csrw(Csr.Mcountinhibit, T0).Csrr(S2, Csr.Mcountinhibit);
            asm.Csrr(S3, Csr.Minstret).Nop().Nop().Nop().Csrr(S4, Csr.Minstret);
            asm.Halt();
        });
        machine.Run();
        bool inhibited = (machine.X(S2) & (1 << 2)) != 0;
        Assert.Equal(inhibited ? 0UL : 4UL, machine.X(S4) - machine.X(S3));
    }

    [Fact]
    public void TimeReadsThePlatformTimer()
    {
        using var machine = new TestMachine();
        machine.Processor.ReadTime = () => 0x1234_5678_9abcUL;
        machine.Load(asm => asm.Csrr(S2, Csr.Time).Halt());
        machine.Run();
        Assert.Equal(0x1234_5678_9abcUL, machine.X(S2));
    }

    [Theory]
    [InlineData(PrivilegeLevel.Supervisor, 0u, 0u, false)]
    [InlineData(PrivilegeLevel.Supervisor, 0b1111u, 0u, true)]
    [InlineData(PrivilegeLevel.User, 0b1111u, 0u, false)]
    [InlineData(PrivilegeLevel.User, 0u, 0b1111u, false)]
    [InlineData(PrivilegeLevel.User, 0b1111u, 0b1111u, true)]
    public void CounterEnablesGateLowerModes(PrivilegeLevel mode, uint mcounteren, uint scounteren, bool allowed)
    {
        ushort[] counters = [Csr.Cycle, Csr.Time, Csr.Instret, Csr.Hpmcounter3];
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, mcounteren).Csrw(Csr.Mcounteren, T0).Li(T0, scounteren).Csrw(Csr.Scounteren, T0);
            asm.EnterMode(mode, "lower");
            asm.Label("lower");
            foreach (ushort counter in counters)
            {
                asm.Csrr(A0, counter).LogConstant(counter);
            }

            asm.Ecall();
            asm.Align(4).Label("trap").LogCsr(Csr.Mcause);
            asm.Csrr(T0, Csr.Mcause).Li(T1, 2).Bne(T0, T1, "stop");
            asm.Csrr(T0, Csr.Mepc).Addi(T0, T0, 4).Csrw(Csr.Mepc, T0).Mret();
            asm.Label("stop").Halt();
        });
        machine.Run();
        ulong ecall = mode == PrivilegeLevel.User ? 8UL : 9UL;
        ulong[] expected = allowed
            ? [.. counters.Select(c => (ulong)c), ecall]
            : [.. counters.SelectMany(c => new[] { 2UL, c }), ecall];
        Assert.Equal(expected, machine.Log);
    }

    [Fact]
    public void ReadOnlyCsrsRejectWritesButNotPureReads()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Csrrs(A0, Csr.Cycle, Zero).Csrrc(A0, Csr.Mhartid, Zero).Csrrsi(A0, Csr.Mvendorid, 0); // reads only
            asm.Label("w1").Csrrw(A0, Csr.Cycle, Zero);      // a write, even of x0
            asm.Label("w2").Csrrs(A0, Csr.Mhartid, T6);      // rs1 != x0: a write attempt, even if t6 = 0
            asm.Label("w3").Csrrci(A0, Csr.Marchid, 1);
            asm.Label("w4").Csrrwi(Zero, Csr.Mimpid, 0);
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Hart.SetRegister((int)T6, 0);
        machine.Run();
        Assert.Equal(12, machine.Log.Count);
        Assert.Equal(
            [program.AddressOf("w1"), program.AddressOf("w2"), program.AddressOf("w3"), program.AddressOf("w4")],
            machine.Log.Where((_, i) => i % 3 == 1));
        Assert.All(machine.Log.Where((_, i) => i % 3 == 0), cause => Assert.Equal(2UL, cause));
    }

    [Theory]
    [InlineData(0x3a1)] // pmpcfg1 exists only on RV32
    [InlineData(0xc80)] // cycleh: RV32 only
    [InlineData(0x600)] // hstatus: no H extension
    [InlineData(0x800)] // custom read/write
    [InlineData(0x7c0)] // custom machine
    [InlineData(0x015)] // seed: no Zkr
    [InlineData(0x5a8)] // scontext: no Sdtrig
    public void NonexistentCsrsAreIllegal(int csr)
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Label("read").Csrr(A0, (ushort)csr);
            asm.Label("write").Csrw((ushort)csr, Zero);
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Run();
        Assert.Equal(6, machine.Log.Count);
        Assert.Equal([2UL, program.AddressOf("read")], machine.Log.Take(2));
        Assert.Equal([2UL, program.AddressOf("write")], machine.Log.Skip(3).Take(2));
    }

    [Fact]
    public void PmpRegistersAreWarlAndLockedEntriesIgnoreWrites()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            // Entry 0: R=0 with W=1 is reserved, and so are bits 5-6.
            asm.Li(T0, 0x62).Csrw(Csr.Pmpcfg0, T0).Csrr(S2, Csr.Pmpcfg0);
            asm.Li(T0, -1).Csrw(Csr.Pmpaddr0, T0).Csrr(S3, Csr.Pmpaddr0);   // pmpaddr holds bits 55:2

            // Lock entry 2 as TOR: its pmpcfg byte and pmpaddr2 are frozen, and so is pmpaddr1
            // (the bottom of its range); entry 3 is not.
            asm.Li(T0, 0x1234).Csrw(Csr.Pmpaddr0 + 1, T0).Csrw(Csr.Pmpaddr0 + 2, T0).Csrw(Csr.Pmpaddr0 + 3, T0);
            asm.Li(T0, 0x8bL << 16).Csrw(Csr.Pmpcfg0, T0);                 // entry 2 = L | TOR | W | R
            asm.Li(T0, 0x0f_0f_0f_0f_0f_0fL).Csrw(Csr.Pmpcfg0, T0).Csrr(S4, Csr.Pmpcfg0);
            asm.Li(T0, 0x5678).Csrw(Csr.Pmpaddr0 + 1, T0).Csrw(Csr.Pmpaddr0 + 2, T0).Csrw(Csr.Pmpaddr0 + 3, T0);
            asm.Csrr(S5, Csr.Pmpaddr0 + 1).Csrr(S6, Csr.Pmpaddr0 + 2).Csrr(S7, Csr.Pmpaddr0 + 3);
            asm.Csrr(S8, 0x3ef); // pmpaddr63 exists (as an implemented or a read-only-zero entry)
            asm.Halt();
        });
        machine.Run();
        ulong cfg = machine.X(S2);
        Assert.NotEqual(0x02UL, cfg & 0x03);            // never R=0 with W=1
        Assert.Equal(0UL, cfg & 0x60);                  // reserved bits read 0
        Assert.Equal(0UL, machine.X(S3) >> 54);         // bits 63:54 are zero
        Assert.NotEqual(0UL, machine.X(S3));
        Assert.Equal(0x8bUL, (machine.X(S4) >> 16) & 0xff); // the locked byte kept its value
        Assert.Equal(0x0fUL, machine.X(S4) & 0xff);     // unlocked bytes took the write
        Assert.Equal(0x1234UL, machine.X(S5));          // locked through the TOR entry above it
        Assert.Equal(0x1234UL, machine.X(S6));          // locked itself
        Assert.Equal(0x5678UL, machine.X(S7));
    }

    [Fact]
    public void SatpIgnoresWritesOfUnsupportedModes()
    {
        const ulong sv39 = (8UL << 60) | 0x80123;
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, sv39).Csrw(Csr.Satp, T0).Csrr(S2, Csr.Satp);
            asm.Li(T0, (10UL << 60) | 0x80456).Csrw(Csr.Satp, T0).Csrr(S3, Csr.Satp); // Sv57: not supported
            asm.Li(T0, (1L << 60) | 0x80456).Csrw(Csr.Satp, T0).Csrr(S4, Csr.Satp);  // reserved mode
            asm.Li(T0, (9UL << 60) | 0x80789).Csrw(Csr.Satp, T0).Csrr(S5, Csr.Satp);  // Sv48
            asm.Csrw(Csr.Satp, Zero).Csrr(S6, Csr.Satp);                               // Bare
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(sv39, machine.X(S2));
        Assert.Equal(sv39, machine.X(S3));
        Assert.Equal(sv39, machine.X(S4));
        Assert.Equal((9UL << 60) | 0x80789, machine.X(S5));
        Assert.Equal(0UL, machine.X(S6));
    }

    [Fact]
    public void SatpHasSixteenAsidBits()
    {
        // Linux probes ASIDLEN by writing all ones to satp.ASID and reading back: 16 bits here
        // (ASIDMAX for Sv39/Sv48), so it gives each process its own ASID.
        const ulong sv39 = (8UL << 60) | 0x80123;
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, unchecked((long)(sv39 | (0xffffUL << 44)))).Csrw(Csr.Satp, T0).Csrr(S2, Csr.Satp);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xffffUL, (machine.X(S2) >> 44) & 0xffff);
        Assert.Equal(sv39, machine.X(S2) & ~(0xffffUL << 44));
    }
}
