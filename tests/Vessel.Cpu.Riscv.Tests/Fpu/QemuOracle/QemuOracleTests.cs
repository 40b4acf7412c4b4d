using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;
using Xunit.Abstractions;

namespace Vessel.Cpu.Riscv.Tests.Fpu.QemuOracle;

/// <summary>
/// Compares the FPU with real RISC-V semantics: every instruction is executed by
/// qemu-riscv64 (whose RISC-V FP is softfloat configured the RISC-V way) on the same operands,
/// in every rounding mode, and the destination register and fflags must match bit for bit.
/// binary32 operands go in as raw 64-bit registers, mostly NaN-boxed and sometimes not, so the
/// comparison covers <see cref="NanBoxing"/> as the interpreter will use it.
/// </summary>
public sealed class QemuOracleTests(ITestOutputHelper output)
{
    private const int CasesPerMode = 4000;
    private const int RecordSize = 32;
    private const int ResultSize = 16;

    private readonly record struct Case(Operation Op, bool Single, RoundingMode Rm, ulong A, ulong B, ulong C);

    [QemuOracleFact]
    public void MatchesQemuUserMode()
    {
        List<Case> cases = MakeCases();
        string directory = Directory.CreateTempSubdirectory("vessel-fpu-oracle-").FullName;
        try
        {
            string program = Compile(directory);
            var stopwatch = Stopwatch.StartNew();
            byte[] results = RunUnderQemu(program, cases);
            output.WriteLine($"qemu-riscv64 ran {cases.Count} instructions in {stopwatch.ElapsedMilliseconds} ms");
            Assert.Equal(cases.Count * ResultSize, results.Length);

            var failures = new StringBuilder();
            int failed = 0;
            for (int i = 0; i < cases.Count; i++)
            {
                Case c = cases[i];
                var qemu = new Outcome(
                    BinaryPrimitives.ReadUInt64LittleEndian(results.AsSpan(i * ResultSize)),
                    (FloatFlags)BinaryPrimitives.ReadUInt64LittleEndian(results.AsSpan(i * ResultSize + 8)));
                foreach (Implementation implementation in new[] { Implementation.Fpu, Implementation.Soft })
                {
                    Outcome ours = Execute(implementation, c);
                    if (ours != qemu && ++failed <= 15)
                    {
                        failures.AppendLine($"{implementation} {c.Op} {(c.Single ? "S" : "D")} {c.Rm} a=0x{c.A:x} b=0x{c.B:x} c=0x{c.C:x}: qemu {qemu}, ours {ours}");
                    }
                }
            }

            output.WriteLine($"{cases.Count} instructions compared twice (Fpu and SoftFloat), {failed} mismatches");
            Assert.True(failed == 0, $"{failed} mismatches with QEMU, first ones:\n{failures}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>What our code puts in the destination register for the instruction.</summary>
    private static Outcome Execute(Implementation implementation, Case c)
    {
        if (!c.Single)
        {
            Outcome d = OperationTable.Run(FloatFormat.Binary64, implementation, c.Op, c.A, c.B, c.C, c.Rm);
            return c.Op == Operation.ConvertFormat ? d with { Value = NanBoxing.Box((uint)d.Value) } : d;
        }

        bool integerOperand = c.Op is Operation.FromInt32 or Operation.FromUInt32 or Operation.FromInt64 or Operation.FromUInt64;
        ulong a = integerOperand ? c.A : NanBoxing.Unbox(c.A);
        Outcome s = OperationTable.Run(FloatFormat.Binary32, implementation, c.Op, a, NanBoxing.Unbox(c.B), NanBoxing.Unbox(c.C), c.Rm);
        bool singleResult = c.Op is not (Operation.Equal or Operation.LessThan or Operation.LessOrEqual or Operation.Classify
            or Operation.ToInt32 or Operation.ToUInt32 or Operation.ToInt64 or Operation.ToUInt64 or Operation.ConvertFormat);
        return singleResult ? s with { Value = NanBoxing.Box((uint)s.Value) } : s;
    }

    private static List<Case> MakeCases()
    {
        var cases = new List<Case>();
        var random = new Random(0x0AC1E);
        foreach (bool single in new[] { false, true })
        {
            FloatFormat format = single ? FloatFormat.Binary32 : FloatFormat.Binary64;
            foreach (Operation op in Enum.GetValues<Operation>())
            {
                var generator = new OperandGenerator(random.Next(), format);
                bool integerOperand = op is Operation.FromInt32 or Operation.FromUInt32 or Operation.FromInt64 or Operation.FromUInt64;
                for (int rm = 0; rm < 5; rm++)
                {
                    for (int i = 0; i < CasesPerMode; i++)
                    {
                        (ulong a, ulong b, ulong c) = generator.Next(op);
                        if (single && !integerOperand)
                        {
                            (a, b, c) = (Register(random, a), Register(random, b), Register(random, c));
                        }

                        cases.Add(new(op, single, (RoundingMode)rm, a, b, c));
                    }
                }
            }
        }

        return cases;
    }

    /// <summary>A binary32 operand as an f register holds it: NaN-boxed, or now and then not.</summary>
    private static ulong Register(Random random, ulong single) => random.Next(40) switch
    {
        0 => single, // upper half zero: reads as the canonical NaN
        1 => ((ulong)random.Next() << 33) | single,
        _ => NanBoxing.Box((uint)single),
    };

    private static string Compile(string directory)
    {
        string source = Path.Combine(directory, "fpu-oracle.c");
        string program = Path.Combine(directory, "fpu-oracle");
        File.WriteAllText(source, OracleProgram.Source());
        (int exit, string text) = Run(QemuOracleFactAttribute.Tools.Compiler!, ["-O2", "-static", "-march=rv64gc", "-mabi=lp64d", "-o", program, source]);
        Assert.True(exit == 0, $"riscv64-linux-gnu-gcc failed:\n{text}");
        return program;
    }

    private static byte[] RunUnderQemu(string program, List<Case> cases)
    {
        byte[] input = new byte[cases.Count * RecordSize];
        for (int i = 0; i < cases.Count; i++)
        {
            Span<byte> record = input.AsSpan(i * RecordSize, RecordSize);
            BinaryPrimitives.WriteUInt32LittleEndian(record, OracleProgram.OpCode(cases[i].Op, cases[i].Single));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)cases[i].Rm);
            BinaryPrimitives.WriteUInt64LittleEndian(record[8..], cases[i].A);
            BinaryPrimitives.WriteUInt64LittleEndian(record[16..], cases[i].B);
            BinaryPrimitives.WriteUInt64LittleEndian(record[24..], cases[i].C);
        }

        var start = new ProcessStartInfo(QemuOracleFactAttribute.Tools.Emulator!, [program])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(start)!;
        Task writer = Task.Run(() =>
        {
            process.StandardInput.BaseStream.Write(input);
            process.StandardInput.Close();
        });
        Task<string> errors = process.StandardError.ReadToEndAsync();
        var results = new MemoryStream();
        Task reader = process.StandardOutput.BaseStream.CopyToAsync(results);
        if (!Task.WaitAll([writer, reader], TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("qemu-riscv64 did not finish within five minutes");
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the oracle program exited with {process.ExitCode}: {errors.Result}");
        return results.ToArray();
    }

    private static (int ExitCode, string Output) Run(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
