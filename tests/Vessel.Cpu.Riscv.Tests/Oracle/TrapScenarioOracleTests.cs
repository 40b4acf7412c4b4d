using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Vessel.Cpu.Riscv.Tests.Privileged;
using Xunit.Abstractions;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// Trap scenarios run under QEMU and under Vessel, comparing every trap's cause, epc, tval and
/// status, and the CSR values the scenarios read: illegal encodings, breakpoints, ecalls from
/// each mode, access faults, misaligned atomics, delegation, privileged instructions in lower
/// modes, interrupt priority and vectoring, CSR write/read-back, and Sv39 translation with page
/// tables built by the test (permissions, SUM, MXR, MPRV, A/D updates, canonical addresses,
/// superpage alignment).
/// </summary>
/// <remarks>
/// Where QEMU 7.2 (Debian 12) departs from the spec, the scenario is left out here and the
/// spec's behaviour is asserted by the unit tests instead: misaligned and faulting AMOs (QEMU
/// reports load exceptions), a misaligned SC without reservation (QEMU does not trap), csrrs/csrrc
/// with a zero rs1 register on read-only CSRs (QEMU does not trap), simultaneous interrupts
/// (QEMU takes the lowest number first), MPP = 2 and UXL = 3 (QEMU keeps the reserved values) and
/// odd xepc values (QEMU keeps bit 0). The breakpoint's mtval (0 or the pc) is not compared.
/// </remarks>
public sealed class TrapScenarioOracleTests(ITestOutputHelper output)
{
    private const ulong Tables = TestMachine.RamBase + 0x40_0000;
    private const ulong DataPhysical = Tables + 0x8_0000; // inside the region copied into the image
    private const ulong DataVirtual = 0x1_0000_0000;
    private const ulong UserAlias = 0x4000_0000;
    private const ulong Unmapped = 0x0180_0000; // a hole in the virt board's memory map
    private const ulong Terapage = 0x0000_0100_0000_0000;

    [QemuSystemFact]
    public void TrapScenariosMatchQemu()
    {
        var program = new ScenarioProgram();
        RiscvAssembler asm = program.Asm;
        byte[] tables = BuildPageTables(out ulong satp, out ulong satp48, out Dictionary<string, ulong> pteAddresses);

        IllegalEncodings(program);
        Breakpoints(program);
        Ecalls(program);
        AccessFaults(program);
        MisalignedAtomics(program);
        Delegation(program);
        PrivilegedInstructions(program);
        CsrReadBack(program);
        Interrupts(program);
        Translation(program, satp, satp48, pteAddresses);

        byte[] image = program.Finish(a => a.Org(Tables).Bytes(tables));
        string qemu = OracleRunner.RunQemu(image);
        string vessel = OracleRunner.RunVessel(image);
        string[] qemuLines = qemu.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] vesselLines = vessel.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var differences = new List<string>();
        for (int i = 0; i < Math.Max(qemuLines.Length, vesselLines.Length); i++)
        {
            string q = i < qemuLines.Length ? qemuLines[i] : "(nothing)";
            string v = i < vesselLines.Length ? vesselLines[i] : "(nothing)";
            if (q != v)
            {
                differences.Add($"{program.Describe(qemuLines, i)}: qemu {q}, vessel {v}");
            }
        }

        output.WriteLine($"{program.Scenarios.Count} scenarios, {qemuLines.Length / ScenarioProgram.RecordWords} log records compared");
        Assert.True(qemuLines.Length / ScenarioProgram.RecordWords > 300, "QEMU's log is too short: the program did not run all scenarios");
        Assert.True(differences.Count == 0, $"{differences.Count} values differ:\n{string.Join('\n', differences.Take(40))}");
    }

    // ------------------------------------------------------------------ scenarios in M, S and U without translation

    private static void IllegalEncodings(ScenarioProgram program)
    {
        program.Scenario("illegal encodings in M");
        uint[] words =
        [
            0x0000_000b, 0x0400_0033, 0x4000_1033, 0x0400_1013, 0x4400_5013, 0x0200_101b, 0x4200_501b, 0x0000_7003,
            0x0000_4023, 0x0000_1067, 0x0000_2063, 0x0020_0073, 0x0800_002f, 0x2800_202f, 0x1010_202f, 0x0600_0043,
        ];
        foreach (uint word in words)
        {
            program.Asm.Emit32(word);
        }

        ushort[] halves = [0x0000, 0x0004, 0x8000, 0x2001, 0x6101, 0x6501, 0x4002, 0x6002, 0x8002, 0x9c41, 0x9c61];
        foreach (ushort half in halves)
        {
            program.Asm.Emit16(half);
        }

        program.Asm.CNop(); // back to a 4-byte boundary
    }

    private static void Breakpoints(ScenarioProgram program)
    {
        program.Scenario("ebreak and c.ebreak");
        program.Asm.Ebreak().CEbreak().Nop();
    }

    private static void Ecalls(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        program.Scenario("ecall from M");
        asm.Li(T0, Mstatus.Mie | Mstatus.Mpie).Csrs(Csr.Mstatus, T0).Ecall();
        program.ValueOfCsr(Csr.Mstatus);

        program.Scenario("ecall from S with SIE set");
        program.Enter(PrivilegeLevel.Supervisor, "ecall.s", "ecall.s.back");
        asm.Label("ecall.s").Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0).Ecall();
        asm.Label("ecall.s.back");
        program.ValueOfCsr(Csr.Mstatus);

        program.Scenario("ecall from U");
        program.Enter(PrivilegeLevel.User, "ecall.u", "ecall.u.back");
        asm.Label("ecall.u").Ecall();
        asm.Label("ecall.u.back");

        program.Scenario("mret and sret restore the stacks");
        asm.Li(T0, Mstatus.Mpie | Mstatus.MppSupervisor | Mstatus.Spie | Mstatus.Spp).Csrs(Csr.Mstatus, T0);
        asm.La(S11, "stacks.back").La(T0, "stacks.s").Csrw(Csr.Mepc, T0).Mret();
        asm.Label("stacks.s").Csrr(A0, Csr.Sstatus).La(T0, "stacks.s2").Csrw(Csr.Sepc, T0).Sret();
        asm.Label("stacks.s2").Csrr(A1, Csr.Sstatus).Ecall();
        asm.Label("stacks.back");
        program.Value(A0);
        program.Value(A1);
        program.ValueOfCsr(Csr.Mstatus);
    }

    private static void AccessFaults(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        program.Scenario("access faults in M");
        asm.Li(S0, (long)Unmapped).Ld(A0, 8, S0).Sw(A0, 12, S0).Jalr(Ra, S0, 16);
        // (No AMO: QEMU 7.2 reports a faulting AMO as a load access fault, not a store/AMO one.)

        program.Scenario("access faults in U");
        program.Enter(PrivilegeLevel.User, "access.u", "access.u.back");
        asm.Label("access.u").Li(S0, (long)Unmapped).Lbu(A0, 1, S0).Sh(A0, 2, S0).Jalr(Ra, S0, 0).Ecall();
        asm.Label("access.u.back");
    }

    private static void MisalignedAtomics(ScenarioProgram program)
    {
        // Only LR: QEMU 7.2 reports misaligned AMOs as load (not store/AMO) address-misaligned,
        // and lets a misaligned SC without a reservation fail without trapping; Vessel follows
        // the spec there (see AtomicTests).
        RiscvAssembler asm = program.Asm;
        program.Scenario("misaligned load-reserved");
        asm.La(S0, "log").Addi(S1, S0, 4).Addi(S2, S0, 2);
        asm.LrD(A0, S1).LrW(A0, S2);
    }

    private static void Delegation(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        program.Scenario("delegated illegal instructions from S and U, undelegated from M");
        asm.Li(T0, (1 << 2) | (1 << 3)).Csrw(Csr.Medeleg, T0);
        asm.Emit32(0x0000_000b).Ebreak();
        program.Enter(PrivilegeLevel.Supervisor, "deleg.s", "deleg.back");
        asm.Label("deleg.s").Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0);
        asm.Emit32(0x0000_000b).Ebreak();
        asm.La(T0, "deleg.u").Csrw(Csr.Sepc, T0).Li(T0, Mstatus.Spp).Csrc(Csr.Sstatus, T0).Sret();
        asm.Label("deleg.u").Emit16(0x0000).Ecall();
        asm.Label("deleg.back");
    }

    private static void PrivilegedInstructions(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        (string Name, PrivilegeLevel Mode, long Bits, Action<RiscvAssembler> Emit)[] cases =
        [
            ("mret in S", PrivilegeLevel.Supervisor, 0, a => a.Mret()),
            ("mret in U", PrivilegeLevel.User, 0, a => a.Mret()),
            ("sret in U", PrivilegeLevel.User, 0, a => a.Sret()),
            ("sret in S with TSR", PrivilegeLevel.Supervisor, Mstatus.Tsr, a => a.Sret()),
            ("wfi in U", PrivilegeLevel.User, 0, a => a.Wfi()),
            ("wfi in S with TW", PrivilegeLevel.Supervisor, Mstatus.Tw, a => a.Wfi()),
            ("sfence.vma in U", PrivilegeLevel.User, 0, a => a.SfenceVma()),
            ("sfence.vma in S with TVM", PrivilegeLevel.Supervisor, Mstatus.Tvm, a => a.SfenceVma()),
            ("satp in S with TVM", PrivilegeLevel.Supervisor, Mstatus.Tvm, a => a.Csrr(A0, Csr.Satp)),
            ("mstatus in S", PrivilegeLevel.Supervisor, 0, a => a.Csrr(A0, Csr.Mstatus)),
            ("sstatus in U", PrivilegeLevel.User, 0, a => a.Csrr(A0, Csr.Sstatus)),
            ("cycle in U without counteren", PrivilegeLevel.User, 0, a => a.Csrr(A0, Csr.Cycle)),
            ("mhartid write in M", PrivilegeLevel.Machine, 0, a => a.Csrw(Csr.Mhartid, Zero)),
            ("cycle write in M", PrivilegeLevel.Machine, 0, a => a.Csrrw(A0, Csr.Cycle, T1)),

            // (Not csrrs/csrrc with a zero rs1 other than x0 on a read-only CSR: the spec makes
            // that a write attempt, which QEMU 7.2 does not trap; see CsrTests.)
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            (string name, PrivilegeLevel mode, long bits, Action<RiscvAssembler> emit) = cases[i];
            program.Scenario(name);
            asm.Li(T1, 0);
            if (bits != 0)
            {
                asm.Li(T0, bits).Csrs(Csr.Mstatus, T0);
            }

            if (mode == PrivilegeLevel.Machine)
            {
                emit(asm);
                continue;
            }

            program.Enter(mode, $"priv{i}", $"priv{i}.back");
            asm.Label($"priv{i}");
            emit(asm);
            asm.Ecall().Label($"priv{i}.back");
        }
    }

    private static void CsrReadBack(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        program.Scenario("CSR write and read back");

        // Only writes whose result the spec pins down, or where both machines choose the same.
        // Left out, with the unit tests covering Vessel: mstatus.MPP = 2 and sstatus.UXL = 3
        // (QEMU 7.2 keeps those reserved values), xtvec with a reserved mode (QEMU ignores the
        // write, Vessel keeps the base), odd xepc (QEMU 7.2 keeps bit 0, which the spec makes
        // zero), sstatus.VS (optional without V), and satp = Sv57 (QEMU has it, Vessel not).
        (ushort Csr, long Value)[] writes =
        [
            (Csr.Mstatus, Mstatus.Sie | Mstatus.Mie | Mstatus.Spie | Mstatus.Mpie | Mstatus.Spp | Mstatus.Mprv | Mstatus.Sum | Mstatus.Mxr | Mstatus.Tvm | Mstatus.Tw | Mstatus.Tsr | Mstatus.Fs),
            (Csr.Mstatus, Mstatus.MppSupervisor),
            (Csr.Sstatus, Mstatus.Sie | Mstatus.Spie | Mstatus.Spp | Mstatus.Sum | Mstatus.Mxr | (1L << 13)),
            (Csr.Mtvec, 0x8000_0101),
            (Csr.Stvec, 0x8000_0201),
            (Csr.Mepc, -2),
            (Csr.Sepc, 0x1236),
            (Csr.Mscratch, -1),
            (Csr.Mcounteren, 0x7),
            (Csr.Scounteren, 0x5),
            (Csr.Satp, unchecked((long)((8UL << 60) | 0x80123))),
            (Csr.Satp, unchecked((long)((11UL << 60) | 0x80456))),
            (Csr.Satp, 0),
            (Csr.Mie, 0x222),
            (Csr.Mideleg, 0x222),
            (Csr.Sie, -1),
            (Csr.Mip, 0x222),
            (Csr.Sip, -1),
            (Csr.Fcsr, 0xff),
            (Csr.Frm, 0x5),
            (Csr.Fflags, -1),
        ];
        foreach ((ushort csr, long value) in writes)
        {
            asm.Li(T0, value).Csrw(csr, T0);
            program.ValueOfCsr(csr);
        }

        program.ValueOfCsr(Csr.Mhartid);
        program.ValueOfCsr(Csr.Mstatus);
    }

    private static void Interrupts(ScenarioProgram program)
    {
        RiscvAssembler asm = program.Asm;
        const long software = (1 << 1) | (1 << 5) | (1 << 9);

        // One interrupt at a time: QEMU 7.2 (without AIA) takes simultaneous interrupts lowest
        // number first instead of the spec's MEI, MSI, MTI, SEI, SSI, STI order that Vessel
        // follows (see InterruptTests).
        foreach (int bit in new[] { 1, 5, 9 })
        {
            program.Scenario($"software-pending interrupt {bit} taken in M");
            asm.Li(T0, 1L << bit).Csrs(Csr.Mip, T0).Csrw(Csr.Mie, T0);
            asm.Li(T0, Mstatus.Mie).Csrs(Csr.Mstatus, T0).Nop().Nop();
            program.ValueOfCsr(Csr.Mip);
        }

        foreach (int bit in new[] { 1, 5, 9 })
        {
            program.Scenario($"delegated interrupt {bit} taken in S, not in M");
            asm.Li(T0, software).Csrw(Csr.Mideleg, T0).Li(T0, 1L << bit).Csrs(Csr.Mip, T0).Csrw(Csr.Mie, T0);
            asm.Li(T0, Mstatus.Mie | Mstatus.Sie).Csrs(Csr.Mstatus, T0).Nop();
            program.ValueOfCsr(Csr.Mip);
            asm.Li(T0, Mstatus.Sie).Csrc(Csr.Mstatus, T0);
            program.Enter(PrivilegeLevel.Supervisor, $"irq.s{bit}", $"irq.back{bit}");
            asm.Label($"irq.s{bit}").Nop().Li(T0, Mstatus.Sie).Csrs(Csr.Sstatus, T0).Nop().Nop().Ecall();
            asm.Label($"irq.back{bit}");
            program.ValueOfCsr(Csr.Mip);
            program.ValueOfCsr(Csr.Mie);
        }

        program.Scenario("wfi with a pending interrupt masked by mstatus.MIE continues without a trap");
        asm.Li(T0, 1 << 1).Csrs(Csr.Mip, T0).Csrw(Csr.Mie, T0).Wfi().Li(A0, 0x3f1);
        program.Value(A0);
        program.ValueOfCsr(Csr.Mip);

        program.Scenario("delegated interrupt taken in U with SIE clear, vectored stvec");
        asm.La(T0, "vectors").Ori(T0, T0, 1).Csrw(Csr.Stvec, T0);
        asm.Li(T0, 1 << 1).Csrw(Csr.Mideleg, T0).Csrw(Csr.Mie, T0).Csrs(Csr.Mip, T0);
        program.Enter(PrivilegeLevel.User, "irq.u", "irq.u.back");
        asm.Label("irq.u").Nop().Nop().Ecall();
        asm.Align(64).Label("vectors").J("trap.s").J("vector1");
        asm.Label("vector1").Li(A0, 0x77);
        program.Value(A0);
        asm.J("trap.s");
        asm.Label("irq.u.back");
        asm.La(T0, "trap.s").Csrw(Csr.Stvec, T0);
    }

    // ------------------------------------------------------------------ Sv39

    private static byte[] BuildPageTables(out ulong satp, out ulong satp48, out Dictionary<string, ulong> pteAddresses)
    {
        using var scratch = new TestMachine(ramSize: 8 << 20);
        var tables = new PageTableBuilder(scratch.Memory, Tables);
        // Everything of the program (code, tables, data, log) is identity-mapped by one gigapage.
        tables.Map(TestMachine.RamBase, TestMachine.RamBase, PageTableBuilder.Page1G, Pte.Rwx);
        tables.Map(UserAlias, TestMachine.RamBase, PageTableBuilder.Page2M, Pte.Rwx | Pte.U);

        (string Name, Pte Flags)[] pages =
        [
            ("r", Pte.V | Pte.R), ("rw", Pte.V | Pte.R | Pte.W), ("x", Pte.V | Pte.X), ("rwx", Pte.V | Pte.R | Pte.W | Pte.X),
            ("ur", Pte.V | Pte.R | Pte.U), ("urw", Pte.V | Pte.R | Pte.W | Pte.U), ("ux", Pte.V | Pte.X | Pte.U),
            ("w", Pte.V | Pte.W), ("invalid", Pte.R | Pte.W), ("reserved", Pte.V | Pte.R | (Pte)(1UL << 60)),
        ];
        pteAddresses = [];
        for (int i = 0; i < pages.Length; i++)
        {
            ulong va = DataVirtual + ((ulong)i * PageTableBuilder.Page4K);
            tables.SetLeaf(va, 0, (((DataPhysical + ((ulong)i * 0x1000)) >> 12) << 10) | (ulong)pages[i].Flags);
            pteAddresses[pages[i].Name] = tables.EntryAddress(va, 0);
        }

        ulong super = DataVirtual + 0x4000_0000;
        tables.Map(super, (DataPhysical & ~(PageTableBuilder.Page2M - 1)) + 0x1000, PageTableBuilder.Page2M, Pte.V | Pte.R);

        for (int i = 0; i < pages.Length; i++)
        {
            scratch.Memory.Write(DataPhysical + ((ulong)i * 0x1000), 0x1000_0000_0000_0000UL + (ulong)i);
            scratch.Memory.Write(DataPhysical + ((ulong)i * 0x1000) + 0x10, 0x0000_8067U); // ret
        }

        // Sv48: the same pages through four levels, plus a 512 GiB leaf over physical 0.
        var tables48 = new PageTableBuilder(scratch.Memory, Tables + 0x4_0000, levels: 4);
        tables48.Map(TestMachine.RamBase, TestMachine.RamBase, PageTableBuilder.Page1G, Pte.Rwx);
        tables48.Map(UserAlias, TestMachine.RamBase, PageTableBuilder.Page2M, Pte.Rwx | Pte.U);
        for (int i = 0; i < pages.Length; i++)
        {
            ulong va = DataVirtual + ((ulong)i * PageTableBuilder.Page4K);
            tables48.SetLeaf(va, 0, (((DataPhysical + ((ulong)i * 0x1000)) >> 12) << 10) | (ulong)pages[i].Flags);
        }

        tables48.Map(Terapage, 0, PageTableBuilder.Page512G, Pte.V | Pte.R | Pte.W | Pte.A | Pte.D);
        satp48 = tables48.Satp();

        satp = tables.Satp();
        byte[] bytes = new byte[0x10_0000];
        scratch.Memory.ReadBytes(Tables, bytes);
        return bytes;
    }

    private static ulong Page(string name) => name switch
    {
        "r" => 0, "rw" => 1, "x" => 2, "rwx" => 3, "ur" => 4, "urw" => 5, "ux" => 6, "w" => 7, "invalid" => 8, _ => 9,
    } * PageTableBuilder.Page4K + DataVirtual;

    private static void Translation(ScenarioProgram program, ulong satp, ulong satp48, Dictionary<string, ulong> pteAddresses)
    {
        RiscvAssembler asm = program.Asm;
        string[] names = ["r", "rw", "x", "rwx", "ur", "urw", "ux", "w", "invalid", "reserved"];
        int n = 0;

        // A load, a store and a fetch on every page. The loaded values go to registers (U-mode
        // cannot write the log) and are logged from M afterwards. (No AMOs: QEMU 7.2 reports an
        // AMO on a page it may not read as a load page fault, not a store/AMO one.)
        Reg[] results = [A0, A1, A2, A3, A4, A5, A6, A7, S1, S2];
        void Accesses()
        {
            for (int i = 0; i < names.Length; i++)
            {
                asm.Li(results[i], 0xdead).Li(S0, (long)Page(names[i])).Ld(results[i], 0, S0);
                asm.Sd(S0, 8, S0).Jalr(Ra, S0, 0x10);
            }
        }

        void LogResults()
        {
            foreach (Reg result in results)
            {
                program.Value(result);
            }
        }

        void InS(string name, long mstatusBits)
        {
            program.Scenario($"Sv39 from S: {name}");
            asm.Li(T0, (long)satp).Csrw(Csr.Satp, T0).SfenceVma();
            if (mstatusBits != 0)
            {
                asm.Li(T0, mstatusBits).Csrs(Csr.Mstatus, T0);
            }

            program.Enter(PrivilegeLevel.Supervisor, $"sv39.{n}", $"sv39.{n}.back");
            asm.Label($"sv39.{n}");
            Accesses();
            asm.Ecall().Label($"sv39.{n}.back");
            LogResults();
            n++;
        }

        void InS48(string name)
        {
            program.Scenario($"Sv48 from S: {name}");
            asm.Li(T0, (long)satp48).Csrw(Csr.Satp, T0).SfenceVma();
            program.Enter(PrivilegeLevel.Supervisor, $"sv48.{n}", $"sv48.{n}.back");
            asm.Label($"sv48.{n}");
            Accesses();
            asm.Li(S0, (long)(Terapage + DataPhysical)).Ld(A0, 0, S0).Ld(A1, 0x7f8, S0);
            asm.Li(S0, 0x0000_8000_0000_0000).Ld(A2, 0, S0); // not canonical in Sv48
            asm.Ecall().Label($"sv48.{n}.back");
            LogResults();
            n++;
        }

        InS("every page", 0);
        InS48("every page, a terapage, a non-canonical address");
        InS("every page with SUM", Mstatus.Sum);
        InS("every page with MXR", Mstatus.Mxr);

        program.Scenario("Sv39 from U: every page");
        asm.Li(T0, (long)satp).Csrw(Csr.Satp, T0).SfenceVma();
        asm.La(S11, "sv39.u.back").Li(T3, 3L << 11).Csrc(Csr.Mstatus, T3);
        asm.La(T3, "sv39.u").Li(T4, unchecked((long)(UserAlias - TestMachine.RamBase))).Add(T3, T3, T4).Csrw(Csr.Mepc, T3).Mret();
        asm.Label("sv39.u");
        Accesses();
        asm.Ecall().Label("sv39.u.back");
        LogResults();

        program.Scenario("A and D bits after the accesses above");
        foreach (string page in names)
        {
            asm.Li(T0, (long)pteAddresses[page]).Ld(A0, 0, T0);
            program.Value(A0);
        }

        program.Scenario("Sv39: misaligned superpage, non-canonical addresses");
        asm.Li(T0, (long)satp).Csrw(Csr.Satp, T0).SfenceVma();
        program.Enter(PrivilegeLevel.Supervisor, "sv39.odd", "sv39.odd.back");
        asm.Label("sv39.odd").Li(S0, (long)(DataVirtual + 0x4000_0000)).Ld(A0, 0x18, S0);
        asm.Li(S0, 0x0000_0040_0000_0000).Ld(A0, 0, S0).Sd(A0, 0, S0).Jalr(Ra, S0, 0);
        asm.Li(S0, unchecked((long)0xffff_ff80_0000_0000UL - 0x1000)).Ld(A0, 0, S0);
        asm.Ecall().Label("sv39.odd.back");

        program.Scenario("MPRV in M with MPP = S and U");
        asm.Li(T0, (long)satp).Csrw(Csr.Satp, T0).SfenceVma();
        asm.Li(T0, Mstatus.Mprv | Mstatus.MppSupervisor).Csrs(Csr.Mstatus, T0);
        asm.Li(S0, (long)Page("rw")).Ld(A0, 0, S0);
        asm.Li(S0, (long)Page("urw")).Ld(A1, 0, S0);
        asm.Li(T0, Mstatus.Mpp).Csrc(Csr.Mstatus, T0);
        asm.Ld(A2, 0, S0).Li(S0, (long)Page("rw")).Ld(A3, 0, S0);
        asm.Li(T0, Mstatus.Mprv).Csrc(Csr.Mstatus, T0);
        program.Value(A0);
        program.Value(A2);
    }
}
