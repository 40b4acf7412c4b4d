using System.Runtime.CompilerServices;
using Vessel.Cpu.Riscv.Fpu.Soft;

namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>
/// RISC-V F (binary32) arithmetic on raw bits (already unboxed, see <see cref="NanBoxing"/>),
/// exact to IEEE 754-2008 with the RISC-V rules.
/// </summary>
/// <remarks>
/// The fast paths compute in binary64, whose range and precision make binary32 work easy: a
/// product of two binary32 numbers is exact in binary64; a sum, quotient, root or fused
/// multiply-add comes out as a binary64 value v nearest the exact result together with the sign
/// of the (exact, error-free) remainder. Because every binary32 number and every midpoint between
/// two of them is a binary64 number, v and that sign decide the binary32 rounding in every mode
/// with no double-rounding error: <see cref="TryRoundQuickly"/> lets the host convert when that
/// is provably the same, <see cref="RoundToSingle"/> rounds with integers otherwise. NaN, ∞ and
/// zero operands take the exact integer path in <see cref="SoftFloat32"/>.
/// </remarks>
public static class Fpu32
{
    private const uint SignBit = 1u << 31;

    public static uint Add(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        double x = Widen(a);
        double y = Widen(b);
        double sum = x + y;

        // Most sums are off the binary32 grid and its midpoints, where the error's sign is not
        // needed (inexact either way); the error-free TwoSum is computed only for the others.
        return TryRoundQuickly(sum, 1, rm, ref flags, out uint result) ? result : AddSlowly(a, b, x, y, sum, rm, ref flags);
    }

    public static uint Sub(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => Add(a, b ^ SignBit, rm, ref flags);

    public static uint Mul(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        double product = Widen(a) * Widen(b); // exact: 24 × 24 bits
        return TryRoundQuickly(product, 0, rm, ref flags, out uint result) ? result : MulSlowly(a, b, product, rm, ref flags);
    }

    public static uint Div(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd)
        {
            double x = Widen(a);
            double y = Widen(b);
            double quotient = x / y;

            // x − quotient·y exactly; x/y − quotient has the sign of remainder/y, so of remainder·y
            // (which cannot underflow or overflow for binary32 operands).
            double error = Math.FusedMultiplyAdd(-quotient, y, x) * y;
            return TryRoundQuickly(quotient, error, rm, ref flags, out uint result) ? result : DivSlowly(a, b, quotient, error, rm, ref flags);
        }

        return SoftFloat32.Div(a, b, rm, ref flags);
    }

    public static uint Sqrt(uint a, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd && a - 1 < 0x7F7F_FFFFu) // positive, finite, nonzero
        {
            double x = Widen(a);
            double root = Math.Sqrt(x);
            double error = Math.FusedMultiplyAdd(-root, root, x); // x − root², exact
            return TryRoundQuickly(root, error, rm, ref flags, out uint result) ? result : RoundToSingle(root, error, rm, ref flags);
        }

        return SoftFloat32.Sqrt(a, rm, ref flags);
    }

    /// <summary>a × b + c with one rounding. FMSUB, FNMSUB and FNMADD are this with the sign bits of a and/or c flipped.</summary>
    public static uint MulAdd(uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags)
    {
        double product = Widen(a) * Widen(b); // exact
        double z = Widen(c);
        double sum = product + z;

        // As in Add: the TwoSum error is only computed when the quick test needs it.
        return TryRoundQuickly(sum, 1, rm, ref flags, out uint result) ? result : MulAddSlowly(a, b, c, product, z, sum, rm, ref flags);
    }

    public static uint Min(uint a, uint b, ref FloatFlags flags) => SoftFloat32.Min(a, b, ref flags);

    public static uint Max(uint a, uint b, ref FloatFlags flags) => SoftFloat32.Max(a, b, ref flags);

    public static bool Equal(uint a, uint b, ref FloatFlags flags) => SoftFloat32.Equal(a, b, ref flags);

    public static bool LessThan(uint a, uint b, ref FloatFlags flags) => SoftFloat32.LessThan(a, b, ref flags);

    public static bool LessOrEqual(uint a, uint b, ref FloatFlags flags) => SoftFloat32.LessOrEqual(a, b, ref flags);

    public static uint Classify(uint a) => SoftFloat32.Classify(a);

    // Float → integer: binary64 holds every binary32 value exactly (a NaN stays a NaN, which is
    // all the conversion looks at), so these share the binary64 code.
    public static int ToInt32(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToInt32(WidenBits(a), rm, ref flags);

    /// <summary>FCVT.WU: on RV64 the caller sign-extends the 32-bit result into rd, as for FCVT.W (so 2^32−1 becomes all ones).</summary>
    public static uint ToUInt32(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToUInt32(WidenBits(a), rm, ref flags);

    public static long ToInt64(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToInt64(WidenBits(a), rm, ref flags);

    public static ulong ToUInt64(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToUInt64(WidenBits(a), rm, ref flags);

    public static uint FromInt32(int v, RoundingMode rm, ref FloatFlags flags)
        => (uint)(v + (1 << 24)) <= 1u << 25 ? BitConverter.SingleToUInt32Bits(v) : SoftFloat32.FromInt32(v, rm, ref flags);

    public static uint FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags)
        => v <= 1u << 24 ? BitConverter.SingleToUInt32Bits(v) : SoftFloat32.FromUInt32(v, rm, ref flags);

    public static uint FromInt64(long v, RoundingMode rm, ref FloatFlags flags)
        => (ulong)(v + (1L << 24)) <= 1UL << 25 ? BitConverter.SingleToUInt32Bits(v) : SoftFloat32.FromInt64(v, rm, ref flags);

    public static uint FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags)
        => v <= 1UL << 24 ? BitConverter.SingleToUInt32Bits(v) : SoftFloat32.FromUInt64(v, rm, ref flags);

    /// <summary>FCVT.D.S: exact; a NaN becomes the canonical binary64 NaN (NV if it was signaling).</summary>
    public static ulong ToDouble(uint a, ref FloatFlags flags)
        => (a & ~SignBit) <= 0x7F80_0000u ? WidenBits(a) : SoftFloat32.ToDouble(a, ref flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Widen(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WidenBits(uint bits) => BitConverter.DoubleToUInt64Bits(BitConverter.UInt32BitsToSingle(bits));

    /// <summary>The binary32 zero with the sign of a binary64 zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SignOfZero(double zero) => (uint)(BitConverter.DoubleToUInt64Bits(zero) >> 32);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint AddSlowly(uint a, uint b, double x, double y, double sum, RoundingMode rm, ref FloatFlags flags)
    {
        double yVirtual = sum - x;
        double error = (x - (sum - yVirtual)) + (y - yVirtual); // TwoSum: exact when sum is finite
        if (TryRoundQuickly(sum, error, rm, ref flags, out uint result))
        {
            return result;
        }

        if (!double.IsFinite(sum))
        {
            return SoftFloat32.Add(a, b, rm, ref flags); // a NaN or ∞ operand
        }

        if (sum == 0)
        {
            // An exact zero: the host's sign is right except when rounding down.
            return rm == RoundingMode.Down ? (a | b) & SignBit : SignOfZero(sum);
        }

        return RoundToSingle(sum, error, rm, ref flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint MulSlowly(uint a, uint b, double product, RoundingMode rm, ref FloatFlags flags)
    {
        if (!double.IsFinite(product))
        {
            return SoftFloat32.Mul(a, b, rm, ref flags);
        }

        return product == 0 ? (a ^ b) & SignBit : RoundToSingle(product, 0, rm, ref flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint DivSlowly(uint a, uint b, double quotient, double error, RoundingMode rm, ref FloatFlags flags)
    {
        // Zero, ∞ and NaN operands (and division by zero) go to the integer path.
        return double.IsFinite(quotient) && quotient != 0
            ? RoundToSingle(quotient, error, rm, ref flags)
            : SoftFloat32.Div(a, b, rm, ref flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint MulAddSlowly(uint a, uint b, uint c, double product, double z, double sum, RoundingMode rm, ref FloatFlags flags)
    {
        double zVirtual = sum - product;
        double error = (product - (sum - zVirtual)) + (z - zVirtual); // TwoSum: exact when sum is finite
        if (TryRoundQuickly(sum, error, rm, ref flags, out uint result))
        {
            return result;
        }

        if (!double.IsFinite(sum))
        {
            return SoftFloat32.MulAdd(a, b, c, rm, ref flags);
        }

        if (sum == 0)
        {
            ulong signs = BitConverter.DoubleToUInt64Bits(product) | BitConverter.DoubleToUInt64Bits(z);
            return rm == RoundingMode.Down ? (uint)(signs >> 32) & SignBit : SignOfZero(sum);
        }

        return RoundToSingle(sum, error, rm, ref flags);
    }

    /// <summary>
    /// The common case of <see cref="RoundToSingle"/>, kept small enough to inline: value in
    /// binary32's normal range [2^−126, 2^127), where nothing overflows or is tiny, and either
    /// exact (on the binary32 grid with no error), or rounded to nearest-even from a point that is
    /// neither on the grid nor on a midpoint (then the exact result lies strictly between the same
    /// two binary32 neighbours, on the same side of their midpoint, and the host's conversion is
    /// right; with no error the host's conversion is right anyway). Fails for zero, ∞ and NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryRoundQuickly(double value, double error, RoundingMode rm, ref FloatFlags flags, out uint result)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        uint field = (uint)(bits >> 52) & 0x7FF;
        ulong dropped = bits & ((1UL << 29) - 1); // the fraction bits binary32 lacks
        bool exact = (dropped == 0) & (error == 0);
        bool offGridAndMidpoints = (dropped & ~(1UL << 28)) != 0;
        if ((field - 897 <= 1149 - 897) & (exact | (rm == RoundingMode.NearestEven & ((error == 0) | offGridAndMidpoints))))
        {
            flags |= Fpu64.InexactIf(!exact);
            result = BitConverter.SingleToUInt32Bits((float)value);
            return true;
        }

        result = 0;
        return false;
    }

    /// <summary>
    /// Rounds exact = value + error to binary32 in mode rm, exactly, where value is the binary64 number
    /// nearest the exact result (a normal binary64, as results of binary32 operands always are),
    /// and error is zero or has the sign of exact − value.
    /// </summary>
    private static uint RoundToSingle(double value, double error, RoundingMode rm, ref FloatFlags flags)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        uint field = (uint)(bits >> 52) & 0x7FF;

        // Exact integer rounding: the significand with ten zero guard bits, nudged by one unit to
        // record which side of value the exact result lies on (every rounding threshold is a
        // multiple of 2^38 units, so the nudge and the true error fall between the same ones).
        bool negative = (long)bits < 0;
        int exponent = (int)field - 1023;
        ulong significand = ((bits & ((1UL << 52) - 1)) | (1UL << 52)) << 10;
        if (error != 0)
        {
            if ((error > 0) != negative)
            {
                significand |= 1; // exact magnitude a little above |value|
            }
            else
            {
                significand--; // a little below
                if (significand < 1UL << SoftFloat<Binary32>.LeadingBit)
                {
                    significand <<= 1;
                    exponent--;
                }
            }
        }

        return (uint)SoftFloat<Binary32>.RoundPack(negative, exponent, significand, rm, ref flags);
    }
}
