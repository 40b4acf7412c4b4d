using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Privileged;

/// <summary>
/// Sv39 and Sv48 address translation with page tables built by the test: page sizes,
/// superpage alignment, A/D updates, R/W/X/U permissions with SUM and MXR, MPRV, canonical
/// addresses, malformed PTEs, sfence.vma, and fetch faults.
/// </summary>
/// <remarks>
/// Layout: code at RAM base, identity-mapped by a 2 MiB supervisor page (and aliased for U-mode
/// at <see cref="UserAlias"/>); page tables from <see cref="TablePool"/>, identity-mapped so
/// S-mode can edit them; data pages from <see cref="DataPhysical"/>; the test device
/// identity-mapped so S-mode can log. Traps go to an M-mode handler that logs mcause, mepc and
/// mtval, unless a test delegates them.
/// </remarks>
public sealed class MmuTests
{
    private const ulong Code = TestMachine.RamBase;
    private const ulong DataPhysical = TestMachine.RamBase + 0x40_0000;
    private const ulong TablePool = TestMachine.RamBase + 0x80_0000;
    private const ulong UserAlias = 0x4000_0000;
    private const ulong DataVirtual = 0x1_0000_0000; // 4 GiB: above everything identity-mapped

    private const ulong LoadPageFault = 13, StorePageFault = 15, FetchPageFault = 12;

    private sealed class Fixture : IDisposable
    {
        public Fixture(int levels = 3)
        {
            Machine = new TestMachine();
            Tables = new PageTableBuilder(Machine.Memory, TablePool, levels);
            Tables.Map(Code, Code, PageTableBuilder.Page2M, Pte.Rwx);
            Tables.Map(TablePool, TablePool, PageTableBuilder.Page2M, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
            Tables.Map(TestMachine.TestDeviceBase, TestMachine.TestDeviceBase, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
            Tables.Map(UserAlias, Code, PageTableBuilder.Page2M, Pte.Rwx | Pte.U);
        }

        public TestMachine Machine { get; }

        public PageTableBuilder Tables { get; }

        /// <summary>
        /// Loads a program whose prologue installs the M handler, turns translation on and enters
        /// <paramref name="mode"/> at the code <paramref name="body"/> emits, which ends with an
        /// ecall back to M. The handler logs mcause, mepc and mtval; it halts on an ecall, resumes
        /// at ra after a fetch fault (the bodies reach fetch faults with jalr ra), and otherwise
        /// skips the faulting instruction (bodies use 4-byte instructions only) unless
        /// <paramref name="resume"/> is false.
        /// </summary>
        public RiscvAssembler Load(Action<RiscvAssembler> body, PrivilegeLevel mode = PrivilegeLevel.Supervisor, bool resume = false, Action<RiscvAssembler>? beforeEntry = null)
        {
            return Machine.Load(asm =>
            {
                asm.SetMachineTrapVector("mtrap");
                asm.Li(T0, Tables.Satp()).Csrw(Csr.Satp, T0).SfenceVma();
                beforeEntry?.Invoke(asm);
                if (mode == PrivilegeLevel.User)
                {
                    // U-mode runs the same code through the U alias of the code page.
                    asm.Li(T0, 3L << 11).Csrc(Csr.Mstatus, T0);
                    asm.La(T0, "body").Li(T1, unchecked((long)(UserAlias - Code))).Add(T0, T0, T1).Csrw(Csr.Mepc, T0).Mret();
                }
                else if (mode == PrivilegeLevel.Supervisor)
                {
                    asm.EnterMode(mode, "body");
                }

                asm.Label("body");
                body(asm);
                asm.Ecall();
                asm.Halt();

                asm.Align(4).Label("mtrap").LogCsr(Csr.Mcause).LogCsr(Csr.Mepc).LogCsr(Csr.Mtval);
                asm.Csrr(T5, Csr.Mcause);
                asm.Li(T6, 8).Bgeu(T5, T6, "mtrap.ecall.or.page");
                asm.Label("mtrap.check.fetch");
                asm.Li(T6, 1).Beq(T5, T6, "mtrap.fetch");
                asm.J(resume ? "mtrap.skip" : "mtrap.stop");
                asm.Label("mtrap.ecall.or.page").Li(T6, 12).Bltu(T5, T6, "mtrap.stop").Beq(T5, T6, "mtrap.fetch");
                asm.J(resume ? "mtrap.skip" : "mtrap.stop");
                asm.Label("mtrap.fetch").Csrw(Csr.Mepc, Ra).Mret();
                asm.Label("mtrap.skip").Csrr(T5, Csr.Mepc).Addi(T5, T5, 4).Csrw(Csr.Mepc, T5).Mret();
                asm.Label("mtrap.stop").Halt();
            });
        }

        /// <summary>The log entries of page-fault traps as (cause, tval) pairs; the final ecall is left out.</summary>
        public List<(ulong Cause, ulong Tval)> Faults()
        {
            var faults = new List<(ulong, ulong)>();
            for (int i = 0; i + 2 < Machine.Log.Count; i += 3)
            {
                if (Machine.Log[i] is not (8 or 9 or 11))
                {
                    faults.Add((Machine.Log[i], Machine.Log[i + 2]));
                }
            }

            return faults;
        }

        public void Dispose() => Machine.Dispose();
    }

    // ------------------------------------------------------------------ translation and page sizes

    [Theory]
    [InlineData(3, PageTableBuilder.Page4K)]
    [InlineData(3, PageTableBuilder.Page2M)]
    [InlineData(3, PageTableBuilder.Page1G)]
    [InlineData(4, PageTableBuilder.Page4K)]
    [InlineData(4, PageTableBuilder.Page2M)]
    [InlineData(4, PageTableBuilder.Page1G)]
    public void LeavesOfEverySizeTranslateWithTheOffsetInsideThePage(int levels, ulong size)
    {
        // The virtual page is size-aligned; the physical one is the size-aligned region holding
        // the data area. The access goes to an offset inside the page that exercises its low bits.
        using var fixture = new Fixture(levels);
        ulong physicalBase = DataPhysical & ~(size - 1);
        ulong virtualBase = levels == 4 ? 0x0000_2000_0000_0000UL : DataVirtual;
        ulong offset = DataPhysical - physicalBase + 0x238;
        fixture.Tables.Map(virtualBase, physicalBase, size, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        fixture.Machine.Write(physicalBase + offset, 0x1122_3344_5566_7788UL);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)(virtualBase + offset));
            asm.Ld(S2, 0, S0);
            asm.Li(T0, 0x0bad_cafe).Sw(T0, 8, S0);
        });
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(0x1122_3344_5566_7788UL, fixture.Machine.X(S2));
        Assert.Equal(0x0bad_cafeU, fixture.Machine.Read<uint>(physicalBase + offset + 8));
    }

    [Fact]
    public void Sv48TerapagesMapHalfATerabyte()
    {
        // A level-3 leaf maps 512 GiB: physical 0 upwards, so RAM appears at VA base + 2 GiB.
        using var fixture = new Fixture(levels: 4);
        const ulong virtualBase = 0x0000_0100_0000_0000;
        fixture.Tables.Map(virtualBase, 0, PageTableBuilder.Page512G, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        fixture.Machine.Write(DataPhysical, 0xfeed_f00dUL);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)(virtualBase + DataPhysical)).Ld(S2, 0, S0);
            asm.Li(S1, (long)(virtualBase + TestMachine.TestDeviceBase + 8)).Li(T0, 77).Sd(T0, 0, S1); // MMIO through it too
        });
        fixture.Machine.Run();
        Assert.Equal(0xfeed_f00dUL, fixture.Machine.X(S2));
        Assert.Equal(77UL, fixture.Machine.Log[0]); // written through the terapage
        Assert.Equal(9UL, fixture.Machine.Log[1]);  // then the final ecall from S, and nothing else
        Assert.Equal(4, fixture.Machine.Log.Count);
    }

    [Theory]
    [InlineData(3, PageTableBuilder.Page2M, 0x1000UL)]
    [InlineData(3, PageTableBuilder.Page1G, PageTableBuilder.Page2M)]
    [InlineData(4, PageTableBuilder.Page512G, PageTableBuilder.Page1G)]
    public void MisalignedSuperpagesFault(int levels, ulong size, ulong misalignment)
    {
        using var fixture = new Fixture(levels);
        ulong virtualBase = levels == 4 ? 0x0000_0200_0000_0000UL : DataVirtual;
        fixture.Tables.Map(virtualBase, (DataPhysical & ~(size - 1)) + misalignment, size, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        fixture.Load(asm => asm.Li(S0, (long)virtualBase + 0x18).Ld(S2, 0, S0).Sd(S2, 0, S0), resume: true);
        fixture.Machine.Run();
        Assert.Equal([(LoadPageFault, virtualBase + 0x18), (StorePageFault, virtualBase + 0x18)], fixture.Faults());
    }

    // ------------------------------------------------------------------ A and D

    [Fact]
    public void HardwareSetsAccessedOnAnyAccessAndDirtyOnStores()
    {
        using var fixture = new Fixture();
        PageTableBuilder tables = fixture.Tables;
        ulong read = DataVirtual, written = DataVirtual + 0x1000, fetched = DataVirtual + 0x2000, super = DataVirtual + PageTableBuilder.Page2M;
        tables.Map(read, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W);
        tables.Map(written, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A);
        tables.Map(fetched, DataPhysical + 0x2000, PageTableBuilder.Page4K, Pte.V | Pte.X);
        tables.Map(super, DataPhysical & ~(PageTableBuilder.Page2M - 1), PageTableBuilder.Page2M, Pte.V | Pte.R | Pte.W);
        fixture.Machine.Write(DataPhysical + 0x2000, 0x0000_8067U); // ret
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)read).Ld(T0, 0, S0);
            asm.Li(S0, (long)written).Sd(T0, 0, S0);
            asm.Li(S0, (long)fetched).Jalr(Ra, S0, 0);
            asm.Li(S0, (long)super).Sd(T0, 0x100, S0);
        });
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(Pte.A, (Pte)tables.ReadEntry(read, 0) & (Pte.A | Pte.D));
        Assert.Equal(Pte.A | Pte.D, (Pte)tables.ReadEntry(written, 0) & (Pte.A | Pte.D));
        Assert.Equal(Pte.A, (Pte)tables.ReadEntry(fetched, 0) & (Pte.A | Pte.D));
        Assert.Equal(Pte.A | Pte.D, (Pte)tables.ReadEntry(super, 1) & (Pte.A | Pte.D));
    }

    [Fact]
    public void AccessesThatFaultLeaveAccessedAndDirtyAlone()
    {
        using var fixture = new Fixture();
        ulong readOnly = DataVirtual, userPage = DataVirtual + 0x1000;
        fixture.Tables.Map(readOnly, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R);
        fixture.Tables.Map(userPage, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.U);
        fixture.Load(asm => asm.Li(S0, (long)readOnly).Sd(Zero, 0, S0).Li(S0, (long)userPage).Ld(T0, 0, S0), resume: true);
        fixture.Machine.Run();
        Assert.Equal([(StorePageFault, readOnly), (LoadPageFault, userPage)], fixture.Faults());
        Assert.Equal(Pte.None, (Pte)fixture.Tables.ReadEntry(readOnly, 0) & (Pte.A | Pte.D));
        Assert.Equal(Pte.None, (Pte)fixture.Tables.ReadEntry(userPage, 0) & (Pte.A | Pte.D));
    }

    // ------------------------------------------------------------------ permissions

    public static TheoryData<string, PrivilegeLevel, Pte, long, bool> PermissionCases => new()
    {
        // access, mode, leaf permissions, mstatus bits, allowed
        { "load", PrivilegeLevel.Supervisor, Pte.R, 0, true },
        { "load", PrivilegeLevel.Supervisor, Pte.X, 0, false },
        { "load", PrivilegeLevel.Supervisor, Pte.X, Mstatus.Mxr, true },    // MXR: executable pages are readable
        { "load", PrivilegeLevel.Supervisor, Pte.W | Pte.R, 0, true },
        { "store", PrivilegeLevel.Supervisor, Pte.R, 0, false },
        { "store", PrivilegeLevel.Supervisor, Pte.R | Pte.X, Mstatus.Mxr, false },
        { "store", PrivilegeLevel.Supervisor, Pte.R | Pte.W, 0, true },
        { "amo", PrivilegeLevel.Supervisor, Pte.R, 0, false },               // AMOs need write permission
        { "amo", PrivilegeLevel.Supervisor, Pte.R | Pte.W, 0, true },
        { "lr", PrivilegeLevel.Supervisor, Pte.X, 0, false },
        { "fetch", PrivilegeLevel.Supervisor, Pte.R | Pte.W, 0, false },
        { "fetch", PrivilegeLevel.Supervisor, Pte.X, 0, true },
        { "load", PrivilegeLevel.Supervisor, Pte.R | Pte.U, 0, false },      // S touching U pages needs SUM
        { "load", PrivilegeLevel.Supervisor, Pte.R | Pte.U, Mstatus.Sum, true },
        { "store", PrivilegeLevel.Supervisor, Pte.R | Pte.W | Pte.U, Mstatus.Sum, true },
        { "fetch", PrivilegeLevel.Supervisor, Pte.X | Pte.U, Mstatus.Sum, false }, // never executes them
        { "load", PrivilegeLevel.User, Pte.R | Pte.U, 0, true },
        { "load", PrivilegeLevel.User, Pte.R, 0, false },
        { "load", PrivilegeLevel.User, Pte.R, Mstatus.Sum, false },           // SUM is for S only
        { "store", PrivilegeLevel.User, Pte.R | Pte.W | Pte.U, 0, true },
        { "fetch", PrivilegeLevel.User, Pte.X | Pte.U, 0, true },
        { "fetch", PrivilegeLevel.User, Pte.X, 0, false },
        { "load", PrivilegeLevel.User, Pte.X | Pte.U, Mstatus.Mxr, true },
    };

    [Theory]
    [MemberData(nameof(PermissionCases))]
    public void LeafPermissionsDecideWhatEachModeMayDo(string access, PrivilegeLevel mode, Pte permissions, long mstatusBits, bool allowed)
    {
        using var fixture = new Fixture();
        ulong page = DataVirtual;
        fixture.Tables.Map(page, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.A | Pte.D | permissions);
        fixture.Machine.Write(DataPhysical + 0x10, 0x0000_8067U); // ret, for fetches
        ulong at = page + 0x10;
        fixture.Load(
            asm =>
            {
                asm.Li(S0, (long)at);
                _ = access switch
                {
                    "load" => asm.Ld(T0, 0, S0),
                    "store" => asm.Sd(Zero, 0, S0),
                    "amo" => asm.AmoaddD(T0, Zero, S0),
                    "lr" => asm.LrD(T0, S0),
                    _ => asm.Jalr(Ra, S0, 0),
                };
            },
            mode,
            resume: access != "fetch",
            beforeEntry: asm => asm.Li(T0, mstatusBits).Csrs(Csr.Mstatus, T0));
        fixture.Machine.Run();

        ulong expectedCause = access switch
        {
            "load" or "lr" => LoadPageFault,
            "store" or "amo" => StorePageFault,
            _ => FetchPageFault,
        };
        Assert.Equal(allowed ? [] : [(expectedCause, at)], fixture.Faults());
    }

    public static TheoryData<ulong, string> MalformedEntries => new()
    {
        { (ulong)(Pte.V | Pte.W | Pte.A | Pte.D), "W without R is reserved" },
        { (ulong)(Pte.V | Pte.W | Pte.X | Pte.A | Pte.D), "W and X without R is reserved" },
        { (ulong)(Pte.R | Pte.W | Pte.A | Pte.D), "not valid" },
        { (ulong)(Pte.V | Pte.R | Pte.A | Pte.D) | (1UL << 60), "a reserved bit (60) set" },
        { (ulong)(Pte.V | Pte.R | Pte.A | Pte.D) | (1UL << 63), "N set without Svnapot" },
        { (ulong)(Pte.V | Pte.R | Pte.A | Pte.D) | (1UL << 61), "PBMT set without Svpbmt" },
    };

    [Theory]
    [MemberData(nameof(MalformedEntries))]
    public void MalformedLeavesRaisePageFaults(ulong flags, string description)
    {
        using var fixture = new Fixture();
        fixture.Tables.SetLeaf(DataVirtual, 0, ((DataPhysical >> 12) << 10) | flags);
        fixture.Load(asm => asm.Li(S0, (long)DataVirtual).Ld(T0, 0, S0), resume: true);
        fixture.Machine.Run();
        Assert.True(fixture.Faults().SequenceEqual([(LoadPageFault, DataVirtual)]), description);
    }

    [Fact]
    public void APointerAtTheLastLevelIsAPageFault()
    {
        using var fixture = new Fixture();
        fixture.Tables.SetLeaf(DataVirtual, 0, ((DataPhysical >> 12) << 10) | (ulong)Pte.V);
        fixture.Load(asm => asm.Li(S0, (long)DataVirtual).Sd(Zero, 0, S0), resume: true);
        fixture.Machine.Run();
        Assert.Equal([(StorePageFault, DataVirtual)], fixture.Faults());
    }

    [Fact]
    public void PageTablesOutsideRamGiveAccessFaultsOfTheAccessType()
    {
        using var fixture = new Fixture();
        fixture.Tables.SetLeaf(DataVirtual, 1, ((0x4000_0000UL >> 12) << 10) | (ulong)Pte.V); // next level: nothing there
        fixture.Load(asm => asm.Li(S0, (long)DataVirtual).Ld(T0, 0, S0).Sd(T0, 0, S0).Jalr(Ra, S0, 0), resume: true);
        fixture.Machine.Run();
        Assert.Equal([(5UL, DataVirtual), (7UL, DataVirtual), (1UL, DataVirtual)], fixture.Faults().Take(3));
    }

    [Fact]
    public void MstatusAndPrivilegeChangesApplyAtOnceToPagesAlreadyUsed()
    {
        // SUM, MXR and the privilege mode are part of every permission check: changing them needs
        // no sfence.vma, even for pages a previous access may have cached.
        using var fixture = new Fixture();
        ulong user = DataVirtual, executeOnly = DataVirtual + 0x1000;
        fixture.Tables.Map(user, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.U | Pte.A | Pte.D);
        fixture.Tables.Map(executeOnly, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.X | Pte.A);
        fixture.Load(
            asm =>
            {
                asm.Li(S0, (long)user).Li(S1, (long)executeOnly).Li(T1, Mstatus.Sum).Li(T2, Mstatus.Mxr);
                asm.Csrs(Csr.Sstatus, T1).Ld(T0, 0, S0).Sd(T0, 0, S0);   // allowed with SUM
                asm.Csrc(Csr.Sstatus, T1).Ld(T0, 0, S0).Sd(T0, 0, S0);   // two faults without it
                asm.Csrs(Csr.Sstatus, T2).Ld(T0, 0, S1);                  // allowed with MXR
                asm.Csrc(Csr.Sstatus, T2).Ld(T0, 0, S1);                  // a fault without it
            },
            resume: true);
        fixture.Machine.Run();
        Assert.Equal([(LoadPageFault, user), (StorePageFault, user), (LoadPageFault, executeOnly)], fixture.Faults());
    }

    [Fact]
    public void AStoreToAPageOnlyLoadedFromStillChecksWritePermission()
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.A);
        fixture.Tables.Map(DataVirtual + 0x1000, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A);
        fixture.Load(
            asm => asm.Li(S0, (long)DataVirtual).Ld(T0, 0, S0).Sd(T0, 0, S0).Li(S1, (long)DataVirtual + 0x1000).Ld(T0, 0, S1).Sd(T0, 0, S1),
            resume: true);
        fixture.Machine.Run();
        Assert.Equal([(StorePageFault, DataVirtual)], fixture.Faults());
        Assert.Equal(Pte.A | Pte.D, (Pte)fixture.Tables.ReadEntry(DataVirtual + 0x1000, 0) & (Pte.A | Pte.D));
    }

    [Fact]
    public void UserModeCannotUseWhatSupervisorModeJustAccessed()
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)DataVirtual).Ld(T0, 0, S0);
            asm.La(T0, "user").Li(T1, unchecked((long)(UserAlias - Code))).Add(T0, T0, T1).Csrw(Csr.Sepc, T0);
            asm.Li(T0, Mstatus.Spp).Csrc(Csr.Sstatus, T0).Sret();
            asm.Label("user").Ld(T0, 0, S0);
        });
        fixture.Machine.Run();
        Assert.Equal([(LoadPageFault, DataVirtual)], fixture.Faults());
    }

    // ------------------------------------------------------------------ addresses

    [Theory]
    [InlineData(3, 0x0000_0040_0000_0000UL)] // bit 38 set, bits 63:39 clear
    [InlineData(3, 0xffff_ff80_0000_0000UL - 0x1000)] // bit 38 clear, upper bits set
    [InlineData(3, 0x8000_0000_8000_0000UL)]
    [InlineData(4, 0x0000_8000_0000_0000UL)] // bit 47 set alone
    [InlineData(4, 0x0001_0000_0000_0000UL)]
    public void NonCanonicalAddressesRaisePageFaults(int levels, ulong address)
    {
        using var fixture = new Fixture(levels);
        fixture.Load(asm => asm.Li(S0, (long)address).Ld(T0, 0, S0).Sd(T0, 0, S0).Jalr(Ra, S0, 0), resume: true);
        fixture.Machine.Run();
        Assert.Equal([(LoadPageFault, address), (StorePageFault, address), (FetchPageFault, address)], fixture.Faults().Take(3));
    }

    [Fact]
    public void TheTopHalfOfTheAddressSpaceTranslatesWhenSignExtended()
    {
        using var fixture = new Fixture();
        const ulong high = 0xffff_ffc0_0000_0000; // the first canonical address with bit 38 set
        fixture.Tables.Map(high, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        fixture.Machine.Write(DataPhysical + 8, 0x5555UL);
        fixture.Load(asm => asm.Li(S0, unchecked((long)high)).Ld(S2, 8, S0));
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(0x5555UL, fixture.Machine.X(S2));
    }

    [Fact]
    public void MisalignedAccessesCrossingIntoAnUnmappedPageFaultOnTheSecondPage()
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        ulong at = DataVirtual + 0xffc;
        fixture.Load(asm => asm.Li(S0, (long)at).Ld(T0, 0, S0).Sd(T0, 0, S0), resume: true);
        fixture.Machine.Run();
        List<(ulong Cause, ulong Tval)> faults = fixture.Faults();
        Assert.Equal([LoadPageFault, StorePageFault], faults.Select(f => f.Cause));

        // mtval is the address of the part that faulted: inside the access, on the unmapped page.
        Assert.All(faults, f => Assert.InRange(f.Tval, DataVirtual + 0x1000, at + 7));
    }

    [Fact]
    public void AnInstructionStraddlingIntoANonExecutablePageReportsTheSecondHalf()
    {
        using var fixture = new Fixture();
        ulong first = DataVirtual, second = DataVirtual + 0x1000;
        fixture.Tables.Map(first, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.X | Pte.A);
        fixture.Tables.Map(second, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.A);
        fixture.Machine.Write(DataPhysical + 0xffe, 0x0000_0513U); // addi a0, x0, 0 split over the pages
        fixture.Load(asm => asm.Li(S0, (long)(first + 0xffe)).Jalr(Ra, S0, 0));
        fixture.Machine.Run();
        Assert.Equal([FetchPageFault, first + 0xffe, second], fixture.Machine.Log.Take(3));
    }

    [Fact]
    public void ACompressedInstructionEndingAPageDoesNotTouchTheNextPage()
    {
        // c.nop at the last halfword of an executable page followed by an unmapped page: it must
        // execute, and the fault must come from the next fetch, at the start of the next page.
        using var fixture = new Fixture();
        ulong page = DataVirtual;
        fixture.Tables.Map(page, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.X | Pte.A);
        fixture.Machine.Write(DataPhysical + 0xffe, (ushort)0x0001); // c.nop
        fixture.Load(asm => asm.Li(S0, (long)(page + 0xffe)).Jalr(Ra, S0, 0));
        fixture.Machine.Run();
        Assert.Equal([FetchPageFault, page + 0x1000, page + 0x1000], fixture.Machine.Log.Take(3));
    }

    // ------------------------------------------------------------------ MPRV

    [Theory]
    [InlineData(PrivilegeLevel.Supervisor, Pte.R | Pte.W, true)]
    [InlineData(PrivilegeLevel.Supervisor, Pte.R | Pte.W | Pte.U, false)]
    [InlineData(PrivilegeLevel.User, Pte.R | Pte.W | Pte.U, true)]
    [InlineData(PrivilegeLevel.User, Pte.R | Pte.W, false)]
    public void MprvTranslatesMachineModeDataAccessesAsMppWould(PrivilegeLevel mpp, Pte permissions, bool allowed)
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.A | Pte.D | permissions);
        fixture.Machine.Write(DataPhysical, 0xabcdUL);
        fixture.Load(
            asm =>
            {
                // Still in M: instruction fetch is not translated, data accesses are.
                asm.Li(T0, 3L << 11).Csrc(Csr.Mstatus, T0).Li(T0, ((long)mpp << 11) | Mstatus.Mprv).Csrs(Csr.Mstatus, T0);
                asm.Li(S0, (long)DataVirtual).Ld(S2, 0, S0);
                asm.Li(T0, Mstatus.Mprv).Csrc(Csr.Mstatus, T0);
            },
            PrivilegeLevel.Machine,
            resume: true);
        fixture.Machine.Run();
        if (allowed)
        {
            Assert.Empty(fixture.Faults());
            Assert.Equal(0xabcdUL, fixture.Machine.X(S2));
        }
        else
        {
            Assert.Equal([(LoadPageFault, DataVirtual)], fixture.Faults());
        }
    }

    [Fact]
    public void MprvWithMppMachineLeavesAccessesUntranslated()
    {
        using var fixture = new Fixture();
        fixture.Machine.Write(DataPhysical, 0x4242UL);
        fixture.Load(
            asm => asm.Li(T0, Mstatus.Mpp | Mstatus.Mprv).Csrs(Csr.Mstatus, T0).Li(S0, (long)DataPhysical).Ld(S2, 0, S0),
            PrivilegeLevel.Machine);
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(0x4242UL, fixture.Machine.X(S2));
    }

    // ------------------------------------------------------------------ delegation

    [Fact]
    public void DelegatedPageFaultsGoToSWithTheAddressInStval()
    {
        using var fixture = new Fixture();
        RiscvAssembler program = fixture.Load(
            asm =>
            {
                asm.SetSupervisorTrapVector("strap");
                asm.Li(S0, (long)DataVirtual).Label("load").Ld(T0, 0, S0);
                asm.Ecall();
                asm.Align(4).Label("strap").LogCsr(Csr.Scause).LogCsr(Csr.Sepc).LogCsr(Csr.Stval);
            },
            beforeEntry: asm => asm.Li(T0, (1 << 12) | (1 << 13) | (1 << 15)).Csrw(Csr.Medeleg, T0));
        fixture.Machine.Run();
        Assert.Equal([LoadPageFault, program.AddressOf("load"), DataVirtual], fixture.Machine.Log.Take(3));
        Assert.Equal(9UL, fixture.Machine.Log[3]); // then the handler's own ecall to M
    }

    // ------------------------------------------------------------------ sfence.vma

    public static TheoryData<string> FenceKinds => new() { "all", "address", "address in superpage", "asid" };

    [Theory]
    [MemberData(nameof(FenceKinds))]
    public void AfterSfenceVmaANewMappingIsUsed(string kind)
    {
        // Map the page to one frame, use it (filling any TLB), repoint the PTE at another frame
        // from S-mode, fence, and read again. Before the fence the spec allows either frame.
        using var fixture = new Fixture();
        bool superpage = kind == "address in superpage";
        ulong size = superpage ? PageTableBuilder.Page2M : PageTableBuilder.Page4K;
        int level = superpage ? 1 : 0;
        ulong va = DataVirtual + (superpage ? 0UL : 0x3000UL);
        ulong frameA = DataPhysical & ~(size - 1), frameB = frameA + (superpage ? PageTableBuilder.Page2M : 0x1000);
        fixture.Tables.Map(va, frameA, size, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        ulong offset = superpage ? 0x1_2340UL : 0x340UL;
        fixture.Machine.Write(frameA + offset, 0xaaaaUL);
        fixture.Machine.Write(frameB + offset, 0xbbbbUL);
        ulong pteAddress = fixture.Tables.EntryAddress(va, level);
        ulong newPte = fixture.Tables.ReadEntry(va, level) + ((frameB - frameA) >> 2);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)(va + offset)).Ld(S2, 0, S0);
            asm.Li(T0, (long)pteAddress).Li(T1, (long)newPte).Sd(T1, 0, T0);
            asm.Ld(S3, 0, S0); // either value is allowed here
            _ = kind switch
            {
                "all" => asm.SfenceVma(),
                "asid" => asm.Li(A7, 0).SfenceVma(Zero, A7), // all addresses of ASID 0, the one in use
                "address in superpage" => asm.Li(T0, (long)(va + 0x1000)).SfenceVma(T0), // another 4 KiB of the same leaf
                _ => asm.SfenceVma(S0),
            };
            asm.Ld(S4, 0, S0);
        });
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(0xaaaaUL, fixture.Machine.X(S2));
        Assert.Contains(fixture.Machine.X(S3), new[] { 0xaaaaUL, 0xbbbbUL });
        Assert.Equal(0xbbbbUL, fixture.Machine.X(S4));
    }

    [Fact]
    public void AfterSfenceVmaRemappedCodeIsFetchedFromTheNewFrame()
    {
        // The function at a virtual address returns 1 from one frame and 2 from another.
        using var fixture = new Fixture();
        ulong va = DataVirtual, frameA = DataPhysical, frameB = DataPhysical + 0x1000;
        fixture.Tables.Map(va, frameA, PageTableBuilder.Page4K, Pte.V | Pte.X | Pte.A);
        fixture.Machine.Write(frameA, 0x0010_0513U);     // li a0, 1
        fixture.Machine.Write(frameA + 4, 0x0000_8067U); // ret
        fixture.Machine.Write(frameB, 0x0020_0513U);     // li a0, 2
        fixture.Machine.Write(frameB + 4, 0x0000_8067U);
        ulong pteAddress = fixture.Tables.EntryAddress(va, 0);
        ulong newPte = fixture.Tables.ReadEntry(va, 0) + (0x1000 >> 2);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)va).Jalr(Ra, S0, 0).Mv(S2, A0);
            asm.Li(T0, (long)pteAddress).Li(T1, (long)newPte).Sd(T1, 0, T0).SfenceVma(S0);
            asm.Jalr(Ra, S0, 0).Mv(S3, A0);
        });
        fixture.Machine.Run();
        Assert.Empty(fixture.Faults());
        Assert.Equal(1UL, fixture.Machine.X(S2));
        Assert.Equal(2UL, fixture.Machine.X(S3));
    }

    [Fact]
    public void AfterSfenceVmaRevokedPermissionsFault()
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.W | Pte.X | Pte.A | Pte.D);
        fixture.Machine.Write(DataPhysical, 0x0000_8067U); // ret
        ulong pteAddress = fixture.Tables.EntryAddress(DataVirtual, 0);
        ulong readOnly = fixture.Tables.ReadEntry(DataVirtual, 0) & ~(ulong)(Pte.W | Pte.X);
        ulong invalid = readOnly & ~(ulong)Pte.V;
        fixture.Load(
            asm =>
            {
                asm.Li(S0, (long)DataVirtual).Sd(Zero, 8, S0).Jalr(Ra, S0, 0);           // fill the TLB for stores and fetches
                asm.Li(T0, (long)pteAddress).Li(T1, (long)readOnly).Sd(T1, 0, T0).SfenceVma(S0);
                asm.Sd(Zero, 8, S0);                                                    // now read-only
                asm.Ld(S2, 8, S0);                                                      // loads still work
                asm.Li(T1, (long)invalid).Sd(T1, 0, T0).SfenceVma();
                asm.Ld(S3, 8, S0);                                                      // now unmapped
            },
            resume: true);
        fixture.Machine.Run();
        Assert.Equal([(StorePageFault, DataVirtual + 8), (LoadPageFault, DataVirtual + 8)], fixture.Faults());
    }

    [Fact]
    public void SwitchingSatpToAnotherTableChangesTheMapping()
    {
        using var fixture = new Fixture();
        fixture.Tables.Map(DataVirtual, DataPhysical, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.A);
        var other = new PageTableBuilder(fixture.Machine.Memory, TablePool + 0x10_0000);
        other.Map(Code, Code, PageTableBuilder.Page2M, Pte.Rwx);
        other.Map(DataVirtual, DataPhysical + 0x1000, PageTableBuilder.Page4K, Pte.V | Pte.R | Pte.A);
        fixture.Machine.Write(DataPhysical, 1UL);
        fixture.Machine.Write(DataPhysical + 0x1000, 2UL);
        fixture.Load(asm =>
        {
            asm.Li(S0, (long)DataVirtual).Ld(S2, 0, S0);
            asm.Li(T0, other.Satp(asid: 1)).Csrw(Csr.Satp, T0).SfenceVma();
            asm.Ld(S3, 0, S0);
        });
        fixture.Machine.Run();
        Assert.Equal(1UL, fixture.Machine.X(S2));
        Assert.Equal(2UL, fixture.Machine.X(S3));
    }
}
