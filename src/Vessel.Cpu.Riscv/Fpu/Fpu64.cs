using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>
/// RISC-V D (binary64) arithmetic on raw register bits, exact to IEEE 754-2008 with the RISC-V
/// rules, called by the interpreter for every FP instruction.
/// </summary>
/// <remarks>
/// Each operation first lets the host's hardware (which rounds to nearest-even) compute the
/// result, then proves with an error-free transformation (TwoSum, or an FMA residual) where the
/// exact result lies relative to it: equal (no flags), or above/below it. That settles the
/// inexact flag and, by stepping one unit in the last place, the directed rounding modes. For
/// fused multiply-add, exactness is read off the operands' lowest set bits instead, and only
/// round-to-nearest-even has a fast path. The proofs need the result to be a normal number away
/// from the ends of the range and the residual not to underflow; everything else (NaN, ∞, zeros,
/// subnormal or huge results) goes to the exact integer path in <see cref="SoftFloat64"/>, as
/// does everything needing a fused multiply-add on hosts without one. Host NaNs never escape:
/// any NaN result comes from the integer path as the canonical NaN. Reserved rounding-mode
/// encodings (5–7) must be rejected by the decoder; they are not a mode here.
/// </remarks>
public static class Fpu64
{
    private const ulong SignBit = 1UL << 63;
    private const ulong FractionMask = (1UL << 52) - 1;

    /// <summary>
    /// Smallest exponent field of a product or dividend for which the FMA residual cannot
    /// underflow: the residual is a multiple of 2^(e − 106) for a result near 2^e, which must not
    /// be below 2^−1074.
    /// </summary>
    private const uint MinResidualField = 64;

    private const double TwoTo63 = 9223372036854775808.0;
    private const double TwoTo64 = 18446744073709551616.0;

    public static ulong Add(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double y = BitConverter.UInt64BitsToDouble(b);
        double sum = x + y;
        ulong bits = BitConverter.DoubleToUInt64Bits(sum);
        uint field = ExponentField(bits);
        if (field - 2 <= 0x7FD - 2)
        {
            // TwoSum (Knuth): error = (x + y) − sum exactly; no step can overflow here.
            double yVirtual = sum - x;
            double error = (x - (sum - yVirtual)) + (y - yVirtual);
            flags |= InexactIf(error != 0);
            return rm == RoundingMode.NearestEven || error == 0
                ? bits
                : Redirect(bits, error, rm, rm == RoundingMode.NearestMaxMagnitude && IsHalfUlp(bits, error));
        }

        if (field <= 1)
        {
            // |sum| < 2^−1021: both operands are multiples of 2^−1074 and so is their sum, which
            // is therefore representable: exact in every mode, only a zero's sign depends on it.
            return sum == 0 && rm == RoundingMode.Down ? (a | b) & SignBit : bits;
        }

        return SoftFloat64.Add(a, b, rm, ref flags);
    }

    public static ulong Sub(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
        => Add(a, b ^ SignBit, rm, ref flags); // a NaN's sign never shows: NaN results are canonical

    public static ulong Mul(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd)
        {
            double x = BitConverter.UInt64BitsToDouble(a);
            double y = BitConverter.UInt64BitsToDouble(b);
            double product = x * y;
            ulong bits = BitConverter.DoubleToUInt64Bits(product);
            if (ExponentField(bits) - MinResidualField <= 0x7FD - MinResidualField)
            {
                double error = Math.FusedMultiplyAdd(x, y, -product); // exact: x·y − product
                flags |= InexactIf(error != 0);
                return rm == RoundingMode.NearestEven || error == 0
                    ? bits
                    : Redirect(bits, error, rm, rm == RoundingMode.NearestMaxMagnitude && IsHalfUlp(bits, error));
            }

            if (product == 0 && (x == 0 || y == 0))
            {
                return bits; // an exact zero, signed by the host as IEEE requires
            }
        }

        return SoftFloat64.Mul(a, b, rm, ref flags);
    }

    public static ulong Div(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd)
        {
            double x = BitConverter.UInt64BitsToDouble(a);
            double y = BitConverter.UInt64BitsToDouble(b);
            double quotient = x / y;
            ulong bits = BitConverter.DoubleToUInt64Bits(quotient);
            if (ExponentField(bits) - 2 <= 0x7FD - 2 && ExponentField(a) >= MinResidualField)
            {
                double remainder = Math.FusedMultiplyAdd(-quotient, y, x); // exact: x − quotient·y
                flags |= InexactIf(remainder != 0);

                // A quotient is never exactly halfway between two binary64 numbers, so RMM
                // rounds like RNE; x/y − quotient has the sign of remainder/y.
                return rm is RoundingMode.NearestEven or RoundingMode.NearestMaxMagnitude || remainder == 0
                    ? bits
                    : Redirect(bits, (remainder > 0) == (y > 0) ? 1.0 : -1.0, rm, tie: false);
            }
        }

        return SoftFloat64.Div(a, b, rm, ref flags);
    }

    public static ulong Sqrt(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        // Positive with an exponent field in [64, 0x7FE]: the root is normal and the residual exact.
        if (HostFloatingPoint.HasFusedMultiplyAdd && a - ((ulong)MinResidualField << 52) < (0x7FFUL - MinResidualField) << 52)
        {
            double x = BitConverter.UInt64BitsToDouble(a);
            double root = Math.Sqrt(x);
            ulong bits = BitConverter.DoubleToUInt64Bits(root);
            double remainder = Math.FusedMultiplyAdd(-root, root, x); // exact: x − root²
            flags |= InexactIf(remainder != 0);

            // A square root is never exactly halfway either; √x − root has the sign of remainder.
            return rm is RoundingMode.NearestEven or RoundingMode.NearestMaxMagnitude || remainder == 0
                ? bits
                : Redirect(bits, remainder, rm, tie: false);
        }

        return SoftFloat64.Sqrt(a, rm, ref flags);
    }

    /// <summary>a × b + c with one rounding. FMSUB, FNMSUB and FNMADD are this with the sign bits of a and/or c flipped.</summary>
    public static ulong MulAdd(ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags)
    {
        // Only round-to-nearest-even has a fast path: proving the direction of an FMA's error
        // costs more than the integer path, and directed modes are rare in FMA-heavy code.
        if (HostFloatingPoint.HasFusedMultiplyAdd && rm == RoundingMode.NearestEven)
        {
            double result = Math.FusedMultiplyAdd(
                BitConverter.UInt64BitsToDouble(a), BitConverter.UInt64BitsToDouble(b), BitConverter.UInt64BitsToDouble(c));
            ulong bits = BitConverter.DoubleToUInt64Bits(result);
            uint field = ExponentField(bits);

            // A normal, finite result that is not close to tiny (so no operand was NaN or ∞).
            if (field - 2 <= 0x7FE - 2)
            {
                int lowest = LowestBitOfMulAdd(a, b, c);
                if (lowest != int.MinValue)
                {
                    flags |= InexactIf(lowest < (int)field - 1075);
                    return bits;
                }
            }
        }

        return SoftFloat64.MulAdd(a, b, c, rm, ref flags);
    }

    public static ulong Min(ulong a, ulong b, ref FloatFlags flags) => SoftFloat64.Min(a, b, ref flags);

    public static ulong Max(ulong a, ulong b, ref FloatFlags flags) => SoftFloat64.Max(a, b, ref flags);

    public static bool Equal(ulong a, ulong b, ref FloatFlags flags) => SoftFloat64.Equal(a, b, ref flags);

    public static bool LessThan(ulong a, ulong b, ref FloatFlags flags) => SoftFloat64.LessThan(a, b, ref flags);

    public static bool LessOrEqual(ulong a, ulong b, ref FloatFlags flags) => SoftFloat64.LessOrEqual(a, b, ref flags);

    public static uint Classify(ulong a) => SoftFloat64.Classify(a);

    public static int ToInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double rounded = RoundToIntegral(x, rm);
        if (rounded >= int.MinValue && rounded <= int.MaxValue)
        {
            RaiseInexactUnless(rounded == x, ref flags);
            return (int)rounded;
        }

        return SoftFloat64.ToInt32(a, rm, ref flags);
    }

    /// <summary>FCVT.WU: on RV64 the caller sign-extends the 32-bit result into rd, as for FCVT.W (so 2^32−1 becomes all ones).</summary>
    public static uint ToUInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double rounded = RoundToIntegral(x, rm);
        if (rounded >= 0 && rounded <= uint.MaxValue) // −0.3 rounded towards zero is −0: valid, inexact
        {
            RaiseInexactUnless(rounded == x, ref flags);
            return (uint)rounded;
        }

        return SoftFloat64.ToUInt32(a, rm, ref flags);
    }

    public static long ToInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double rounded = RoundToIntegral(x, rm);
        if (rounded >= -TwoTo63 && rounded < TwoTo63)
        {
            RaiseInexactUnless(rounded == x, ref flags);
            return (long)rounded;
        }

        return SoftFloat64.ToInt64(a, rm, ref flags);
    }

    public static ulong ToUInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double rounded = RoundToIntegral(x, rm);
        if (rounded >= 0 && rounded < TwoTo64)
        {
            RaiseInexactUnless(rounded == x, ref flags);
            return (ulong)rounded;
        }

        return SoftFloat64.ToUInt64(a, rm, ref flags);
    }

    public static ulong FromInt32(int v, RoundingMode rm, ref FloatFlags flags) => BitConverter.DoubleToUInt64Bits(v); // always exact

    public static ulong FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags) => BitConverter.DoubleToUInt64Bits(v); // always exact

    public static ulong FromInt64(long v, RoundingMode rm, ref FloatFlags flags)
        => (ulong)(v + (1L << 53)) <= 1UL << 54 ? BitConverter.DoubleToUInt64Bits(v) : SoftFloat64.FromInt64(v, rm, ref flags);

    public static ulong FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags)
        => v <= 1UL << 53 ? BitConverter.DoubleToUInt64Bits(v) : SoftFloat64.FromUInt64(v, rm, ref flags);

    /// <summary>FCVT.S.D.</summary>
    public static uint ToSingle(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        // Inside binary32's normal range (2^−126 ≤ |a| < 2^127) nothing can overflow or be tiny;
        // a is exact in binary32 when the 29 fraction bits binary32 lacks are zero, and otherwise
        // the host's conversion rounds to nearest-even like RISC-V.
        if (ExponentField(a) - 897 <= 1149 - 897)
        {
            ulong dropped = a & ((1UL << 29) - 1);
            if (dropped == 0 || rm == RoundingMode.NearestEven)
            {
                RaiseInexactUnless(dropped == 0, ref flags);
                return BitConverter.SingleToUInt32Bits((float)BitConverter.UInt64BitsToDouble(a));
            }
        }

        return SoftFloat64.ToSingle(a, rm, ref flags);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ExponentField(ulong bits) => (uint)(bits >> 52) & 0x7FF;

    /// <summary>The integral value rounding x in mode rm gives; NaN for RMM, which the integer path handles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double RoundToIntegral(double x, RoundingMode rm) => rm switch
    {
        RoundingMode.NearestEven => Math.Round(x), // ties to even
        RoundingMode.TowardZero => Math.Truncate(x),
        RoundingMode.Down => Math.Floor(x),
        RoundingMode.Up => Math.Ceiling(x),
        _ => double.NaN,
    };

    /// <summary>NX when <paramref name="inexact"/>, without a branch (NX is bit 0 of fflags).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static FloatFlags InexactIf(bool inexact) => (FloatFlags)(inexact ? 1 : 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RaiseInexactUnless(bool exact, ref FloatFlags flags) => flags |= InexactIf(!exact);

    /// <summary>
    /// Turns the nearest-even result r into the result of mode rm, given the sign of the exact
    /// error (exact − r, nonzero) and, for RMM, whether the exact value was halfway. r is normal
    /// with an exponent field in [2, 0x7FD], so one step either way stays normal and finite, and
    /// in the sign-magnitude encoding bits + 1 steps away from zero and bits − 1 towards it.
    /// </summary>
    private static ulong Redirect(ulong r, double error, RoundingMode rm, bool tie)
    {
        bool negative = (long)r < 0;
        bool exactAbove = error > 0;
        return rm switch
        {
            RoundingMode.TowardZero => exactAbove == negative ? r - 1 : r,
            RoundingMode.Down => exactAbove ? r : negative ? r + 1 : r - 1,
            RoundingMode.Up => !exactAbove ? r : negative ? r - 1 : r + 1,
            RoundingMode.NearestMaxMagnitude => tie && exactAbove != negative ? r + 1 : r,
            _ => r,
        };
    }

    /// <summary>|error| is half a unit in the last place of r (exponent field in [2, 0x7FD]).</summary>
    private static bool IsHalfUlp(ulong r, double error)
    {
        int field = (int)ExponentField(r);
        ulong half = field > 53 ? (ulong)(field - 53) << 52 : 1UL << (field - 2); // 2^(field − 1076)
        return (BitConverter.DoubleToUInt64Bits(error) & ~SignBit) == half;
    }

    /// <summary>
    /// The exponent of the lowest set bit of the exact a × b + c (finite operands), or
    /// int.MinValue when it is not cheaply known. Every finite binary64 number is an odd integer
    /// times a power of two, so the exact sum is a multiple of 2^L for L this exponent; a normal
    /// result r = RNE(a × b + c) equals the sum exactly when L is at least the exponent of r's
    /// last place (the sum is then representable), and differs from it otherwise.
    /// </summary>
    private static int LowestBitOfMulAdd(ulong a, ulong b, ulong c)
    {
        ulong magnitudeA = a & ~SignBit;
        ulong magnitudeB = b & ~SignBit;
        ulong magnitudeC = c & ~SignBit;
        if (magnitudeA == 0 || magnitudeB == 0)
        {
            return int.MaxValue; // the product is zero and r is c itself
        }

        int lowProduct = LowestBit(magnitudeA, out ulong oddA) + LowestBit(magnitudeB, out ulong oddB);
        if (magnitudeC == 0)
        {
            return lowProduct;
        }

        int lowC = LowestBit(magnitudeC, out ulong oddC);
        if (lowC != lowProduct)
        {
            return Math.Min(lowC, lowProduct); // an odd plus an even multiple of 2^min
        }

        // 2^low × (odd ± odd): the trailing zeros of the even sum show in its low 64 bits.
        ulong low64 = ((a ^ b ^ c) & SignBit) == 0 ? oddA * oddB + oddC : oddA * oddB - oddC;
        return low64 == 0 ? int.MinValue : lowProduct + BitOperations.TrailingZeroCount(low64);
    }

    /// <summary>For a finite nonzero magnitude: its lowest set bit's exponent, and its odd part.</summary>
    private static int LowestBit(ulong magnitude, out ulong odd)
    {
        uint field = ExponentField(magnitude);
        ulong significand = field == 0 ? magnitude : (magnitude & FractionMask) | (1UL << 52);
        int zeros = BitOperations.TrailingZeroCount(significand);
        odd = significand >> zeros;
        return (field == 0 ? -1074 : (int)field - 1075) + zeros;
    }
}
