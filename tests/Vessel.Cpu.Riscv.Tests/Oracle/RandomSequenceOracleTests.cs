using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Xunit.Abstractions;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// Random RV64IMAC code (seeded) run under QEMU and under Vessel: blocks of random integer, M,
/// A and compressed instructions, with loads and stores (aligned and not) into a data area,
/// forward branches and jumps, over random register values; after each block all registers
/// are printed, and at the end the data area. Both outputs must be identical.
/// </summary>
public sealed class RandomSequenceOracleTests(ITestOutputHelper output)
{
    private const int Blocks = 200;
    private const int InstructionsPerBlock = 48;
    private const int DataSize = 512;
    private const Reg MemoryBase = S0; // x8: reachable by the compressed loads and stores

    private static readonly ulong[] s_interesting =
    [
        0, 1, 2, ulong.MaxValue, ulong.MaxValue - 1, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff,
        0xffff_ffff_8000_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 31, 32, 63, 64,
    ];

    [QemuSystemFact]
    public void RandomIntegerSequencesMatchQemu()
    {
        var random = new Random(0x0ac1_2024);
        var program = new OracleProgram();
        var listings = new List<List<string>>();
        RiscvAssembler asm = program.Asm;
        for (int block = 0; block < Blocks; block++)
        {
            var listing = new List<string>();
            listings.Add(listing);
            for (int r = 1; r < 32; r++)
            {
                if ((Reg)r != MemoryBase)
                {
                    asm.Li((Reg)r, RandomValue(random));
                }
            }

            asm.La(MemoryBase, "data").Addi(MemoryBase, MemoryBase, DataSize / 2);
            var generator = new Generator(asm, random, listing, block);
            for (int i = 0; i < InstructionsPerBlock; i++)
            {
                generator.Next();
            }

            program.DumpRegisters($"block {block}");
        }

        program.DumpMemory("data", DataSize / 8, i => $"data + {8 * i}");
        byte[] initialData = new byte[DataSize];
        random.NextBytes(initialData);
        byte[] image = program.Finish(a => a.Align(8).Label("data").Bytes(initialData));

        string qemu = OracleRunner.RunQemu(image);
        string vessel = OracleRunner.RunVessel(image);
        string report = program.Compare(qemu, vessel, line => line / 31 < listings.Count
            ? $"block {line / 31}:\n  " + string.Join("\n  ", listings[line / 31])
            : string.Empty);
        output.WriteLine($"{Blocks * InstructionsPerBlock} random instructions in {Blocks} blocks, {program.Lines.Count} values compared");
        Assert.True(report.Length == 0, report);
    }

    private static long RandomValue(Random random) => random.Next(3) switch
    {
        0 => (long)s_interesting[random.Next(s_interesting.Length)],
        1 => random.Next(-4096, 4096),
        _ => random.NextInt64(long.MinValue, long.MaxValue),
    };

    /// <summary>Emits one random instruction (or a short idiom) and its text.</summary>
    private sealed class Generator(RiscvAssembler asm, Random random, List<string> listing, int block)
    {
        private int _labels;

        private static readonly string[] s_registerOps =
        [
            "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw", "srlw", "sraw",
            "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw", "divuw", "remw", "remuw",
        ];

        private static readonly string[] s_immediateOps = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw", "slli", "srli", "srai", "slliw", "srliw", "sraiw"];

        private Reg Destination()
        {
            Reg r;
            do
            {
                r = (Reg)random.Next(32);
            }
            while (r == MemoryBase);
            return r;
        }

        private Reg Source() => random.Next(8) == 0 ? Zero : (Reg)random.Next(32);

        private Reg CompressedDestination()
        {
            Reg r;
            do
            {
                r = (Reg)random.Next(8, 16);
            }
            while (r == MemoryBase);
            return r;
        }

        private Reg NonZeroDestination()
        {
            Reg r;
            do
            {
                r = Destination();
            }
            while (r == Zero);
            return r;
        }

        private int Immediate12() => random.Next(4) switch { 0 => -2048, 1 => 2047, _ => random.Next(-2048, 2048) };

        private void Text(string text) => listing.Add(text);

        public void Next()
        {
            switch (random.Next(20))
            {
                case < 6: RegisterOp(); break;
                case < 9: ImmediateOp(); break;
                case 9: Upper(); break;
                case < 12: Memory(); break;
                case < 15: Compressed(); break;
                case 15: Atomic(); break;
                case 16: ReservedPair(); break;
                case 17 or 18: Branch(); break;
                default: Jump(); break;
            }
        }

        private void RegisterOp()
        {
            string op = s_registerOps[random.Next(s_registerOps.Length)];
            Reg d = Destination(), a = Source(), b = Source();
            Text($"{op} {d}, {a}, {b}");
            _ = op switch
            {
                "add" => asm.Add(d, a, b), "sub" => asm.Sub(d, a, b), "sll" => asm.Sll(d, a, b), "slt" => asm.Slt(d, a, b),
                "sltu" => asm.Sltu(d, a, b), "xor" => asm.Xor(d, a, b), "srl" => asm.Srl(d, a, b), "sra" => asm.Sra(d, a, b),
                "or" => asm.Or(d, a, b), "and" => asm.And(d, a, b), "addw" => asm.Addw(d, a, b), "subw" => asm.Subw(d, a, b),
                "sllw" => asm.Sllw(d, a, b), "srlw" => asm.Srlw(d, a, b), "sraw" => asm.Sraw(d, a, b), "mul" => asm.Mul(d, a, b),
                "mulh" => asm.Mulh(d, a, b), "mulhsu" => asm.Mulhsu(d, a, b), "mulhu" => asm.Mulhu(d, a, b), "div" => asm.Div(d, a, b),
                "divu" => asm.Divu(d, a, b), "rem" => asm.Rem(d, a, b), "remu" => asm.Remu(d, a, b), "mulw" => asm.Mulw(d, a, b),
                "divw" => asm.Divw(d, a, b), "divuw" => asm.Divuw(d, a, b), "remw" => asm.Remw(d, a, b), _ => asm.Remuw(d, a, b),
            };
        }

        private void ImmediateOp()
        {
            string op = s_immediateOps[random.Next(s_immediateOps.Length)];
            Reg d = Destination(), a = Source();
            int imm = op switch
            {
                "slli" or "srli" or "srai" => random.Next(64),
                "slliw" or "srliw" or "sraiw" => random.Next(32),
                _ => Immediate12(),
            };
            Text($"{op} {d}, {a}, {imm}");
            _ = op switch
            {
                "addi" => asm.Addi(d, a, imm), "slti" => asm.Slti(d, a, imm), "sltiu" => asm.Sltiu(d, a, imm),
                "xori" => asm.Xori(d, a, imm), "ori" => asm.Ori(d, a, imm), "andi" => asm.Andi(d, a, imm),
                "addiw" => asm.Addiw(d, a, imm), "slli" => asm.Slli(d, a, imm), "srli" => asm.Srli(d, a, imm),
                "srai" => asm.Srai(d, a, imm), "slliw" => asm.Slliw(d, a, imm), "srliw" => asm.Srliw(d, a, imm),
                _ => asm.Sraiw(d, a, imm),
            };
        }

        private void Upper()
        {
            Reg d = Destination();
            int upper = random.Next(1 << 20);
            bool lui = random.Next(2) == 0;
            Text($"{(lui ? "lui" : "auipc")} {d}, 0x{upper:x}");
            _ = lui ? asm.Lui(d, upper) : asm.Auipc(d, upper);
        }

        private void Memory()
        {
            // Offsets stay inside the data area around the base; one in four is misaligned.
            string[] ops = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "sb", "sh", "sw", "sd"];
            string op = ops[random.Next(ops.Length)];
            int size = op[1] switch { 'b' => 1, 'h' => 2, 'w' => 4, _ => 8 };
            int offset = random.Next(-DataSize / 2, (DataSize / 2) - 8);
            if (random.Next(4) != 0)
            {
                offset &= ~(size - 1);
            }

            Reg r = op[0] == 'l' ? Destination() : Source();
            Text($"{op} {r}, {offset}({MemoryBase})");
            _ = op switch
            {
                "lb" => asm.Lb(r, offset, MemoryBase), "lh" => asm.Lh(r, offset, MemoryBase), "lw" => asm.Lw(r, offset, MemoryBase),
                "ld" => asm.Ld(r, offset, MemoryBase), "lbu" => asm.Lbu(r, offset, MemoryBase), "lhu" => asm.Lhu(r, offset, MemoryBase),
                "lwu" => asm.Lwu(r, offset, MemoryBase), "sb" => asm.Sb(r, offset, MemoryBase), "sh" => asm.Sh(r, offset, MemoryBase),
                "sw" => asm.Sw(r, offset, MemoryBase), _ => asm.Sd(r, offset, MemoryBase),
            };
        }

        private void Compressed()
        {
            Reg c = CompressedDestination(), c2 = (Reg)random.Next(8, 16), n = NonZeroDestination(), n2 = (Reg)random.Next(1, 32);
            int imm = random.Next(-32, 32), nz = random.Next(2) == 0 ? random.Next(-32, 0) : random.Next(1, 32), shamt = random.Next(1, 64);
            switch (random.Next(19))
            {
                case 0: Text($"c.addi {n}, {nz}"); asm.CAddi(n, nz); break;
                case 1: Text($"c.addiw {n}, {imm}"); asm.CAddiw(n, imm); break;
                case 2: Text($"c.li {n}, {imm}"); asm.CLi(n, imm); break;
                case 3:
                    Reg lui = n == Sp ? A0 : n;
                    Text($"c.lui {lui}, {nz}");
                    asm.CLui(lui, nz);
                    break;
                case 4: Text($"c.srli {c}, {shamt}"); asm.CSrli(c, shamt); break;
                case 5: Text($"c.srai {c}, {shamt}"); asm.CSrai(c, shamt); break;
                case 6: Text($"c.andi {c}, {imm}"); asm.CAndi(c, imm); break;
                case 7: Text($"c.sub {c}, {c2}"); asm.CSub(c, c2); break;
                case 8: Text($"c.xor {c}, {c2}"); asm.CXor(c, c2); break;
                case 9: Text($"c.or {c}, {c2}"); asm.COr(c, c2); break;
                case 10: Text($"c.and {c}, {c2}"); asm.CAnd(c, c2); break;
                case 11: Text($"c.subw {c}, {c2}"); asm.CSubw(c, c2); break;
                case 12: Text($"c.addw {c}, {c2}"); asm.CAddw(c, c2); break;
                case 13: Text($"c.slli {n}, {shamt}"); asm.CSlli(n, shamt); break;
                case 14: Text($"c.mv {n}, {n2}"); asm.CMv(n, n2); break;
                case 15: Text($"c.add {n}, {n2}"); asm.CAdd(n, n2); break;
                case 16:
                {
                    int offset = random.Next(0, 32) * 4;
                    bool load = random.Next(2) == 0;
                    Reg r = load ? c : c2;
                    Text($"c.{(load ? "lw" : "sw")} {r}, {offset}({MemoryBase})");
                    _ = load ? asm.CLw(r, offset, MemoryBase) : asm.CSw(r, offset, MemoryBase);
                    break;
                }

                case 17:
                {
                    int offset = random.Next(0, 16) * 8;
                    bool load = random.Next(2) == 0;
                    Reg r = load ? c : c2;
                    Text($"c.{(load ? "ld" : "sd")} {r}, {offset}({MemoryBase})");
                    _ = load ? asm.CLd(r, offset, MemoryBase) : asm.CSd(r, offset, MemoryBase);
                    break;
                }

                default: Text("c.nop"); asm.CNop(); break;
            }
        }

        private void Atomic()
        {
            string[] ops = ["swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu"];
            string op = ops[random.Next(ops.Length)];
            bool word = random.Next(2) == 0;
            Reg d = Destination(), v = Source();
            Text($"amo{op}.{(word ? "w" : "d")} {d}, {v}, ({MemoryBase})");
            _ = (op, word) switch
            {
                ("swap", true) => asm.AmoswapW(d, v, MemoryBase), ("swap", false) => asm.AmoswapD(d, v, MemoryBase),
                ("add", true) => asm.AmoaddW(d, v, MemoryBase), ("add", false) => asm.AmoaddD(d, v, MemoryBase),
                ("xor", true) => asm.AmoxorW(d, v, MemoryBase), ("xor", false) => asm.AmoxorD(d, v, MemoryBase),
                ("and", true) => asm.AmoandW(d, v, MemoryBase), ("and", false) => asm.AmoandD(d, v, MemoryBase),
                ("or", true) => asm.AmoorW(d, v, MemoryBase), ("or", false) => asm.AmoorD(d, v, MemoryBase),
                ("min", true) => asm.AmominW(d, v, MemoryBase), ("min", false) => asm.AmominD(d, v, MemoryBase),
                ("max", true) => asm.AmomaxW(d, v, MemoryBase), ("max", false) => asm.AmomaxD(d, v, MemoryBase),
                ("minu", true) => asm.AmominuW(d, v, MemoryBase), ("minu", false) => asm.AmominuD(d, v, MemoryBase),
                ("maxu", true) => asm.AmomaxuW(d, v, MemoryBase), _ => asm.AmomaxuD(d, v, MemoryBase),
            };
        }

        private void ReservedPair()
        {
            // lr/sc on the base address: succeeds right after lr (no store in between).
            Reg d = Destination(), s = Destination(), v = Source();
            bool word = random.Next(2) == 0;
            Text($"lr.{(word ? "w" : "d")} {d}, ({MemoryBase}); sc.{(word ? "w" : "d")} {s}, {v}, ({MemoryBase})");
            if (word)
            {
                asm.LrW(d, MemoryBase).ScW(s, v, MemoryBase);
            }
            else
            {
                asm.LrD(d, MemoryBase).ScD(s, v, MemoryBase);
            }
        }

        private void Branch()
        {
            string[] ops = ["beq", "bne", "blt", "bge", "bltu", "bgeu", "c.beqz", "c.bnez"];
            string op = ops[random.Next(ops.Length)];
            string label = $"b{block}.{_labels++}";
            Reg a = Source(), b = Source(), c = (Reg)random.Next(8, 16);
            Text(op.StartsWith("c.", StringComparison.Ordinal) ? $"{op} {c}, {label}" : $"{op} {a}, {b}, {label}");
            _ = op switch
            {
                "beq" => asm.Beq(a, b, label), "bne" => asm.Bne(a, b, label), "blt" => asm.Blt(a, b, label),
                "bge" => asm.Bge(a, b, label), "bltu" => asm.Bltu(a, b, label), "bgeu" => asm.Bgeu(a, b, label),
                "c.beqz" => asm.CBeqz(c, label), _ => asm.CBnez(c, label),
            };
            int skipped = random.Next(1, 4);
            for (int i = 0; i < skipped; i++)
            {
                if (random.Next(2) == 0)
                {
                    RegisterOp();
                }
                else
                {
                    Compressed();
                }
            }

            asm.Label(label);
            Text($"{label}:");
        }

        private void Jump()
        {
            string label = $"j{block}.{_labels++}";
            Reg d = Destination();
            switch (random.Next(3))
            {
                case 0:
                    Text($"jal {d}, {label}");
                    asm.Jal(d, label);
                    break;
                case 1:
                    Text($"c.j {label}");
                    asm.CJ(label);
                    break;
                default:
                    Reg through = NonZeroDestination();
                    int odd = random.Next(2); // jalr clears bit 0 of the target
                    Text($"la {through}, {label}+{odd}; jalr {d}, 0({through})");
                    asm.La(through, label).Addi(through, through, odd).Jalr(d, through, 0);
                    break;
            }

            ImmediateOp();
            asm.Label(label);
            Text($"{label}:");
        }
    }
}
