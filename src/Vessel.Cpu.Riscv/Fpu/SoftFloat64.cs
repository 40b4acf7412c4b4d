using Vessel.Cpu.Riscv.Fpu.Soft;

namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>
/// Binary64 (RISC-V D) arithmetic on raw bits, computed with integers only (no host floating point), exactly as
/// RISC-V specifies. <see cref="Fpu64"/> uses the host's hardware where that provably gives
/// the same bits and falls back to this; it is public so that tests and other engines can
/// reach the exact path directly.
/// </summary>
public static class SoftFloat64
{
    public static ulong Add(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.Add(a, b, rm, ref flags);

    public static ulong Sub(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.Subtract(a, b, rm, ref flags);

    public static ulong Mul(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.Multiply(a, b, rm, ref flags);

    public static ulong Div(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.Divide(a, b, rm, ref flags);

    public static ulong Sqrt(ulong a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.SquareRoot(a, rm, ref flags);

    public static ulong MulAdd(ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.MultiplyAdd(a, b, c, rm, ref flags);

    public static ulong Min(ulong a, ulong b, ref FloatFlags flags) => SoftFloat<Binary64>.Minimum(a, b, ref flags);

    public static ulong Max(ulong a, ulong b, ref FloatFlags flags) => SoftFloat<Binary64>.Maximum(a, b, ref flags);

    public static bool Equal(ulong a, ulong b, ref FloatFlags flags) => SoftFloat<Binary64>.Equal(a, b, ref flags);

    public static bool LessThan(ulong a, ulong b, ref FloatFlags flags) => SoftFloat<Binary64>.LessThan(a, b, ref flags);

    public static bool LessOrEqual(ulong a, ulong b, ref FloatFlags flags) => SoftFloat<Binary64>.LessOrEqual(a, b, ref flags);

    public static uint Classify(ulong a) => SoftFloat<Binary64>.Classify(a);

    public static int ToInt32(ulong a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.ToInt32(a, rm, ref flags);

    public static uint ToUInt32(ulong a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.ToUInt32(a, rm, ref flags);

    public static long ToInt64(ulong a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.ToInt64(a, rm, ref flags);

    public static ulong ToUInt64(ulong a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.ToUInt64(a, rm, ref flags);

    public static ulong FromInt32(int v, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.FromInt64(v, rm, ref flags);

    public static ulong FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.FromUInt64(v, rm, ref flags);

    public static ulong FromInt64(long v, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.FromInt64(v, rm, ref flags);

    public static ulong FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary64>.FromUInt64(v, rm, ref flags);

    /// <summary>FCVT.S.D: rounds to binary32.</summary>
    public static uint ToSingle(ulong a, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.FromFormat<Binary64>(a, rm, ref flags);
}
