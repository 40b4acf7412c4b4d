using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>The FPU runs once per guest FP instruction: no path of it may allocate.</summary>
public sealed class AllocationTests
{
    [Fact]
    public void NoOperationAllocatesOnAnyPath()
    {
        // Hard-case operands reach the slow paths too (NaNs, subnormals, overflow, ties).
        var cases = new List<(FloatFormat Format, Operation Op, ulong A, ulong B, ulong C)>();
        foreach (FloatFormat format in new[] { FloatFormat.Binary64, FloatFormat.Binary32 })
        {
            foreach (Operation op in Enum.GetValues<Operation>())
            {
                var generator = new OperandGenerator((int)op + format.Precision, format);
                for (int i = 0; i < 300; i++)
                {
                    (ulong a, ulong b, ulong c) = generator.Next(op);
                    cases.Add((format, op, a, b, c));
                }
            }
        }

        ulong sink = RunAll(cases); // compile everything first
        long before = GC.GetAllocatedBytesForCurrentThread();
        sink ^= RunAll(cases);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(sink);
        Assert.Equal(0, allocated);
    }

    private static ulong RunAll(List<(FloatFormat Format, Operation Op, ulong A, ulong B, ulong C)> cases)
    {
        ulong sink = 0;
        foreach ((FloatFormat format, Operation op, ulong a, ulong b, ulong c) in cases)
        {
            for (int rm = 0; rm < 5; rm++)
            {
                foreach (Implementation implementation in (ReadOnlySpan<Implementation>)[Implementation.Fpu, Implementation.Soft])
                {
                    Outcome outcome = OperationTable.Run(format, implementation, op, a, b, c, (RoundingMode)rm);
                    sink ^= outcome.Value ^ (ulong)outcome.Flags;
                }
            }
        }

        return sink;
    }
}
