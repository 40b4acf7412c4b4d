using System.Text;
using Vessel.Cpu.Riscv.Tests.Harness;
using Xunit.Abstractions;
using static Vessel.Cpu.Riscv.Tests.Assembler.FReg;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// Checks every encoder of <see cref="RiscvAssembler"/> against GNU as: each instruction form
/// is emitted with random operands (and the limits of every immediate), the same text is
/// assembled by riscv64-linux-gnu-as, and the bytes must be identical.
/// </summary>
public sealed class GnuAssemblerOracleTests(ITestOutputHelper output)
{
    private const int SamplesPerForm = 12;

    private sealed record Sample(string Text, Action<RiscvAssembler> Emit);

    [GnuAssemblerFact]
    public void EveryInstructionFormEncodesAsGnuAsDoes()
    {
        var random = new Random(0x5eed_a55e);
        List<Sample> samples = [.. Samples(random)];

        var source = new StringBuilder(".option norelax\n.text\n");
        var ours = new List<byte[]>();
        foreach (Sample sample in samples)
        {
            var assembler = new RiscvAssembler(0);
            sample.Emit(assembler);
            byte[] bytes = assembler.Build();
            ours.Add(bytes);
            source.Append(bytes.Length == 2 ? ".option rvc\n" : ".option norvc\n").Append(sample.Text).Append('\n');
        }

        byte[] gnu = AssembleWithGnu(source.ToString());
        int offset = 0, mismatches = 0;
        var report = new StringBuilder();
        for (int i = 0; i < samples.Count; i++)
        {
            byte[] expected = gnu.AsSpan(offset, Math.Min(ours[i].Length, gnu.Length - offset)).ToArray();
            if (!expected.AsSpan().SequenceEqual(ours[i]) && ++mismatches <= 20)
            {
                report.AppendLine($"{samples[i].Text,-40} gnu {Hex(expected)} ours {Hex(ours[i])}");
            }

            offset += ours[i].Length;
        }

        output.WriteLine($"{samples.Count} instructions compared with GNU as, {mismatches} mismatches");
        Assert.True(mismatches == 0, $"{mismatches} encodings differ from GNU as:\n{report}");
        Assert.Equal(gnu.Length, offset);
    }

    private static string Hex(byte[] bytes) => bytes.Length == 2
        ? $"{BitConverter.ToUInt16(bytes):x4}"
        : bytes.Length == 4 ? $"{BitConverter.ToUInt32(bytes):x8}" : Convert.ToHexString(bytes);

    private static byte[] AssembleWithGnu(string source)
    {
        string directory = Directory.CreateTempSubdirectory("vessel-asm-oracle-").FullName;
        try
        {
            string sourceFile = Path.Combine(directory, "all.s");
            string objectFile = Path.Combine(directory, "all.o");
            string binaryFile = Path.Combine(directory, "all.bin");
            File.WriteAllText(sourceFile, source);
            (int exit, _, string errors) = HostTools.Run(HostTools.GnuAssembler!, ["-march=rv64gc", "-mabi=lp64d", "-o", objectFile, sourceFile], TimeSpan.FromMinutes(1));
            Assert.True(exit == 0, $"GNU as rejected the test source:\n{errors}");
            (exit, _, errors) = HostTools.Run(HostTools.ObjCopy!, ["-O", "binary", "-j", ".text", objectFile, binaryFile], TimeSpan.FromMinutes(1));
            Assert.True(exit == 0, $"objcopy failed:\n{errors}");
            return File.ReadAllBytes(binaryFile);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    // ------------------------------------------------------------------ the forms

    private static IEnumerable<Sample> Samples(Random random)
    {
        var g = new OperandGenerator(random);

        // Register-register integer operations.
        (string, Func<RiscvAssembler, Reg, Reg, Reg, RiscvAssembler>)[] registerForms =
        [
            ("add", (a, d, s, t) => a.Add(d, s, t)), ("sub", (a, d, s, t) => a.Sub(d, s, t)),
            ("sll", (a, d, s, t) => a.Sll(d, s, t)), ("slt", (a, d, s, t) => a.Slt(d, s, t)),
            ("sltu", (a, d, s, t) => a.Sltu(d, s, t)), ("xor", (a, d, s, t) => a.Xor(d, s, t)),
            ("srl", (a, d, s, t) => a.Srl(d, s, t)), ("sra", (a, d, s, t) => a.Sra(d, s, t)),
            ("or", (a, d, s, t) => a.Or(d, s, t)), ("and", (a, d, s, t) => a.And(d, s, t)),
            ("addw", (a, d, s, t) => a.Addw(d, s, t)), ("subw", (a, d, s, t) => a.Subw(d, s, t)),
            ("sllw", (a, d, s, t) => a.Sllw(d, s, t)), ("srlw", (a, d, s, t) => a.Srlw(d, s, t)),
            ("sraw", (a, d, s, t) => a.Sraw(d, s, t)),
            ("mul", (a, d, s, t) => a.Mul(d, s, t)), ("mulh", (a, d, s, t) => a.Mulh(d, s, t)),
            ("mulhsu", (a, d, s, t) => a.Mulhsu(d, s, t)), ("mulhu", (a, d, s, t) => a.Mulhu(d, s, t)),
            ("div", (a, d, s, t) => a.Div(d, s, t)), ("divu", (a, d, s, t) => a.Divu(d, s, t)),
            ("rem", (a, d, s, t) => a.Rem(d, s, t)), ("remu", (a, d, s, t) => a.Remu(d, s, t)),
            ("mulw", (a, d, s, t) => a.Mulw(d, s, t)), ("divw", (a, d, s, t) => a.Divw(d, s, t)),
            ("divuw", (a, d, s, t) => a.Divuw(d, s, t)), ("remw", (a, d, s, t) => a.Remw(d, s, t)),
            ("remuw", (a, d, s, t) => a.Remuw(d, s, t)),
        ];
        foreach ((string name, var emit) in registerForms)
        {
            for (int i = 0; i < SamplesPerForm; i++)
            {
                Reg d = g.X(), s = g.X(), t = g.X();
                yield return new($"{name} {X(d)}, {X(s)}, {X(t)}", a => emit(a, d, s, t));
            }
        }

        // Register-immediate.
        (string, Func<RiscvAssembler, Reg, Reg, int, RiscvAssembler>, int Bits, bool Signed)[] immediateForms =
        [
            ("addi", (a, d, s, i) => a.Addi(d, s, i), 12, true), ("slti", (a, d, s, i) => a.Slti(d, s, i), 12, true),
            ("sltiu", (a, d, s, i) => a.Sltiu(d, s, i), 12, true), ("xori", (a, d, s, i) => a.Xori(d, s, i), 12, true),
            ("ori", (a, d, s, i) => a.Ori(d, s, i), 12, true), ("andi", (a, d, s, i) => a.Andi(d, s, i), 12, true),
            ("addiw", (a, d, s, i) => a.Addiw(d, s, i), 12, true),
            ("slli", (a, d, s, i) => a.Slli(d, s, i), 6, false), ("srli", (a, d, s, i) => a.Srli(d, s, i), 6, false),
            ("srai", (a, d, s, i) => a.Srai(d, s, i), 6, false),
            ("slliw", (a, d, s, i) => a.Slliw(d, s, i), 5, false), ("srliw", (a, d, s, i) => a.Srliw(d, s, i), 5, false),
            ("sraiw", (a, d, s, i) => a.Sraiw(d, s, i), 5, false),
        ];
        foreach ((string name, var emit, int bits, bool signed) in immediateForms)
        {
            for (int i = 0; i < SamplesPerForm; i++)
            {
                Reg d = g.X(), s = g.X();
                int imm = g.Immediate(bits, signed);
                yield return new($"{name} {X(d)}, {X(s)}, {imm}", a => emit(a, d, s, imm));
            }
        }

        // Loads and stores: op reg, imm(base).
        (string, Func<RiscvAssembler, Reg, int, Reg, RiscvAssembler>)[] memoryForms =
        [
            ("lb", (a, r, o, b) => a.Lb(r, o, b)), ("lh", (a, r, o, b) => a.Lh(r, o, b)), ("lw", (a, r, o, b) => a.Lw(r, o, b)),
            ("ld", (a, r, o, b) => a.Ld(r, o, b)), ("lbu", (a, r, o, b) => a.Lbu(r, o, b)), ("lhu", (a, r, o, b) => a.Lhu(r, o, b)),
            ("lwu", (a, r, o, b) => a.Lwu(r, o, b)), ("sb", (a, r, o, b) => a.Sb(r, o, b)), ("sh", (a, r, o, b) => a.Sh(r, o, b)),
            ("sw", (a, r, o, b) => a.Sw(r, o, b)), ("sd", (a, r, o, b) => a.Sd(r, o, b)),
            ("jalr", (a, r, o, b) => a.Jalr(r, b, o)),
        ];
        foreach ((string name, var emit) in memoryForms)
        {
            for (int i = 0; i < SamplesPerForm; i++)
            {
                Reg r = g.X(), b = g.X();
                int offset = g.Immediate(12, signed: true);
                yield return new($"{name} {X(r)}, {offset}({X(b)})", a => emit(a, r, offset, b));
            }
        }

        (string, Func<RiscvAssembler, FReg, int, Reg, RiscvAssembler>)[] floatMemoryForms =
        [
            ("flw", (a, r, o, b) => a.Flw(r, o, b)), ("fld", (a, r, o, b) => a.Fld(r, o, b)),
            ("fsw", (a, r, o, b) => a.Fsw(r, o, b)), ("fsd", (a, r, o, b) => a.Fsd(r, o, b)),
        ];
        foreach ((string name, var emit) in floatMemoryForms)
        {
            for (int i = 0; i < SamplesPerForm; i++)
            {
                FReg r = g.F();
                Reg b = g.X();
                int offset = g.Immediate(12, signed: true);
                yield return new($"{name} {F(r)}, {offset}({X(b)})", a => emit(a, r, offset, b));
            }
        }

        // Upper immediates, jumps and branches (targets as offsets from the instruction).
        for (int i = 0; i < SamplesPerForm; i++)
        {
            Reg d = g.X();
            int upper = g.Immediate(20, signed: false);
            yield return new($"lui {X(d)}, {upper}", a => a.Lui(d, upper));
            yield return new($"auipc {X(d)}, {upper}", a => a.Auipc(d, upper));
            int jump = g.Immediate(21, signed: true) & ~1;
            yield return new($"jal {X(d)}, .{jump:+0;-0}", a => a.Jal(d, jump));
        }

        (string, Func<RiscvAssembler, Reg, Reg, int, RiscvAssembler>)[] branchForms =
        [
            ("beq", (a, s, t, o) => a.Beq(s, t, o)), ("bne", (a, s, t, o) => a.Bne(s, t, o)),
            ("blt", (a, s, t, o) => a.Blt(s, t, o)), ("bge", (a, s, t, o) => a.Bge(s, t, o)),
            ("bltu", (a, s, t, o) => a.Bltu(s, t, o)), ("bgeu", (a, s, t, o) => a.Bgeu(s, t, o)),
        ];
        foreach ((string name, var emit) in branchForms)
        {
            for (int i = 0; i < SamplesPerForm; i++)
            {
                Reg s = g.X(), t = g.X();
                int offset = g.Immediate(13, signed: true) & ~1;
                yield return new($"{name} {X(s)}, {X(t)}, .{offset:+0;-0}", a => emit(a, s, t, offset));
            }
        }

        // Atomics, with every aq/rl combination.
        (string, Func<RiscvAssembler, Reg, Reg, Reg, bool, bool, RiscvAssembler>)[] amoForms =
        [
            ("amoswap.w", (a, d, v, b, q, l) => a.AmoswapW(d, v, b, q, l)), ("amoadd.w", (a, d, v, b, q, l) => a.AmoaddW(d, v, b, q, l)),
            ("amoxor.w", (a, d, v, b, q, l) => a.AmoxorW(d, v, b, q, l)), ("amoand.w", (a, d, v, b, q, l) => a.AmoandW(d, v, b, q, l)),
            ("amoor.w", (a, d, v, b, q, l) => a.AmoorW(d, v, b, q, l)), ("amomin.w", (a, d, v, b, q, l) => a.AmominW(d, v, b, q, l)),
            ("amomax.w", (a, d, v, b, q, l) => a.AmomaxW(d, v, b, q, l)), ("amominu.w", (a, d, v, b, q, l) => a.AmominuW(d, v, b, q, l)),
            ("amomaxu.w", (a, d, v, b, q, l) => a.AmomaxuW(d, v, b, q, l)),
            ("amoswap.d", (a, d, v, b, q, l) => a.AmoswapD(d, v, b, q, l)), ("amoadd.d", (a, d, v, b, q, l) => a.AmoaddD(d, v, b, q, l)),
            ("amoxor.d", (a, d, v, b, q, l) => a.AmoxorD(d, v, b, q, l)), ("amoand.d", (a, d, v, b, q, l) => a.AmoandD(d, v, b, q, l)),
            ("amoor.d", (a, d, v, b, q, l) => a.AmoorD(d, v, b, q, l)), ("amomin.d", (a, d, v, b, q, l) => a.AmominD(d, v, b, q, l)),
            ("amomax.d", (a, d, v, b, q, l) => a.AmomaxD(d, v, b, q, l)), ("amominu.d", (a, d, v, b, q, l) => a.AmominuD(d, v, b, q, l)),
            ("amomaxu.d", (a, d, v, b, q, l) => a.AmomaxuD(d, v, b, q, l)),
            ("sc.w", (a, d, v, b, q, l) => a.ScW(d, v, b, q, l)), ("sc.d", (a, d, v, b, q, l) => a.ScD(d, v, b, q, l)),
        ];
        foreach ((string name, var emit) in amoForms)
        {
            for (int i = 0; i < 4; i++)
            {
                bool aq = (i & 1) != 0, rl = (i & 2) != 0;
                Reg d = g.X(), v = g.X(), b = g.X();
                yield return new($"{name}{Ordering(aq, rl)} {X(d)}, {X(v)}, ({X(b)})", a => emit(a, d, v, b, aq, rl));
            }
        }

        for (int i = 0; i < 4; i++)
        {
            bool aq = (i & 1) != 0, rl = (i & 2) != 0;
            Reg d = g.X(), b = g.X();
            yield return new($"lr.w{Ordering(aq, rl)} {X(d)}, ({X(b)})", a => a.LrW(d, b, aq, rl));
            yield return new($"lr.d{Ordering(aq, rl)} {X(d)}, ({X(b)})", a => a.LrD(d, b, aq, rl));
        }

        // CSR instructions.
        for (int i = 0; i < SamplesPerForm; i++)
        {
            Reg d = g.X(), s = g.X();
            ushort csr = (ushort)random.Next(0x1000);
            int uimm = random.Next(32);
            yield return new($"csrrw {X(d)}, {csr}, {X(s)}", a => a.Csrrw(d, csr, s));
            yield return new($"csrrs {X(d)}, {csr}, {X(s)}", a => a.Csrrs(d, csr, s));
            yield return new($"csrrc {X(d)}, {csr}, {X(s)}", a => a.Csrrc(d, csr, s));
            yield return new($"csrrwi {X(d)}, {csr}, {uimm}", a => a.Csrrwi(d, csr, uimm));
            yield return new($"csrrsi {X(d)}, {csr}, {uimm}", a => a.Csrrsi(d, csr, uimm));
            yield return new($"csrrci {X(d)}, {csr}, {uimm}", a => a.Csrrci(d, csr, uimm));
            yield return new($"sfence.vma {X(d)}, {X(s)}", a => a.SfenceVma(d, s));
        }

        // Fixed encodings.
        yield return new("ecall", a => a.Ecall());
        yield return new("ebreak", a => a.Ebreak());
        yield return new("sret", a => a.Sret());
        yield return new("mret", a => a.Mret());
        yield return new("wfi", a => a.Wfi());
        yield return new("fence", a => a.Fence());
        yield return new("fence r, w", a => a.Fence(RiscvAssembler.FenceSet.R, RiscvAssembler.FenceSet.W));
        yield return new("fence io, rw", a => a.Fence(RiscvAssembler.FenceSet.I | RiscvAssembler.FenceSet.O, RiscvAssembler.FenceSet.RW));
        yield return new("fence.tso", a => a.FenceTso());
        yield return new("fence.i", a => a.FenceI());

        foreach (Sample sample in FloatSamples(g))
        {
            yield return sample;
        }

        foreach (Sample sample in CompressedSamples(g))
        {
            yield return sample;
        }
    }

    private static IEnumerable<Sample> FloatSamples(OperandGenerator g)
    {
        foreach (string p in new[] { "s", "d" })
        {
            bool d = p == "d";

            (string, Func<RiscvAssembler, FReg, FReg, FReg, Rm, RiscvAssembler>)[] arithmetic =
            [
                ("fadd", (a, x, y, z, rm) => d ? a.FaddD(x, y, z, rm) : a.FaddS(x, y, z, rm)),
                ("fsub", (a, x, y, z, rm) => d ? a.FsubD(x, y, z, rm) : a.FsubS(x, y, z, rm)),
                ("fmul", (a, x, y, z, rm) => d ? a.FmulD(x, y, z, rm) : a.FmulS(x, y, z, rm)),
                ("fdiv", (a, x, y, z, rm) => d ? a.FdivD(x, y, z, rm) : a.FdivS(x, y, z, rm)),
            ];
            foreach ((string name, var emit) in arithmetic)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    FReg x = g.F(), y = g.F(), z = g.F();
                    Rm rm = g.RoundingMode();
                    yield return new($"{name}.{p} {F(x)}, {F(y)}, {F(z)}, {RmText(rm)}", a => emit(a, x, y, z, rm));
                }
            }

            (string, Func<RiscvAssembler, FReg, FReg, FReg, FReg, Rm, RiscvAssembler>)[] fused =
            [
                ("fmadd", (a, w, x, y, z, rm) => d ? a.FmaddD(w, x, y, z, rm) : a.FmaddS(w, x, y, z, rm)),
                ("fmsub", (a, w, x, y, z, rm) => d ? a.FmsubD(w, x, y, z, rm) : a.FmsubS(w, x, y, z, rm)),
                ("fnmsub", (a, w, x, y, z, rm) => d ? a.FnmsubD(w, x, y, z, rm) : a.FnmsubS(w, x, y, z, rm)),
                ("fnmadd", (a, w, x, y, z, rm) => d ? a.FnmaddD(w, x, y, z, rm) : a.FnmaddS(w, x, y, z, rm)),
            ];
            foreach ((string name, var emit) in fused)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    FReg w = g.F(), x = g.F(), y = g.F(), z = g.F();
                    Rm rm = g.RoundingMode();
                    yield return new($"{name}.{p} {F(w)}, {F(x)}, {F(y)}, {F(z)}, {RmText(rm)}", a => emit(a, w, x, y, z, rm));
                }
            }

            (string, Func<RiscvAssembler, FReg, FReg, FReg, RiscvAssembler>)[] noRounding =
            [
                ("fsgnj", (a, x, y, z) => d ? a.FsgnjD(x, y, z) : a.FsgnjS(x, y, z)),
                ("fsgnjn", (a, x, y, z) => d ? a.FsgnjnD(x, y, z) : a.FsgnjnS(x, y, z)),
                ("fsgnjx", (a, x, y, z) => d ? a.FsgnjxD(x, y, z) : a.FsgnjxS(x, y, z)),
                ("fmin", (a, x, y, z) => d ? a.FminD(x, y, z) : a.FminS(x, y, z)),
                ("fmax", (a, x, y, z) => d ? a.FmaxD(x, y, z) : a.FmaxS(x, y, z)),
            ];
            foreach ((string name, var emit) in noRounding)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    FReg x = g.F(), y = g.F(), z = g.F();
                    yield return new($"{name}.{p} {F(x)}, {F(y)}, {F(z)}", a => emit(a, x, y, z));
                }
            }

            (string, Func<RiscvAssembler, Reg, FReg, FReg, RiscvAssembler>)[] compares =
            [
                ("feq", (a, r, y, z) => d ? a.FeqD(r, y, z) : a.FeqS(r, y, z)),
                ("flt", (a, r, y, z) => d ? a.FltD(r, y, z) : a.FltS(r, y, z)),
                ("fle", (a, r, y, z) => d ? a.FleD(r, y, z) : a.FleS(r, y, z)),
            ];
            foreach ((string name, var emit) in compares)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    Reg r = g.X();
                    FReg y = g.F(), z = g.F();
                    yield return new($"{name}.{p} {X(r)}, {F(y)}, {F(z)}", a => emit(a, r, y, z));
                }
            }

            (string, Func<RiscvAssembler, Reg, FReg, Rm, RiscvAssembler>)[] toInteger =
            [
                ("fcvt.w", (a, r, f, rm) => d ? a.FcvtWD(r, f, rm) : a.FcvtWS(r, f, rm)),
                ("fcvt.wu", (a, r, f, rm) => d ? a.FcvtWuD(r, f, rm) : a.FcvtWuS(r, f, rm)),
                ("fcvt.l", (a, r, f, rm) => d ? a.FcvtLD(r, f, rm) : a.FcvtLS(r, f, rm)),
                ("fcvt.lu", (a, r, f, rm) => d ? a.FcvtLuD(r, f, rm) : a.FcvtLuS(r, f, rm)),
            ];
            foreach ((string name, var emit) in toInteger)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    Reg r = g.X();
                    FReg f = g.F();
                    Rm rm = g.RoundingMode();
                    yield return new($"{name}.{p} {X(r)}, {F(f)}, {RmText(rm)}", a => emit(a, r, f, rm));
                }
            }

            (string, Func<RiscvAssembler, FReg, Reg, Rm, RiscvAssembler>)[] fromInteger =
            [
                ("w", (a, f, r, rm) => d ? a.FcvtDW(f, r, rm) : a.FcvtSW(f, r, rm)),
                ("wu", (a, f, r, rm) => d ? a.FcvtDWu(f, r, rm) : a.FcvtSWu(f, r, rm)),
                ("l", (a, f, r, rm) => d ? a.FcvtDL(f, r, rm) : a.FcvtSL(f, r, rm)),
                ("lu", (a, f, r, rm) => d ? a.FcvtDLu(f, r, rm) : a.FcvtSLu(f, r, rm)),
            ];
            foreach ((string name, var emit) in fromInteger)
            {
                for (int i = 0; i < SamplesPerForm; i++)
                {
                    FReg f = g.F();
                    Reg r = g.X();
                    bool exact = d && name is "w" or "wu";
                    if (exact)
                    {
                        // Exact conversions: GNU as 2.40 takes no rounding mode and encodes RNE.
                        yield return new($"fcvt.{p}.{name} {F(f)}, {X(r)}", a => emit(a, f, r, Rm.Rne));
                    }
                    else
                    {
                        Rm rm = g.RoundingMode();
                        yield return new($"fcvt.{p}.{name} {F(f)}, {X(r)}, {RmText(rm)}", a => emit(a, f, r, rm));
                    }
                }
            }

            for (int i = 0; i < SamplesPerForm; i++)
            {
                FReg x = g.F(), y = g.F();
                Reg r = g.X();
                Rm rm = g.RoundingMode();
                yield return new($"fsqrt.{p} {F(x)}, {F(y)}, {RmText(rm)}", a => _ = d ? a.FsqrtD(x, y, rm) : a.FsqrtS(x, y, rm));
                yield return new($"fclass.{p} {X(r)}, {F(y)}", a => _ = d ? a.FclassD(r, y) : a.FclassS(r, y));
                string width = d ? "d" : "w";
                yield return new($"fmv.x.{width} {X(r)}, {F(y)}", a => _ = d ? a.FmvXD(r, y) : a.FmvXW(r, y));
                yield return new($"fmv.{width}.x {F(x)}, {X(r)}", a => _ = d ? a.FmvDX(x, r) : a.FmvWX(x, r));
            }
        }

        for (int i = 0; i < SamplesPerForm; i++)
        {
            FReg x = g.F(), y = g.F();
            Rm rm = g.RoundingMode();
            yield return new($"fcvt.s.d {F(x)}, {F(y)}, {RmText(rm)}", a => a.FcvtSD(x, y, rm));
            yield return new($"fcvt.d.s {F(x)}, {F(y)}", a => a.FcvtDS(x, y));
        }
    }

    private static IEnumerable<Sample> CompressedSamples(OperandGenerator g)
    {
        for (int i = 0; i < SamplesPerForm; i++)
        {
            Reg c = g.Xc(), c2 = g.Xc(), n = g.Xnz(), n2 = g.Xnz();
            FReg fc = g.Fc(), f = g.F();
            Reg any = g.X();

            int spn = g.Scaled(10, 4, nonZero: true);
            yield return new($"c.addi4spn {X(c)}, sp, {spn}", a => a.CAddi4spn(c, spn));
            int w = g.Scaled(7, 4), dw = g.Scaled(8, 8);
            yield return new($"c.lw {X(c)}, {w}({X(c2)})", a => a.CLw(c, w, c2));
            yield return new($"c.sw {X(c)}, {w}({X(c2)})", a => a.CSw(c, w, c2));
            yield return new($"c.ld {X(c)}, {dw}({X(c2)})", a => a.CLd(c, dw, c2));
            yield return new($"c.sd {X(c)}, {dw}({X(c2)})", a => a.CSd(c, dw, c2));
            yield return new($"c.fld {F(fc)}, {dw}({X(c2)})", a => a.CFld(fc, dw, c2));
            yield return new($"c.fsd {F(fc)}, {dw}({X(c2)})", a => a.CFsd(fc, dw, c2));

            int imm6 = g.Immediate(6, signed: true);
            int nz6 = imm6 == 0 ? 1 : imm6;
            yield return new($"c.addi {X(n)}, {nz6}", a => a.CAddi(n, nz6));
            yield return new($"c.addiw {X(n)}, {imm6}", a => a.CAddiw(n, imm6));
            yield return new($"c.li {X(n)}, {imm6}", a => a.CLi(n, imm6));
            yield return new($"c.andi {X(c)}, {imm6}", a => a.CAndi(c, imm6));
            int sp16 = g.Scaled(10, 16, nonZero: true, signed: true);
            yield return new($"c.addi16sp sp, {sp16}", a => a.CAddi16sp(sp16));
            Reg luiTarget = n == Sp ? A5 : n;
            int lui = nz6 < 0 ? 0x100000 + nz6 : nz6;
            yield return new($"c.lui {X(luiTarget)}, {lui}", a => a.CLui(luiTarget, lui));

            int shamt = 1 + (g.Immediate(6, signed: false) % 63);
            yield return new($"c.srli {X(c)}, {shamt}", a => a.CSrli(c, shamt));
            yield return new($"c.srai {X(c)}, {shamt}", a => a.CSrai(c, shamt));
            yield return new($"c.slli {X(n)}, {shamt}", a => a.CSlli(n, shamt));

            yield return new($"c.sub {X(c)}, {X(c2)}", a => a.CSub(c, c2));
            yield return new($"c.xor {X(c)}, {X(c2)}", a => a.CXor(c, c2));
            yield return new($"c.or {X(c)}, {X(c2)}", a => a.COr(c, c2));
            yield return new($"c.and {X(c)}, {X(c2)}", a => a.CAnd(c, c2));
            yield return new($"c.subw {X(c)}, {X(c2)}", a => a.CSubw(c, c2));
            yield return new($"c.addw {X(c)}, {X(c2)}", a => a.CAddw(c, c2));

            int jump = g.Immediate(12, signed: true) & ~1;
            yield return new($"c.j .{jump:+0;-0}", a => a.CJ(jump));
            int branch = g.Immediate(9, signed: true) & ~1;
            yield return new($"c.beqz {X(c)}, .{branch:+0;-0}", a => a.CBeqz(c, branch));
            yield return new($"c.bnez {X(c)}, .{branch:+0;-0}", a => a.CBnez(c, branch));

            int sw = g.Scaled(8, 4), sd = g.Scaled(9, 8);
            yield return new($"c.lwsp {X(n)}, {sw}(sp)", a => a.CLwsp(n, sw));
            yield return new($"c.ldsp {X(n)}, {sd}(sp)", a => a.CLdsp(n, sd));
            yield return new($"c.fldsp {F(f)}, {sd}(sp)", a => a.CFldsp(f, sd));
            yield return new($"c.swsp {X(any)}, {sw}(sp)", a => a.CSwsp(any, sw));
            yield return new($"c.sdsp {X(any)}, {sd}(sp)", a => a.CSdsp(any, sd));
            yield return new($"c.fsdsp {F(f)}, {sd}(sp)", a => a.CFsdsp(f, sd));

            yield return new($"c.jr {X(n)}", a => a.CJr(n));
            yield return new($"c.jalr {X(n)}", a => a.CJalr(n));
            yield return new($"c.mv {X(n)}, {X(n2)}", a => a.CMv(n, n2));
            yield return new($"c.add {X(n)}, {X(n2)}", a => a.CAdd(n, n2));
        }

        yield return new("c.nop", a => a.CNop());
        yield return new("c.ebreak", a => a.CEbreak());
    }

    private static string X(Reg r) => $"x{(int)r}";

    private static string F(FReg r) => $"f{(int)r}";

    private static string Ordering(bool aq, bool rl) => (aq, rl) switch
    {
        (true, true) => ".aqrl",
        (true, false) => ".aq",
        (false, true) => ".rl",
        _ => string.Empty,
    };

    private static string RmText(Rm rm) => rm.ToString().ToLowerInvariant();

    /// <summary>Random operands, with the limits of every immediate range drawn often.</summary>
    private sealed class OperandGenerator(Random random)
    {
        public Reg X() => (Reg)random.Next(32);

        public Reg Xnz() => (Reg)random.Next(1, 32);

        public Reg Xc() => (Reg)random.Next(8, 16);

        public FReg F() => (FReg)random.Next(32);

        public FReg Fc() => (FReg)random.Next(8, 16);

        public Rm RoundingMode() => random.Next(6) switch { 5 => Rm.Dyn, int m => (Rm)m };

        public int Immediate(int bits, bool signed)
        {
            int min = signed ? -(1 << (bits - 1)) : 0;
            int max = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
            return random.Next(5) switch
            {
                0 => min,
                1 => max,
                2 => signed ? -1 : 1,
                _ => random.Next(min, max + 1),
            };
        }

        /// <summary>A multiple of <paramref name="scale"/> that fits in <paramref name="bits"/> bits.</summary>
        public int Scaled(int bits, int scale, bool nonZero = false, bool signed = false)
        {
            int value;
            do
            {
                value = Immediate(bits, signed) / scale * scale;
            }
            while (nonZero && value == 0);

            return value;
        }
    }
}
