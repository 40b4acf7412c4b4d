using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Programs that run in S-mode under Sv39 and change their own address space: remapping a page
/// that holds translated code (with a one-page or a global <c>sfence.vma</c>), switching
/// <c>satp</c>, running one physical page at two virtual addresses, faulting mid-block, and
/// fetching an instruction that straddles into a page that is not executable. The M-mode trap
/// handler stores mcause, mepc and mtval in x20..x22 and waits.
/// </summary>
public sealed class PagingDifferentialTests
{
    private const ulong Boot = TestMachine.RamBase;
    private const ulong MachineHandler = Boot + 0x800;
    private const ulong CodePhysical = Boot + 0x1_0000;
    private const ulong TableArea = Boot + 0x4_0000;
    private const ulong SecondTableArea = Boot + 0x6_0000;
    private const ulong DataPhysical = Boot + 0x8_0000;

    private const ulong CodeVirtual = 0x40_0000;
    private const ulong FunctionVirtual = 0x50_0000;
    private const ulong AliasVirtual = 0x60_0000;
    private const ulong TableWindow = 0x7000_0000;
    private const ulong DataVirtual = 0x80_0000;

    // Pages whose TLB slots differ from the code page's, so that their translations stay
    // cached while the code page is in use (the pages above all share slot 0).
    private const ulong SpaceFunctionVirtual = 0x50_5000;
    private const ulong SpaceDataVirtual = 0x80_3000;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RemappingAPageOfTranslatedCodeRunsTheNewCode(bool onePageFence)
    {
        var tables = new PageTables(TableArea);
        MapCommon(tables);
        ulong first = CodePhysical + 0x1000, second = CodePhysical + 0x2000;
        tables.Map(FunctionVirtual, first);
        ulong leaf = tables.LeafAddress(FunctionVirtual);

        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(13, (long)FunctionVirtual);
        CallTenTimes(code);
        code.Li(14, (long)(TableWindow + (leaf - TableArea))).Li(15, (long)PageTables.Leaf(second));
        code.Emit(Rv.Sd(15, 14, 0));
        code.Emit(onePageFence ? Rv.SfenceVma(13, 0) : Rv.SfenceVma(0, 0));
        CallTenTimes(code);
        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, tables.Satp);
                tables.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(first, Function(1));
                machine.Load(second, Function(100));
            },
            Boot);

        Assert.Equal(1010UL, state.Registers[11]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RemappingAChainedTargetPageRunsTheNewMapping(bool onePageFence)
    {
        // The code page jumps (jal) to the next virtual page, whose function jumps (jal)
        // straight back: translated, the two regions chain through exit links, which cache the
        // next page's physical block. Remapping that virtual page (the old physical page stays
        // intact and its blocks valid) and fencing must reach the new page's code.
        var tables = new PageTables(TableArea);
        MapCommon(tables);
        ulong target = CodeVirtual + 0x1000;
        ulong first = CodePhysical + 0x1000, second = CodePhysical + 0x2000;
        tables.Map(target, first);
        ulong leaf = tables.LeafAddress(target);

        var code = new Code(CodeVirtual);
        Code.Label outer = code.NewLabel();
        Code.Label call = code.NewLabel();
        Code.Label back = code.NewLabel();
        Code.Label done = code.NewLabel();
        code.Li(11, 0).Li(13, (long)target).Li(16, 2);
        code.Bind(outer);
        code.Li(12, 50);
        code.Bind(call);
        code.Emit(Rv.Jal(0, (int)(target - code.Here)));
        code.Bind(back);
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(call, offset => Rv.Bne(12, 0, offset));
        code.Emit(Rv.Addi(16, 16, -1));
        code.Emit(done, offset => Rv.Beq(16, 0, offset));
        code.Li(14, (long)(TableWindow + (leaf - TableArea))).Li(15, (long)PageTables.Leaf(second));
        code.Emit(Rv.Sd(15, 14, 0));
        code.Emit(onePageFence ? Rv.SfenceVma(13, 0) : Rv.SfenceVma(0, 0));
        code.Emit(outer, offset => Rv.Jal(0, offset));
        code.Bind(done);
        code.Emit(Rv.Ecall());

        byte[] FunctionAdding(int value)
        {
            var function = new Code(target);
            function.Emit(Rv.Addi(11, 11, value));
            function.Emit(Rv.Jal(0, (int)(CodeVirtual + (ulong)back.Position - function.Here)));
            return function.ToArray();
        }

        long chained = 0;
        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, tables.Satp);
                tables.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(first, FunctionAdding(1));
                machine.Load(second, FunctionAdding(100));
            },
            Boot,
            inspect: statistics => chained = statistics.ChainedDispatches);

        Assert.Equal(50UL + (50 * 100), state.Registers[11]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
        Assert.True(chained > 50, $"only {chained} dispatches chained");
    }

    [Fact]
    public void SwitchingSatpSwitchesCode()
    {
        var a = new PageTables(TableArea);
        var b = new PageTables(SecondTableArea);
        MapCommon(a);
        MapCommon(b);
        a.Map(FunctionVirtual, CodePhysical + 0x1000);
        b.Map(FunctionVirtual, CodePhysical + 0x2000);

        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(13, (long)FunctionVirtual).Li(16, (long)b.Satp).Li(17, (long)a.Satp);
        for (int round = 0; round < 3; round++)
        {
            CallTenTimes(code);
            code.Emit(Rv.Csrw(0x180, 16));
            CallTenTimes(code);
            code.Emit(Rv.Csrw(0x180, 17));
        }

        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, a.Satp);
                a.WriteTo(machine);
                b.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(CodePhysical + 0x1000, Function(1));
                machine.Load(CodePhysical + 0x2000, Function(100));
            },
            Boot);

        Assert.Equal(3030UL, state.Registers[11]);
    }

    [Fact]
    public void TwoAddressSpacesWithDifferentAsidsEachSeeTheirOwnMappingsWithoutFences()
    {
        // ASID 1 and ASID 2 map the same virtual code and data pages to different physical
        // pages; the program switches satp back and forth without any sfence.vma, which the
        // spec allows (the hart may keep both spaces' translations), so each must see its own.
        var a = new PageTables(TableArea);
        var b = new PageTables(SecondTableArea);
        MapCommon(a);
        MapCommon(b);
        a.Map(SpaceFunctionVirtual, CodePhysical + 0x1000);
        b.Map(SpaceFunctionVirtual, CodePhysical + 0x2000);
        a.Map(SpaceDataVirtual, DataPhysical);
        b.Map(SpaceDataVirtual, DataPhysical + 0x1000);

        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(19, 0).Li(13, (long)SpaceFunctionVirtual).Li(14, (long)SpaceDataVirtual);
        code.Li(16, (long)b.SatpWithAsid(2)).Li(17, (long)a.SatpWithAsid(1));
        for (int round = 0; round < 5; round++)
        {
            CallTenTimes(code);
            code.Emit(Rv.Ld(18, 14, 0)).Emit(Rv.Add(19, 19, 18));
            code.Emit(Rv.Csrw(0x180, 16));
            CallTenTimes(code);
            code.Emit(Rv.Ld(18, 14, 0)).Emit(Rv.Add(19, 19, 18));
            code.Emit(Rv.Csrw(0x180, 17));
        }

        code.Emit(Rv.Ecall());

        long kept = 0;
        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, a.SatpWithAsid(1));
                a.WriteTo(machine);
                b.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(CodePhysical + 0x1000, Function(1));
                machine.Load(CodePhysical + 0x2000, Function(100));
                machine.Memory.Write(DataPhysical, 7UL);
                machine.Memory.Write(DataPhysical + 0x1000, 700UL);
            },
            Boot,
            inspect: statistics => kept = statistics.SatpSwitchesKept);

        Assert.Equal(5UL * (10 + 1000), state.Registers[11]);
        Assert.Equal(5UL * (7 + 700), state.Registers[19]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
        Assert.True(kept >= 9, $"only {kept} satp switches found their address space cached");
    }

    [Fact]
    public void MoreAddressSpacesThanTheHartKeepsEachSeeTheirOwnMapping()
    {
        // Ten address spaces (ASIDs 1..10) visited in turn, three times, without fences: more
        // than the hart keeps cached at once, so spaces are evicted and come back.
        const int Spaces = 10;
        const ulong Tables = Boot + 0x10_0000;
        var spaces = new PageTables[Spaces];
        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(13, (long)SpaceFunctionVirtual);
        for (int i = 0; i < Spaces; i++)
        {
            spaces[i] = new PageTables(Tables + ((ulong)i * 0x1_0000));
            spaces[i].Map(CodeVirtual, CodePhysical);
            spaces[i].Map(SpaceFunctionVirtual, CodePhysical + ((ulong)(i + 1) * 0x1000));
        }

        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < Spaces; i++)
            {
                code.Li(16, (long)spaces[i].SatpWithAsid((ulong)i + 1)).Emit(Rv.Csrw(0x180, 16));
                CallTenTimes(code);
            }
        }

        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, spaces[0].SatpWithAsid(1));
                machine.Load(CodePhysical, code.ToArray());
                for (int i = 0; i < Spaces; i++)
                {
                    spaces[i].WriteTo(machine);
                    machine.Load(CodePhysical + ((ulong)(i + 1) * 0x1000), Function(i + 1));
                }
            },
            Boot,
            ram: 2 * Differential.DefaultRam);

        Assert.Equal(3UL * 10 * (Spaces * (Spaces + 1) / 2), state.Registers[11]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void FenceOfOneAsidMakesItsChangedMappingVisible(bool onePageFence, bool fenceFromTheOtherSpace)
    {
        // ASID 1's function page is remapped while its translation is cached (and translated
        // code ran through it); sfence.vma with rs2 = 1 (one page or all of ASID 1), issued
        // from ASID 1 itself or from ASID 2, must make ASID 1 run the new code, and ASID 2's
        // own mapping of the same virtual page stays what it was.
        var a = new PageTables(TableArea);
        var b = new PageTables(SecondTableArea);
        MapCommon(a);
        MapCommon(b);
        a.Map(SpaceFunctionVirtual, CodePhysical + 0x1000);
        b.Map(SpaceFunctionVirtual, CodePhysical + 0x2000);
        ulong leaf = a.LeafAddress(SpaceFunctionVirtual);
        for (ulong page = 0; page < 16; page++)
        {
            // Both spaces see ASID 1's tables through a second window.
            a.Map(TableWindow + 0x10_0000 + (page * 0x1000), TableArea + (page * 0x1000));
            b.Map(TableWindow + 0x10_0000 + (page * 0x1000), TableArea + (page * 0x1000));
        }

        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(13, (long)SpaceFunctionVirtual).Li(18, 1);
        code.Li(16, (long)b.SatpWithAsid(2)).Li(17, (long)a.SatpWithAsid(1));
        CallTenTimes(code);                     // ASID 1: 10 x 1
        code.Emit(Rv.Csrw(0x180, 16));
        CallTenTimes(code);                     // ASID 2: 10 x 100
        if (!fenceFromTheOtherSpace)
        {
            code.Emit(Rv.Csrw(0x180, 17));
        }

        // ASID 1's leaf, written through ASID 1's or ASID 2's window (both map both tables).
        ulong window = TableWindow + 0x10_0000 + (leaf - TableArea);
        code.Li(14, (long)window).Li(15, (long)PageTables.Leaf(CodePhysical + 0x3000));
        code.Emit(Rv.Sd(15, 14, 0));
        code.Emit(onePageFence ? Rv.SfenceVma(13, 18) : Rv.SfenceVma(0, 18));
        code.Emit(Rv.Csrw(0x180, 17));
        CallTenTimes(code);                     // ASID 1 again: 10 x 5
        code.Emit(Rv.Csrw(0x180, 16));
        CallTenTimes(code);                     // ASID 2 again: 10 x 100
        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, a.SatpWithAsid(1));
                a.WriteTo(machine);
                b.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(CodePhysical + 0x1000, Function(1));
                machine.Load(CodePhysical + 0x2000, Function(100));
                machine.Load(CodePhysical + 0x3000, Function(5));
            },
            Boot);

        Assert.Equal(10UL + 1000 + 50 + 1000, state.Registers[11]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalMappingServesEveryAsidAndAFenceForAllAsidsRemapsIt(bool onePageFence)
    {
        // A global page (G set, as an OS maps its kernel) is used by ASID 1 and ASID 2 alike,
        // across switches; after its PTE changes in both tables (kept identical, as the spec
        // requires of global mappings), sfence.vma addr, x0 (or x0, x0) makes both spaces run
        // the new code.
        var a = new PageTables(TableArea);
        var b = new PageTables(SecondTableArea);
        MapCommon(a);
        MapCommon(b);
        const ulong GlobalRwx = PageTables.Rwx | PageTables.Global;
        a.Map(SpaceFunctionVirtual, CodePhysical + 0x1000, GlobalRwx);
        b.Map(SpaceFunctionVirtual, CodePhysical + 0x1000, GlobalRwx);
        ulong leafA = a.LeafAddress(SpaceFunctionVirtual);
        ulong leafB = b.LeafAddress(SpaceFunctionVirtual);
        for (ulong page = 0; page < 16; page++)
        {
            // ASID 2's tables, through a second window in ASID 1's space.
            a.Map(TableWindow + 0x10_0000 + (page * 0x1000), SecondTableArea + (page * 0x1000));
        }

        var code = new Code(CodeVirtual);
        code.Li(11, 0).Li(13, (long)SpaceFunctionVirtual);
        code.Li(16, (long)b.SatpWithAsid(2)).Li(17, (long)a.SatpWithAsid(1));
        CallTenTimes(code);                     // ASID 1: 10 x 1
        code.Emit(Rv.Csrw(0x180, 16));
        CallTenTimes(code);                     // ASID 2: 10 x 1
        code.Emit(Rv.Csrw(0x180, 17));
        CallTenTimes(code);                     // ASID 1: 10 x 1
        code.Li(15, (long)PageTables.Leaf(CodePhysical + 0x2000, GlobalRwx));
        code.Li(14, (long)(TableWindow + (leafA - TableArea))).Emit(Rv.Sd(15, 14, 0));
        code.Li(14, (long)(TableWindow + 0x10_0000 + (leafB - SecondTableArea))).Emit(Rv.Sd(15, 14, 0));
        code.Emit(onePageFence ? Rv.SfenceVma(13, 0) : Rv.SfenceVma(0, 0));
        CallTenTimes(code);                     // ASID 1: 10 x 100
        code.Emit(Rv.Csrw(0x180, 16));
        CallTenTimes(code);                     // ASID 2: 10 x 100
        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, a.SatpWithAsid(1));
                a.WriteTo(machine);
                b.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(CodePhysical + 0x1000, Function(1));
                machine.Load(CodePhysical + 0x2000, Function(100));
            },
            Boot);

        Assert.Equal(30UL + 2000, state.Registers[11]);
        Assert.Equal(9UL, state.Registers[20]); // ecall from S
    }

    [Fact]
    public void OnePhysicalPageAtTwoVirtualAddressesSeesItsOwnPc()
    {
        var tables = new PageTables(TableArea);
        MapCommon(tables);
        ulong shared = CodePhysical + 0x3000;
        tables.Map(FunctionVirtual, shared);
        tables.Map(AliasVirtual, shared);

        // The function returns its own address (auipc) in x10.
        var function = new Code(FunctionVirtual);
        function.Emit(Rv.Auipc(10, 0));
        function.Emit(Rv.Jalr(0, 1, 0));

        var code = new Code(CodeVirtual);
        Code.Label loop = code.NewLabel();
        code.Li(11, 0).Li(12, 0).Li(13, (long)FunctionVirtual).Li(14, (long)AliasVirtual).Li(15, 5);
        code.Bind(loop);
        code.Emit(Rv.Jalr(1, 13, 0));
        code.Emit(Rv.Add(11, 11, 10));
        code.Emit(Rv.Jalr(1, 14, 0));
        code.Emit(Rv.Add(12, 12, 10));
        code.Emit(Rv.Addi(15, 15, -1));
        code.Emit(loop, offset => Rv.Bne(15, 0, offset));
        code.Emit(Rv.Ecall());

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, tables.Satp);
                tables.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
                machine.Load(shared, function.ToArray());
            },
            Boot);

        Assert.Equal(5 * FunctionVirtual, state.Registers[11]);
        Assert.Equal(5 * AliasVirtual, state.Registers[12]);
    }

    [Fact]
    public void StorePageFaultInTheMiddleOfATranslatedLoop()
    {
        var tables = new PageTables(TableArea);
        MapCommon(tables);
        for (ulong page = 0; page < 4; page++)
        {
            tables.Map(DataVirtual + (page * 0x1000), DataPhysical + (page * 0x1000));
        }

        tables.Map(DataVirtual + 0x4000, DataPhysical + 0x4000, PageTables.Read | PageTables.Accessed);

        var code = new Code(CodeVirtual);
        Code.Label loop = code.NewLabel();
        code.Li(5, (long)DataVirtual).Li(6, 0).Li(9, 0x1000);
        code.Bind(loop);
        code.Emit(Rv.Addi(6, 6, 1));
        code.Emit(Rv.Sd(6, 5, 8));
        code.Emit(Rv.Addi(7, 6, 100));
        code.Emit(Rv.Add(5, 5, 9));
        code.Emit(loop, offset => Rv.Jal(0, offset));

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, tables.Satp);
                tables.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
            },
            Boot);

        Assert.Equal(15UL, state.Registers[20]); // store page fault
        Assert.Equal(CodeVirtual + (ulong)loop.Position + 4, state.Registers[21]);
        Assert.Equal(DataVirtual + 0x4008, state.Registers[22]);
        Assert.Equal(5UL, state.Registers[6]);
        Assert.Equal(104UL, state.Registers[7]);
        Assert.Equal(4UL, BitConverter.ToUInt64(state.Ram, (int)(DataPhysical + 0x3008 - Boot)));
    }

    [Fact]
    public void InstructionStraddlingIntoANonExecutablePageFaults()
    {
        var tables = new PageTables(TableArea);
        MapCommon(tables);
        tables.Map(CodeVirtual + 0x1000, CodePhysical + 0x1000, PageTables.Read | PageTables.Write | PageTables.Accessed | PageTables.Dirty);

        var code = new Code(CodeVirtual);
        Code.Label loop = code.NewLabel();
        code.Li(10, 0).Li(12, 3);
        code.PadTo(CodeVirtual + 0xfe8);
        code.Bind(loop);
        code.Emit(Rv.Addi(10, 10, 1));
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(Rv.Beq(12, 0, 8));
        code.Emit(loop, offset => Rv.Jal(0, offset));
        code.Emit(Rv.CAddi(10, 5));
        code.PadTo(CodeVirtual + 0xffe);
        code.Emit(Rv.Addi(10, 10, 7)); // its upper half is in the non-executable page

        MachineSnapshot state = Differential.Run(
            machine =>
            {
                LoadSupervisorBoot(machine, tables.Satp);
                tables.WriteTo(machine);
                machine.Load(CodePhysical, code.ToArray());
            },
            Boot);

        Assert.Equal(12UL, state.Registers[20]); // instruction page fault
        Assert.Equal(CodeVirtual + 0xffe, state.Registers[21]);
        Assert.Equal(8UL, state.Registers[10]);
    }

    /// <summary>Calls the function at x13 ten times, adding its x10 to x11.</summary>
    private static void CallTenTimes(Code code)
    {
        Code.Label loop = code.NewLabel();
        code.Li(12, 10);
        code.Bind(loop);
        code.Emit(Rv.Jalr(1, 13, 0));
        code.Emit(Rv.Add(11, 11, 10));
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(loop, offset => Rv.Bne(12, 0, offset));
    }

    /// <summary>A function that returns <paramref name="value"/> in x10.</summary>
    private static byte[] Function(int value)
    {
        var function = new Code(FunctionVirtual);
        function.Emit(Rv.Addi(10, 0, value));
        function.Emit(Rv.Jalr(0, 1, 0));
        return function.ToArray();
    }

    /// <summary>The main code page and a window onto the page tables.</summary>
    private static void MapCommon(PageTables tables)
    {
        tables.Map(CodeVirtual, CodePhysical);
        for (ulong page = 0; page < 16; page++)
        {
            tables.Map(TableWindow + (page * 0x1000), tables.Root + (page * 0x1000));
        }
    }

    /// <summary>M-mode boot code that enters S-mode at <see cref="CodeVirtual"/> with paging on, and the M-mode trap handler.</summary>
    private static void LoadSupervisorBoot(TestMachine machine, ulong satp)
    {
        var boot = new Code(Boot);
        boot.Li(5, (long)MachineHandler).Emit(Rv.Csrw(0x305, 5));
        boot.Li(5, (long)satp).Emit(Rv.Csrw(0x180, 5));
        boot.Li(5, 1L << 11).Emit(Rv.Csrrs(0, 0x300, 5)); // MPP = S
        boot.Li(5, (long)CodeVirtual).Emit(Rv.Csrw(0x341, 5));
        boot.Emit(Rv.Mret());
        machine.Load(Boot, boot.ToArray());

        var handler = new Code(MachineHandler);
        handler.Emit(Rv.Csrr(20, 0x342));
        handler.Emit(Rv.Csrr(21, 0x341));
        handler.Emit(Rv.Csrr(22, 0x343));
        handler.Emit(Rv.Wfi());
        machine.Load(MachineHandler, handler.ToArray());
    }
}
