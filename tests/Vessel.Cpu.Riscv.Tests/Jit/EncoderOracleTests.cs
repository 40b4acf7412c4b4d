using System.Diagnostics;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Checks the test encoders (<see cref="Rv"/>) against GNU as for RISC-V (package
/// gcc-riscv64-linux-gnu, installed by <c>scripts/setup</c>), so that the translator's tests
/// run the instructions they mean to.
/// </summary>
public sealed class EncoderOracleTests
{
    private static readonly (string Source, byte[] Bytes)[] s_cases =
    [
        ("lui x5, 0x12345", Word(Rv.Lui(5, 0x12345))),
        ("auipc x31, 0xfffff", Word(Rv.Auipc(31, 0xfffff))),
        ("jal x1, .+2044", Word(Rv.Jal(1, 2044))),
        ("jal x0, .-1048576", Word(Rv.Jal(0, -1048576))),
        ("jalr x3, -7(x4)", Word(Rv.Jalr(3, 4, -7))),
        ("beq x1, x2, .-4096", Word(Rv.Beq(1, 2, -4096))),
        ("bne x30, x31, .+4094", Word(Rv.Bne(30, 31, 4094))),
        ("blt x5, x6, .+2050", Word(Rv.Blt(5, 6, 2050))),
        ("bge x7, x8, .-2", Word(Rv.Bge(7, 8, -2))),
        ("bltu x9, x10, .+12", Word(Rv.Bltu(9, 10, 12))),
        ("bgeu x11, x12, .-2048", Word(Rv.Bgeu(11, 12, -2048))),
        ("lb x1, -2048(x2)", Word(Rv.Lb(1, 2, -2048))),
        ("lh x3, 2047(x4)", Word(Rv.Lh(3, 4, 2047))),
        ("lw x5, 8(x6)", Word(Rv.Lw(5, 6, 8))),
        ("ld x7, -8(x8)", Word(Rv.Ld(7, 8, -8))),
        ("lbu x9, 1(x10)", Word(Rv.Lbu(9, 10, 1))),
        ("lhu x11, 2(x12)", Word(Rv.Lhu(11, 12, 2))),
        ("lwu x13, 4(x14)", Word(Rv.Lwu(13, 14, 4))),
        ("sb x15, -1(x16)", Word(Rv.Sb(15, 16, -1))),
        ("sh x17, 2046(x18)", Word(Rv.Sh(17, 18, 2046))),
        ("sw x19, -2048(x20)", Word(Rv.Sw(19, 20, -2048))),
        ("sd x21, 40(x22)", Word(Rv.Sd(21, 22, 40))),
        ("addi x1, x2, -1", Word(Rv.Addi(1, 2, -1))),
        ("slti x1, x2, 5", Word(Rv.Slti(1, 2, 5))),
        ("sltiu x1, x2, -5", Word(Rv.Sltiu(1, 2, -5))),
        ("xori x1, x2, 0x7ff", Word(Rv.Xori(1, 2, 0x7ff))),
        ("ori x1, x2, -2048", Word(Rv.Ori(1, 2, -2048))),
        ("andi x1, x2, 0xf0", Word(Rv.Andi(1, 2, 0xf0))),
        ("slli x1, x2, 63", Word(Rv.Slli(1, 2, 63))),
        ("srli x1, x2, 33", Word(Rv.Srli(1, 2, 33))),
        ("srai x1, x2, 1", Word(Rv.Srai(1, 2, 1))),
        ("add x1, x2, x3", Word(Rv.Add(1, 2, 3))),
        ("sub x4, x5, x6", Word(Rv.Sub(4, 5, 6))),
        ("sll x7, x8, x9", Word(Rv.Sll(7, 8, 9))),
        ("slt x10, x11, x12", Word(Rv.Slt(10, 11, 12))),
        ("sltu x13, x14, x15", Word(Rv.Sltu(13, 14, 15))),
        ("xor x16, x17, x18", Word(Rv.Xor(16, 17, 18))),
        ("srl x19, x20, x21", Word(Rv.Srl(19, 20, 21))),
        ("sra x22, x23, x24", Word(Rv.Sra(22, 23, 24))),
        ("or x25, x26, x27", Word(Rv.Or(25, 26, 27))),
        ("and x28, x29, x30", Word(Rv.And(28, 29, 30))),
        ("addiw x1, x2, -3", Word(Rv.Addiw(1, 2, -3))),
        ("slliw x1, x2, 31", Word(Rv.Slliw(1, 2, 31))),
        ("srliw x1, x2, 3", Word(Rv.Srliw(1, 2, 3))),
        ("sraiw x1, x2, 17", Word(Rv.Sraiw(1, 2, 17))),
        ("addw x1, x2, x3", Word(Rv.Addw(1, 2, 3))),
        ("subw x1, x2, x3", Word(Rv.Subw(1, 2, 3))),
        ("sllw x1, x2, x3", Word(Rv.Sllw(1, 2, 3))),
        ("srlw x1, x2, x3", Word(Rv.Srlw(1, 2, 3))),
        ("sraw x1, x2, x3", Word(Rv.Sraw(1, 2, 3))),
        ("fence", Word(Rv.Fence())),
        ("fence.i", Word(Rv.FenceI())),
        ("ecall", Word(Rv.Ecall())),
        ("ebreak", Word(Rv.Ebreak())),
        ("mret", Word(Rv.Mret())),
        ("sret", Word(Rv.Sret())),
        ("wfi", Word(Rv.Wfi())),
        ("sfence.vma x5, x6", Word(Rv.SfenceVma(5, 6))),
        ("csrrw x1, mscratch, x2", Word(Rv.Csrrw(1, 0x340, 2))),
        ("csrrs x1, instret, x0", Word(Rv.Csrrs(1, 0xc02, 0))),
        ("csrrc x1, mstatus, x3", Word(Rv.Csrrc(1, 0x300, 3))),
        ("csrrwi x1, fcsr, 31", Word(Rv.Csrrwi(1, 0x003, 31))),
        ("mul x1, x2, x3", Word(Rv.MulDiv(0, 1, 2, 3))),
        ("mulh x1, x2, x3", Word(Rv.MulDiv(1, 1, 2, 3))),
        ("mulhsu x1, x2, x3", Word(Rv.MulDiv(2, 1, 2, 3))),
        ("mulhu x1, x2, x3", Word(Rv.MulDiv(3, 1, 2, 3))),
        ("div x1, x2, x3", Word(Rv.MulDiv(4, 1, 2, 3))),
        ("divu x1, x2, x3", Word(Rv.MulDiv(5, 1, 2, 3))),
        ("rem x1, x2, x3", Word(Rv.MulDiv(6, 1, 2, 3))),
        ("remu x1, x2, x3", Word(Rv.MulDiv(7, 1, 2, 3))),
        ("mulw x1, x2, x3", Word(Rv.MulDivWord(0, 1, 2, 3))),
        ("divw x1, x2, x3", Word(Rv.MulDivWord(4, 1, 2, 3))),
        ("divuw x1, x2, x3", Word(Rv.MulDivWord(5, 1, 2, 3))),
        ("remw x1, x2, x3", Word(Rv.MulDivWord(6, 1, 2, 3))),
        ("remuw x1, x2, x3", Word(Rv.MulDivWord(7, 1, 2, 3))),
        ("lr.d x1, (x2)", Word(Rv.LrD(1, 2))),
        ("sc.d x1, x3, (x2)", Word(Rv.ScD(1, 2, 3))),
        ("lr.w x1, (x2)", Word(Rv.LrW(1, 2))),
        ("sc.w x1, x3, (x2)", Word(Rv.ScW(1, 2, 3))),
        ("amoadd.d x1, x3, (x2)", Word(Rv.Amo(0, true, 1, 2, 3))),
        ("amoswap.w x1, x3, (x2)", Word(Rv.Amo(1, false, 1, 2, 3))),
        ("amomaxu.d x1, x3, (x2)", Word(Rv.Amo(28, true, 1, 2, 3))),
        ("flw f1, 4(x2)", Word(Rv.Flw(1, 2, 4))),
        ("fld f3, -8(x4)", Word(Rv.Fld(3, 4, -8))),
        ("fsw f5, 12(x6)", Word(Rv.Fsw(5, 6, 12))),
        ("fsd f7, 16(x8)", Word(Rv.Fsd(7, 8, 16))),
        ("fadd.d f1, f2, f3, dyn", Word(Rv.FaddD(1, 2, 3))),
        ("fmul.d f1, f2, f3, rtz", Word(Rv.FmulD(1, 2, 3, 1))),
        ("fdiv.d f1, f2, f3, dyn", Word(Rv.FdivD(1, 2, 3))),
        ("fadd.s f1, f2, f3, rne", Word(Rv.FaddS(1, 2, 3, 0))),
        ("fmadd.d f1, f2, f3, f4, dyn", Word(Rv.FmaddD(1, 2, 3, 4))),
        ("fcvt.d.l f1, x2, dyn", Word(Rv.FcvtDL(1, 2))),
        ("fcvt.l.d x1, f2, rtz", Word(Rv.FcvtLD(1, 2, 1))),
        ("fmv.d.x f1, x2", Word(Rv.FmvDX(1, 2))),
        ("fmv.x.d x1, f2", Word(Rv.FmvXD(1, 2))),
        ("flt.d x1, f2, f3", Word(Rv.FltD(1, 2, 3))),
        ("c.addi x5, -32", Half(Rv.CAddi(5, -32))),
        ("c.addiw x6, 31", Half(Rv.CAddiw(6, 31))),
        ("c.li x7, -1", Half(Rv.CLi(7, -1))),
        ("c.lui x8, 0x1f", Half(Rv.CLui(8, 0x1f))),
        ("c.lui x9, 0xfffe0", Half(Rv.CLui(9, -32))),
        ("c.slli x10, 63", Half(Rv.CSlli(10, 63))),
        ("c.srli x11, 33", Half(Rv.CSrli(11, 33))),
        ("c.srai x12, 5", Half(Rv.CSrai(12, 5))),
        ("c.andi x13, -7", Half(Rv.CAndi(13, -7))),
        ("c.sub x14, x15", Half(Rv.CSub(14, 15))),
        ("c.xor x8, x9", Half(Rv.CXor(8, 9))),
        ("c.or x10, x11", Half(Rv.COr(10, 11))),
        ("c.and x12, x13", Half(Rv.CAnd(12, 13))),
        ("c.subw x14, x15", Half(Rv.CSubw(14, 15))),
        ("c.addw x8, x15", Half(Rv.CAddw(8, 15))),
        ("c.mv x1, x2", Half(Rv.CMv(1, 2))),
        ("c.add x3, x4", Half(Rv.CAdd(3, 4))),
        ("c.jr x5", Half(Rv.CJr(5))),
        ("c.j .-2048", Half(Rv.CJ(-2048))),
        ("c.j .+1234", Half(Rv.CJ(1234))),
        ("c.beqz x8, .-256", Half(Rv.CBeqz(8, -256))),
        ("c.bnez x15, .+254", Half(Rv.CBnez(15, 254))),
        ("c.lw x8, 124(x9)", Half(Rv.CLw(8, 9, 124))),
        ("c.ld x10, 248(x11)", Half(Rv.CLd(10, 11, 248))),
        ("c.sw x12, 4(x13)", Half(Rv.CSw(12, 13, 4))),
        ("c.sd x14, 8(x15)", Half(Rv.CSd(14, 15, 8))),
    ];

    [Fact]
    public void EncodingsMatchGnuAs()
    {
        string directory = Directory.CreateTempSubdirectory("vessel-encoder-").FullName;
        try
        {
            string source = Path.Combine(directory, "t.s");
            string obj = Path.Combine(directory, "t.o");
            string bin = Path.Combine(directory, "t.bin");

            // Each case on its own, aligned, so a wrong length cannot shift the others.
            var text = new System.Text.StringBuilder(".option norvc\n");
            foreach ((string line, byte[] bytes) in s_cases)
            {
                text.Append(".balign 4\n");
                text.Append(line.StartsWith("c.", StringComparison.Ordinal) ? $".option rvc\n{line}\n.option norvc\n.2byte 0\n" : line + "\n");
            }

            File.WriteAllText(source, text.ToString());
            Run("riscv64-linux-gnu-as", $"-march=rv64gc -o {obj} {source}");
            Run("riscv64-linux-gnu-objcopy", $"-O binary -j .text {obj} {bin}");
            byte[] assembled = File.ReadAllBytes(bin);

            int position = 0;
            foreach ((string line, byte[] bytes) in s_cases)
            {
                byte[] expected = assembled.AsSpan(position, bytes.Length).ToArray();
                Assert.True(expected.AsSpan().SequenceEqual(bytes), $"{line}: GNU as {Convert.ToHexString(expected)}, Rv {Convert.ToHexString(bytes)}");
                position += 4;
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static byte[] Word(uint instruction) => BitConverter.GetBytes(instruction);

    private static byte[] Half(ushort instruction) => BitConverter.GetBytes(instruction);

    private static void Run(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), $"{tool} did not finish");
        Assert.True(process.ExitCode == 0, $"{tool} {arguments}: {error}");
    }
}
