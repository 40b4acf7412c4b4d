using Vessel.Cpu.Riscv.Fpu;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>
/// On ordinary normal operands, as most FP-heavy code computes with, the public entry points
/// (which take the host's hardware fast paths there) give exactly the integer path's results and
/// flags. How fast they are is measured by bench/cpu/fpu-throughput.sh, not here.
/// </summary>
public sealed class FastPathAgreementTests
{
    private const int Count = 2048;

    private delegate ulong Binary(ulong a, ulong b, ulong c, ref FloatFlags flags);

    public static TheoryData<string> Operations => new(s_operations.Keys);

    private static readonly Dictionary<string, (bool Single, Binary Fast, Binary Integer)> s_operations = new()
    {
        ["fadd.d"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Add(a, b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.Add(a, b, RoundingMode.NearestEven, ref f)),
        ["fmul.d"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Mul(a, b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.Mul(a, b, RoundingMode.NearestEven, ref f)),
        ["fmadd.d"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.MulAdd(a, b, c, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.MulAdd(a, b, c, RoundingMode.NearestEven, ref f)),
        ["fdiv.d"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Div(a, b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.Div(a, b, RoundingMode.NearestEven, ref f)),
        ["fsqrt.d"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Sqrt(b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.Sqrt(b, RoundingMode.NearestEven, ref f)),
        ["fadd.d rtz"] = (false, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu64.Add(a, b, RoundingMode.TowardZero, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat64.Add(a, b, RoundingMode.TowardZero, ref f)),
        ["fadd.s"] = (true, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.Add((uint)a, (uint)b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat32.Add((uint)a, (uint)b, RoundingMode.NearestEven, ref f)),
        ["fmul.s"] = (true, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.Mul((uint)a, (uint)b, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat32.Mul((uint)a, (uint)b, RoundingMode.NearestEven, ref f)),
        ["fmadd.s"] = (true, (ulong a, ulong b, ulong c, ref FloatFlags f) => Fpu32.MulAdd((uint)a, (uint)b, (uint)c, RoundingMode.NearestEven, ref f), (ulong a, ulong b, ulong c, ref FloatFlags f) => SoftFloat32.MulAdd((uint)a, (uint)b, (uint)c, RoundingMode.NearestEven, ref f)),
    };

    [Theory]
    [MemberData(nameof(Operations))]
    public void TheFastPathGivesTheIntegerPathsResultAndFlags(string name)
    {
        (bool single, Binary fast, Binary integer) = s_operations[name];
        var random = new Random(42);
        for (int i = 0; i < Count; i++)
        {
            double x = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21)) * (random.Next(2) == 0 ? -1 : 1);
            double y = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21));
            double z = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-20, 21));
            (ulong a, ulong b, ulong c) = single
                ? (BitConverter.SingleToUInt32Bits((float)x), BitConverter.SingleToUInt32Bits((float)y), BitConverter.SingleToUInt32Bits((float)z))
                : (BitConverter.DoubleToUInt64Bits(x), BitConverter.DoubleToUInt64Bits(y), BitConverter.DoubleToUInt64Bits(z));
            FloatFlags fastFlags = FloatFlags.None;
            FloatFlags integerFlags = FloatFlags.None;
            ulong fastResult = fast(a, b, c, ref fastFlags);
            ulong integerResult = integer(a, b, c, ref integerFlags);
            Assert.True(fastResult == integerResult && fastFlags == integerFlags, $"{name} #{i}: fast 0x{fastResult:x} {fastFlags}, integer path 0x{integerResult:x} {integerFlags}");
        }
    }
}
