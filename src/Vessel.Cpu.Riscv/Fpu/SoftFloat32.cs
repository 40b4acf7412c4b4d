using Vessel.Cpu.Riscv.Fpu.Soft;

namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>
/// Binary32 (RISC-V F) arithmetic on raw bits, computed with integers only (no host floating point), exactly as
/// RISC-V specifies. <see cref="Fpu32"/> uses the host's hardware where that provably gives
/// the same bits and falls back to this; it is public so that tests and other engines can
/// reach the exact path directly.
/// </summary>
public static class SoftFloat32
{
    public static uint Add(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Add(a, b, rm, ref flags);

    public static uint Sub(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Subtract(a, b, rm, ref flags);

    public static uint Mul(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Multiply(a, b, rm, ref flags);

    public static uint Div(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Divide(a, b, rm, ref flags);

    public static uint Sqrt(uint a, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.SquareRoot(a, rm, ref flags);

    public static uint MulAdd(uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.MultiplyAdd(a, b, c, rm, ref flags);

    public static uint Min(uint a, uint b, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Minimum(a, b, ref flags);

    public static uint Max(uint a, uint b, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.Maximum(a, b, ref flags);

    public static bool Equal(uint a, uint b, ref FloatFlags flags) => SoftFloat<Binary32>.Equal(a, b, ref flags);

    public static bool LessThan(uint a, uint b, ref FloatFlags flags) => SoftFloat<Binary32>.LessThan(a, b, ref flags);

    public static bool LessOrEqual(uint a, uint b, ref FloatFlags flags) => SoftFloat<Binary32>.LessOrEqual(a, b, ref flags);

    public static uint Classify(uint a) => SoftFloat<Binary32>.Classify(a);

    public static int ToInt32(uint a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary32>.ToInt32(a, rm, ref flags);

    public static uint ToUInt32(uint a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary32>.ToUInt32(a, rm, ref flags);

    public static long ToInt64(uint a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary32>.ToInt64(a, rm, ref flags);

    public static ulong ToUInt64(uint a, RoundingMode rm, ref FloatFlags flags) => SoftFloat<Binary32>.ToUInt64(a, rm, ref flags);

    public static uint FromInt32(int v, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.FromInt64(v, rm, ref flags);

    public static uint FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.FromUInt64(v, rm, ref flags);

    public static uint FromInt64(long v, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.FromInt64(v, rm, ref flags);

    public static uint FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags) => (uint)SoftFloat<Binary32>.FromUInt64(v, rm, ref flags);

    /// <summary>FCVT.D.S: exact; a NaN becomes the canonical binary64 NaN (NV if signaling).</summary>
    public static ulong ToDouble(uint a, ref FloatFlags flags) => SoftFloat<Binary64>.FromFormat<Binary32>(a, RoundingMode.NearestEven, ref flags);
}
