using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Xunit.Abstractions;
using static Vessel.Cpu.Riscv.Tests.Assembler.FReg;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// Random F/D code under QEMU and under Vessel: how the hart feeds its FPU — operand unboxing,
/// result boxing, static and dynamic rounding modes, flag accumulation in fcsr, conversions to
/// and from integer registers, FP loads and stores — over special and random values. After each
/// block the integer registers, the FP registers and fcsr are printed.
/// </summary>
public sealed class RandomFloatOracleTests(ITestOutputHelper output)
{
    private const int Blocks = 100;
    private const int InstructionsPerBlock = 32;
    private const int DataSize = 256;

    private static readonly uint[] s_singles =
    [
        0x0000_0000, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7fa0_0000,
        0x0000_0001, 0x807f_ffff, 0x7f7f_ffff, 0x4f00_0000, 0xcf00_0000, 0x5f80_0000, 0x3fc0_0000, 0x4b80_0001,
    ];

    private static readonly ulong[] s_doubles =
    [
        0, 0x8000_0000_0000_0000, 0x3ff0_0000_0000_0000, 0xbff0_0000_0000_0000, 0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000, 0x7ff8_0000_0000_0000, 0x7ff4_0000_0000_0000, 0x0000_0000_0000_0001,
        0x7fef_ffff_ffff_ffff, 0x41e0_0000_0000_0000, 0xc3e0_0000_0000_0000, 0x43f0_0000_0000_0000,
        0x3ff8_0000_0000_0000, 0x4004_0000_0000_0000, 0x47ef_ffff_e000_0000,
    ];

    [QemuSystemFact]
    public void RandomFloatingPointSequencesMatchQemu()
    {
        var random = new Random(0x0f1_0a7);
        var program = new OracleProgram();
        RiscvAssembler asm = program.Asm;
        var listings = new List<List<string>>();
        asm.Li(T0, 1L << 13).Csrs(Csr.Mstatus, T0); // FS = Initial
        for (int block = 0; block < Blocks; block++)
        {
            var listing = new List<string>();
            listings.Add(listing);
            for (int r = 0; r < 32; r++)
            {
                asm.Li(T0, FloatValue(random)).FmvDX((FReg)r, T0);
            }

            for (int r = 1; r < 32; r++)
            {
                if ((Reg)r != S0)
                {
                    asm.Li((Reg)r, IntegerValue(random));
                }
            }

            asm.La(S0, "data");
            int frm = random.Next(5);
            asm.Csrwi(Csr.Frm, frm).Csrwi(Csr.Fflags, 0);
            listing.Add($"frm = {frm}");
            for (int i = 0; i < InstructionsPerBlock; i++)
            {
                Emit(asm, random, listing);
            }

            program.DumpRegisters($"block {block}");
            program.DumpFloatRegisters($"block {block}");
        }

        program.DumpMemory("data", DataSize / 8, i => $"data + {8 * i}");
        byte[] data = new byte[DataSize];
        random.NextBytes(data);
        byte[] image = program.Finish(a => a.Align(8).Label("data").Bytes(data));

        string qemu = OracleRunner.RunQemu(image);
        string vessel = OracleRunner.RunVessel(image);
        const int linesPerBlock = 31 + 33;
        string report = program.Compare(qemu, vessel, line => line / linesPerBlock < listings.Count
            ? $"block {line / linesPerBlock}:\n  " + string.Join("\n  ", listings[line / linesPerBlock])
            : string.Empty);
        output.WriteLine($"{Blocks * InstructionsPerBlock} random FP instructions, {program.Lines.Count} values compared");
        Assert.True(report.Length == 0, report);
    }

    private static long FloatValue(Random random) => random.Next(5) switch
    {
        0 or 1 => unchecked((long)(0xffff_ffff_0000_0000UL | s_singles[random.Next(s_singles.Length)])), // boxed single
        2 => unchecked((long)s_doubles[random.Next(s_doubles.Length)]),
        3 => s_singles[random.Next(s_singles.Length)],                                                   // not boxed
        _ => random.NextInt64(long.MinValue, long.MaxValue),
    };

    private static long IntegerValue(Random random) => random.Next(4) switch
    {
        0 => random.Next(-100, 100),
        1 => unchecked((long)s_doubles[random.Next(s_doubles.Length)]),
        2 => long.MinValue + random.Next(2),
        _ => random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64),
    };

    private static void Emit(RiscvAssembler asm, Random random, List<string> listing)
    {
        FReg d = (FReg)random.Next(32), a = (FReg)random.Next(32), b = (FReg)random.Next(32), c = (FReg)random.Next(32);
        Reg x;
        do
        {
            x = (Reg)random.Next(1, 32);
        }
        while (x == S0);
        Reg source = (Reg)random.Next(32);
        Rm rm = random.Next(3) == 0 ? Rm.Dyn : (Rm)random.Next(5);
        bool single = random.Next(2) == 0;
        string p = single ? "s" : "d";
        int op = random.Next(22);
        string text = op switch
        {
            0 => $"fadd.{p} {d}, {a}, {b}, {rm}",
            1 => $"fsub.{p} {d}, {a}, {b}, {rm}",
            2 => $"fmul.{p} {d}, {a}, {b}, {rm}",
            3 => $"fdiv.{p} {d}, {a}, {b}, {rm}",
            4 => $"fsqrt.{p} {d}, {a}, {rm}",
            5 => $"fmin/fmax.{p} {d}, {a}, {b}",
            6 => $"fsgnj*.{p} {d}, {a}, {b}",
            7 => $"fmadd.{p} {d}, {a}, {b}, {c}, {rm}",
            8 => $"fnmsub.{p} {d}, {a}, {b}, {c}, {rm}",
            9 => $"fcvt.s.d/d.s {d}, {a}, {rm}",
            10 => $"fcvt.w.{p} {x}, {a}, {rm}",
            11 => $"fcvt.wu.{p} {x}, {a}, {rm}",
            12 => $"fcvt.l.{p} {x}, {a}, {rm}",
            13 => $"fcvt.lu.{p} {x}, {a}, {rm}",
            14 => $"fcvt.{p}.w/wu/l/lu {d}, {source}, {rm}",
            15 => $"fmv.x.{p} {x}, {a}",
            16 => $"fmv.{p}.x {d}, {source}",
            17 => $"feq/flt/fle.{p} {x}, {a}, {b}",
            18 => $"fclass.{p} {x}, {a}",
            19 => $"fl{(single ? "w" : "d")} {d}, (s0)",
            20 => $"fs{(single ? "w" : "d")} {a}, (s0)",
            _ => $"fmsub/fnmadd.{p} {d}, {a}, {b}, {c}, {rm}",
        };
        int offset = random.Next(0, DataSize / 8) * 8;
        int variant = random.Next(4);
        listing.Add(text + (op is 5 or 6 or 9 or 14 or 17 or 21 ? $" (variant {variant})" : string.Empty) + (op is 19 or 20 ? $" at +{offset}" : string.Empty));
        _ = (op, single) switch
        {
            (0, true) => asm.FaddS(d, a, b, rm), (0, false) => asm.FaddD(d, a, b, rm),
            (1, true) => asm.FsubS(d, a, b, rm), (1, false) => asm.FsubD(d, a, b, rm),
            (2, true) => asm.FmulS(d, a, b, rm), (2, false) => asm.FmulD(d, a, b, rm),
            (3, true) => asm.FdivS(d, a, b, rm), (3, false) => asm.FdivD(d, a, b, rm),
            (4, true) => asm.FsqrtS(d, a, rm), (4, false) => asm.FsqrtD(d, a, rm),
            (5, true) => variant % 2 == 0 ? asm.FminS(d, a, b) : asm.FmaxS(d, a, b),
            (5, false) => variant % 2 == 0 ? asm.FminD(d, a, b) : asm.FmaxD(d, a, b),
            (6, true) => (variant % 3) switch { 0 => asm.FsgnjS(d, a, b), 1 => asm.FsgnjnS(d, a, b), _ => asm.FsgnjxS(d, a, b) },
            (6, false) => (variant % 3) switch { 0 => asm.FsgnjD(d, a, b), 1 => asm.FsgnjnD(d, a, b), _ => asm.FsgnjxD(d, a, b) },
            (7, true) => asm.FmaddS(d, a, b, c, rm), (7, false) => asm.FmaddD(d, a, b, c, rm),
            (8, true) => asm.FnmsubS(d, a, b, c, rm), (8, false) => asm.FnmsubD(d, a, b, c, rm),
            (9, _) => variant % 2 == 0 ? asm.FcvtSD(d, a, rm) : asm.FcvtDS(d, a),
            (10, true) => asm.FcvtWS(x, a, rm), (10, false) => asm.FcvtWD(x, a, rm),
            (11, true) => asm.FcvtWuS(x, a, rm), (11, false) => asm.FcvtWuD(x, a, rm),
            (12, true) => asm.FcvtLS(x, a, rm), (12, false) => asm.FcvtLD(x, a, rm),
            (13, true) => asm.FcvtLuS(x, a, rm), (13, false) => asm.FcvtLuD(x, a, rm),
            (14, true) => variant switch { 0 => asm.FcvtSW(d, source, rm), 1 => asm.FcvtSWu(d, source, rm), 2 => asm.FcvtSL(d, source, rm), _ => asm.FcvtSLu(d, source, rm) },
            (14, false) => variant switch { 0 => asm.FcvtDW(d, source), 1 => asm.FcvtDWu(d, source), 2 => asm.FcvtDL(d, source, rm), _ => asm.FcvtDLu(d, source, rm) },
            (15, true) => asm.FmvXW(x, a), (15, false) => asm.FmvXD(x, a),
            (16, true) => asm.FmvWX(d, source), (16, false) => asm.FmvDX(d, source),
            (17, true) => (variant % 3) switch { 0 => asm.FeqS(x, a, b), 1 => asm.FltS(x, a, b), _ => asm.FleS(x, a, b) },
            (17, false) => (variant % 3) switch { 0 => asm.FeqD(x, a, b), 1 => asm.FltD(x, a, b), _ => asm.FleD(x, a, b) },
            (18, true) => asm.FclassS(x, a), (18, false) => asm.FclassD(x, a),
            (19, true) => asm.Flw(d, offset, S0), (19, false) => asm.Fld(d, offset, S0),
            (20, true) => asm.Fsw(a, offset, S0), (20, false) => asm.Fsd(a, offset, S0),
            (_, true) => variant % 2 == 0 ? asm.FmsubS(d, a, b, c, rm) : asm.FnmaddS(d, a, b, c, rm),
            (_, false) => variant % 2 == 0 ? asm.FmsubD(d, a, b, c, rm) : asm.FnmaddD(d, a, b, c, rm),
        };
    }
}
