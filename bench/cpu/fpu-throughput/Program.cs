using System.Diagnostics;
using System.Runtime.CompilerServices;
using Vessel.Cpu.Riscv.Fpu;

// How fast the common operations are: ns per operation on ordinary normal operands, best of
// many short runs, next to the bare host instruction. Figures only: what the operations
// compute is checked by the tests (tests/Vessel.Cpu.Riscv.Tests/Fpu).
FpuThroughput.Run();

internal static class FpuThroughput
{
    private const int Count = 2048;
    private const int Runs = 150;

    private static readonly ulong[] s_a = new ulong[Count], s_b = new ulong[Count], s_c = new ulong[Count];
    private static readonly ulong[] s_fa = new ulong[Count], s_fb = new ulong[Count], s_fc = new ulong[Count];

    static FpuThroughput()
    {
        var random = new Random(42);
        for (int i = 0; i < Count; i++)
        {
            // Ordinary normal numbers, as most FP-heavy code computes with.
            double x = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21)) * (random.Next(2) == 0 ? -1 : 1);
            double y = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21));
            double z = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21));
            (s_a[i], s_b[i], s_c[i]) = (BitConverter.DoubleToUInt64Bits(x), BitConverter.DoubleToUInt64Bits(y), BitConverter.DoubleToUInt64Bits(z));
            (s_fa[i], s_fb[i], s_fc[i]) = (BitConverter.SingleToUInt32Bits((float)x), BitConverter.SingleToUInt32Bits((float)y), BitConverter.SingleToUInt32Bits((float)z));
        }
    }

    private interface IOperation
    {
        /// <summary>binary32 operations get their operands in the low 32 bits.</summary>
        ulong Run(ulong a, ulong b, ulong c, ref FloatFlags flags);

        bool Single { get; }
    }

    public static void Run()
    {
        Func<ulong>[] measured =
        [
            Loop<HostAdd64>, Loop<FpuAdd64>, Loop<HostMul64>, Loop<FpuMul64>, Loop<HostMulAdd64>, Loop<FpuMulAdd64>,
            Loop<HostDiv64>, Loop<FpuDiv64>, Loop<HostSqrt64>, Loop<FpuSqrt64>, Loop<FpuAdd64Rtz>,
            Loop<HostAdd32>, Loop<FpuAdd32>, Loop<HostMul32>, Loop<FpuMul32>, Loop<HostMulAdd32>, Loop<FpuMulAdd32>,
            Chain<AddStep>, Chain<MulAddStep>,
        ];

        // Warm every measured path up together, with pauses, so that the tiered JIT has
        // installed optimised code everywhere before anything is timed.
        ulong sink = 0;
        var warmUp = Stopwatch.StartNew();
        while (warmUp.ElapsedMilliseconds < 900)
        {
            foreach (Func<ulong> body in measured)
            {
                sink ^= body();
            }

            if (warmUp.ElapsedMilliseconds % 300 < 150)
            {
                Thread.Sleep(120);
            }
        }

        GC.KeepAlive(sink);
        Report<HostAdd64, FpuAdd64>("fadd.d");
        Report<HostMul64, FpuMul64>("fmul.d");
        Report<HostMulAdd64, FpuMulAdd64>("fmadd.d");
        Report<HostDiv64, FpuDiv64>("fdiv.d");
        Report<HostSqrt64, FpuSqrt64>("fsqrt.d");
        Report<HostAdd64, FpuAdd64Rtz>("fadd.d rtz");
        Report<HostAdd32, FpuAdd32>("fadd.s");
        Report<HostMul32, FpuMul32>("fmul.s");
        Report<HostMulAdd32, FpuMulAdd32>("fmadd.s");

        // Latency: each result feeds the next operation, as in a dependent chain of instructions.
        Console.WriteLine($"latency of dependent chains: fadd.d {Best(Chain<AddStep>):F2} ns, fmadd.d {Best(Chain<MulAddStep>):F2} ns");
        Console.WriteLine($"fused multiply-add fast paths on this host: {System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported}");
    }

    private static void Report<THost, TFast>(string name)
        where THost : struct, IOperation
        where TFast : struct, IOperation
        => Console.WriteLine($"{name,-12} host instruction {Best(Loop<THost>),6:F2} ns   Fpu {Best(Loop<TFast>),6:F2} ns");

    private static (ulong[] A, ulong[] B, ulong[] C) Operands<T>()
        where T : struct, IOperation
        => default(T).Single ? (s_fa, s_fb, s_fc) : (s_a, s_b, s_c);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // measured code: optimised at once, not left to tiering
    private static ulong Loop<T>()
        where T : struct, IOperation
    {
        (ulong[] a, ulong[] b, ulong[] c) = Operands<T>();
        ulong sink = 0;
        FloatFlags flags = FloatFlags.None;
        for (int i = 0; i < a.Length; i++)
        {
            sink ^= default(T).Run(a[i], b[i], c[i], ref flags);
        }

        return sink;
    }

    /// <summary>One step of a dependent chain: the next value from the previous one and an operand.</summary>
    private interface IChainStep
    {
        ulong Next(ulong x, ulong operand, ref FloatFlags flags);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // measured code: optimised at once, not left to tiering
    private static ulong Chain<T>()
        where T : struct, IChainStep
    {
        ulong[] a = s_a;
        ulong x = a[0];
        FloatFlags flags = FloatFlags.None;
        for (int i = 0; i < a.Length; i++)
        {
            x = default(T).Next(x, a[i], ref flags);
        }

        return x;
    }

    private struct AddStep : IChainStep { public ulong Next(ulong x, ulong operand, ref FloatFlags f) => Fpu64.Add(x, operand, RoundingMode.NearestEven, ref f); }

    // x·(1 − 2^−53) + operand: the product is inexact, so the fused path has real work to do.
    private struct MulAddStep : IChainStep { public ulong Next(ulong x, ulong operand, ref FloatFlags f) => Fpu64.MulAdd(x, 0x3FEF_FFFF_FFFF_FFFF, operand, RoundingMode.NearestEven, ref f); }

    /// <summary>Best time per operation over many short runs: short runs dodge the noise of a shared machine.</summary>
    private static double Best(Func<ulong> body)
    {
        ulong sink = 0;
        double best = double.MaxValue;
        for (int run = 0; run < Runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            sink ^= body();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / Count);
        }

        GC.KeepAlive(sink);
        return best;
    }

    private static double D(ulong bits) => BitConverter.UInt64BitsToDouble(bits);

    private static float S(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    private struct HostAdd64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.DoubleToUInt64Bits(D(a) + D(b)); }
    private struct HostMul64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.DoubleToUInt64Bits(D(a) * D(b)); }
    private struct HostMulAdd64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.DoubleToUInt64Bits(Math.FusedMultiplyAdd(D(a), D(b), D(c))); }
    private struct HostDiv64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.DoubleToUInt64Bits(D(a) / D(b)); }
    private struct HostSqrt64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.DoubleToUInt64Bits(Math.Sqrt(D(b))); }
    private struct HostAdd32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.SingleToUInt32Bits(S((uint)a) + S((uint)b)); }
    private struct HostMul32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.SingleToUInt32Bits(S((uint)a) * S((uint)b)); }
    private struct HostMulAdd32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => BitConverter.SingleToUInt32Bits(MathF.FusedMultiplyAdd(S((uint)a), S((uint)b), S((uint)c))); }
    private struct FpuAdd64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Add(a, b, RoundingMode.NearestEven, ref f); }
    private struct FpuMul64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Mul(a, b, RoundingMode.NearestEven, ref f); }
    private struct FpuMulAdd64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.MulAdd(a, b, c, RoundingMode.NearestEven, ref f); }
    private struct FpuDiv64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Div(a, b, RoundingMode.NearestEven, ref f); }
    private struct FpuSqrt64 : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Sqrt(b, RoundingMode.NearestEven, ref f); }
    private struct FpuAdd64Rtz : IOperation { public bool Single => false; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Add(a, b, RoundingMode.TowardZero, ref f); }
    private struct FpuAdd32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.Add((uint)a, (uint)b, RoundingMode.NearestEven, ref f); }
    private struct FpuMul32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.Mul((uint)a, (uint)b, RoundingMode.NearestEven, ref f); }
    private struct FpuMulAdd32 : IOperation { public bool Single => true; public ulong Run(ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.MulAdd((uint)a, (uint)b, (uint)c, RoundingMode.NearestEven, ref f); }
}
