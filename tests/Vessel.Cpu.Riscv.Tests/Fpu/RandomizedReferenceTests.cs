using System.Text;
using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;
using Xunit.Abstractions;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>
/// Every operation, both formats, all five rounding modes, on seeded random operands aimed at
/// the hard cases, checked bit for bit (result and flags) against the big-integer reference;
/// both the public entry points (with their hardware fast paths) and the integer path alone.
/// </summary>
public sealed class RandomizedReferenceTests(ITestOutputHelper output)
{
    private const int CasesPerMode = 12000;

    public static TheoryData<Operation, string> Cases()
    {
        var data = new TheoryData<Operation, string>();
        foreach (Operation op in Enum.GetValues<Operation>())
        {
            data.Add(op, FloatFormat.Binary64.Name);
            data.Add(op, FloatFormat.Binary32.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(Operation op, string formatName)
    {
        FloatFormat format = formatName == FloatFormat.Binary64.Name ? FloatFormat.Binary64 : FloatFormat.Binary32;
        RoundingMode[] modes = OperationTable.IsRounding(op)
            ? [RoundingMode.NearestEven, RoundingMode.TowardZero, RoundingMode.Down, RoundingMode.Up, RoundingMode.NearestMaxMagnitude]
            : [RoundingMode.NearestEven];
        var failures = new StringBuilder();
        int failed = 0;
        int checkedCases = 0;
        int cases = OperationTable.IsRounding(op) ? CasesPerMode : CasesPerMode * 3;
        foreach (RoundingMode rm in modes)
        {
            // A fixed seed per (operation, format, mode): a failure reproduces on every run.
            var generator = new OperandGenerator((((int)op * 7) + format.Precision) * 11 + (int)rm + 0x5EED, format);
            for (int i = 0; i < cases; i++)
            {
                (ulong a, ulong b, ulong c) = generator.Next(op);
                Outcome expected = OperationTable.Reference(format, op, a, b, c, rm);
                foreach (Implementation implementation in (ReadOnlySpan<Implementation>)[Implementation.Fpu, Implementation.Soft])
                {
                    Outcome actual = OperationTable.Run(format, implementation, op, a, b, c, rm);
                    checkedCases++;
                    if (actual != expected && ++failed <= 12)
                    {
                        failures.AppendLine($"{implementation} {op} {format} {rm} a=0x{a:x} b=0x{b:x} c=0x{c:x}: expected {expected}, got {actual}");
                    }
                }
            }
        }

        output.WriteLine($"{op} {format}: {checkedCases} results compared, {failed} mismatches");
        Assert.True(failed == 0, $"{failed} mismatches, first ones:\n{failures}");
    }
}
