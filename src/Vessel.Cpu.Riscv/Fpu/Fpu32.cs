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
/// with no double-rounding error; <see cref="RoundToSingle"/> does it, with the host's conversion
/// when it is provably the same. NaN, ∞ and zero operands take the exact integer path.
/// </remarks>
public static class Fpu32
{
    private const uint SignBit = 1u << 31;

    public static uint Add(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        double x = Widen(a);
        double y = Widen(b);
        double sum = x + y;
        if (double.IsFinite(sum))
        {
            if (sum == 0)
            {
                return rm == RoundingMode.Down ? (a | b) & SignBit : SignOfZero(sum);
            }

            double yVirtual = sum - x;
            double error = (x - (sum - yVirtual)) + (y - yVirtual); // TwoSum: exact
            return RoundToSingle(sum, error, rm, ref flags);
        }

        return SoftFloat32.Add(a, b, rm, ref flags);
    }

    public static uint Sub(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => Add(a, b ^ SignBit, rm, ref flags);

    public static uint Mul(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        double product = Widen(a) * Widen(b); // exact: 24 × 24 bits
        if (double.IsFinite(product))
        {
            return product == 0 ? (a ^ b) & SignBit : RoundToSingle(product, 0, rm, ref flags);
        }

        return SoftFloat32.Mul(a, b, rm, ref flags);
    }

    public static uint Div(uint a, uint b, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd)
        {
            double x = Widen(a);
            double y = Widen(b);
            double quotient = x / y;
            if (double.IsFinite(quotient) && quotient != 0)
            {
                double remainder = Math.FusedMultiplyAdd(-quotient, y, x); // exact: x − quotient·y
                double error = remainder == 0 ? 0 : (remainder > 0) == (y > 0) ? 1.0 : -1.0;
                return RoundToSingle(quotient, error, rm, ref flags);
            }
        }

        return SoftFloat32.Div(a, b, rm, ref flags);
    }

    public static uint Sqrt(uint a, RoundingMode rm, ref FloatFlags flags)
    {
        if (HostFloatingPoint.HasFusedMultiplyAdd && a - 1 < 0x7F7F_FFFFu) // positive, finite, nonzero
        {
            double x = Widen(a);
            double root = Math.Sqrt(x);
            return RoundToSingle(root, Math.FusedMultiplyAdd(-root, root, x), rm, ref flags); // x − root², exact
        }

        return SoftFloat32.Sqrt(a, rm, ref flags);
    }

    /// <summary>a × b + c with one rounding. FMSUB, FNMSUB and FNMADD are this with the sign bits of a and/or c flipped.</summary>
    public static uint MulAdd(uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags)
    {
        double product = Widen(a) * Widen(b); // exact
        double z = Widen(c);
        double sum = product + z;
        if (double.IsFinite(sum))
        {
            if (sum == 0)
            {
                ulong signs = BitConverter.DoubleToUInt64Bits(product) | BitConverter.DoubleToUInt64Bits(z);
                return rm == RoundingMode.Down ? (uint)(signs >> 32) & SignBit : SignOfZero(sum);
            }

            double zVirtual = sum - product;
            double error = (product - (sum - zVirtual)) + (z - zVirtual); // TwoSum: exact
            return RoundToSingle(sum, error, rm, ref flags);
        }

        return SoftFloat32.MulAdd(a, b, c, rm, ref flags);
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

    /// <summary>
    /// Rounds exact = value + error to binary32 in mode rm, where value is the binary64 number
    /// nearest the exact result (a normal binary64, as results of binary32 operands always are),
    /// and error is zero or has the sign of exact − value.
    /// </summary>
    private static uint RoundToSingle(double value, double error, RoundingMode rm, ref FloatFlags flags)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        uint field = (uint)(bits >> 52) & 0x7FF;
        ulong dropped = bits & ((1UL << 29) - 1); // the fraction bits binary32 lacks

        // In binary32's normal range [2^−126, 2^127) nothing overflows or is tiny. If value is on
        // the binary32 grid and exact, that is the result; if it is off the grid and not on a
        // midpoint, exact lies strictly between the same two binary32 neighbours as value and on
        // the same side of their midpoint, so the host's nearest-even conversion of value is right.
        if (field - 897 <= 1149 - 897)
        {
            if (error == 0 ? dropped == 0 || rm == RoundingMode.NearestEven : rm == RoundingMode.NearestEven && dropped != 0 && dropped != 1UL << 28)
            {
                if (dropped != 0)
                {
                    flags |= FloatFlags.Inexact;
                }

                return BitConverter.SingleToUInt32Bits((float)value);
            }
        }

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
