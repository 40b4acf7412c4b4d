using System.Numerics;

namespace Vessel.Cpu.Riscv.Fpu.Soft;

internal static partial class SoftFloat<TFormat>
{
    // Float → integer follows the RISC-V table "Domains of float-to-integer conversions": the
    // value is rounded first; a rounded value outside the destination's range (and ±∞, NaN)
    // gives the nearest bound (NaN counts as positive) with NV and no NX.

    internal static int ToInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        if (TryRoundToInteger(a, rm, out bool negative, out ulong magnitude, out bool inexact)
            && magnitude <= (negative ? 1UL << 31 : int.MaxValue))
        {
            RaiseInexact(inexact, ref flags);
            return negative ? (int)(0 - (long)magnitude) : (int)magnitude;
        }

        flags |= FloatFlags.Invalid;
        return negative ? int.MinValue : int.MaxValue;
    }

    internal static uint ToUInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        if (TryRoundToInteger(a, rm, out bool negative, out ulong magnitude, out bool inexact)
            && (negative ? magnitude == 0 : magnitude <= uint.MaxValue))
        {
            RaiseInexact(inexact, ref flags);
            return (uint)magnitude;
        }

        flags |= FloatFlags.Invalid;
        return negative ? 0 : uint.MaxValue;
    }

    internal static long ToInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        if (TryRoundToInteger(a, rm, out bool negative, out ulong magnitude, out bool inexact)
            && magnitude <= (negative ? 1UL << 63 : long.MaxValue))
        {
            RaiseInexact(inexact, ref flags);
            return negative ? (long)(0 - magnitude) : (long)magnitude;
        }

        flags |= FloatFlags.Invalid;
        return negative ? long.MinValue : long.MaxValue;
    }

    internal static ulong ToUInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        if (TryRoundToInteger(a, rm, out bool negative, out ulong magnitude, out bool inexact)
            && (!negative || magnitude == 0))
        {
            RaiseInexact(inexact, ref flags);
            return magnitude;
        }

        flags |= FloatFlags.Invalid;
        return negative ? 0 : ulong.MaxValue;
    }

    internal static ulong FromInt64(long value, RoundingMode rm, ref FloatFlags flags)
        => FromInteger(value < 0, value < 0 ? 0 - (ulong)value : (ulong)value, rm, ref flags);

    internal static ulong FromUInt64(ulong value, RoundingMode rm, ref FloatFlags flags)
        => FromInteger(false, value, rm, ref flags);

    /// <summary>Converts from another binary format: exact when widening, rounded when narrowing.</summary>
    internal static ulong FromFormat<TSource>(ulong bits, RoundingMode rm, ref FloatFlags flags)
        where TSource : struct, IBinaryFormat
    {
        ulong magnitude = bits & ~SoftFloat<TSource>.SignBit;
        bool negative = SoftFloat<TSource>.IsNegative(bits);
        ulong sign = negative ? SignBit : 0;
        if (magnitude >= SoftFloat<TSource>.InfinityBits)
        {
            if (magnitude == SoftFloat<TSource>.InfinityBits)
            {
                return sign | InfinityBits;
            }

            if (SoftFloat<TSource>.IsSignalingNaN(bits))
            {
                flags |= FloatFlags.Invalid;
            }

            return CanonicalNaN;
        }

        if (magnitude == 0)
        {
            return sign;
        }

        int exponent = SoftFloat<TSource>.Unpack(magnitude, out ulong significand);
        return RoundPack(negative, exponent, significand, rm, ref flags);
    }

    private static ulong FromInteger(bool negative, ulong magnitude, RoundingMode rm, ref FloatFlags flags)
    {
        if (magnitude == 0)
        {
            return 0; // +0 in every rounding mode
        }

        int leadingZeros = BitOperations.LeadingZeroCount(magnitude);
        ulong significand = leadingZeros == 0
            ? (magnitude >> 1) | (magnitude & 1)
            : magnitude << (leadingZeros - 1);
        return RoundPack(negative, 63 - leadingZeros, significand, rm, ref flags);
    }

    /// <summary>
    /// Rounds a to an integer in mode rm. False for NaN (reported as positive), ±∞ and values
    /// whose rounded magnitude reaches 2^64; otherwise the sign and rounded magnitude (a result
    /// that rounds to zero keeps the operand's sign, so the caller can tell −0.3 from 0.3).
    /// </summary>
    private static bool TryRoundToInteger(ulong a, RoundingMode rm, out bool negative, out ulong magnitude, out bool inexact)
    {
        ulong bits = a & ~SignBit;
        negative = IsNegative(a);
        magnitude = 0;
        inexact = false;
        if (bits >= InfinityBits)
        {
            if (bits != InfinityBits)
            {
                negative = false; // NaN converts like +∞
            }

            return false;
        }

        if (bits == 0)
        {
            return true;
        }

        int exponent = Unpack(bits, out ulong significand);
        if (exponent >= 64)
        {
            return false;
        }

        if (exponent >= LeadingBit)
        {
            magnitude = significand << (exponent - LeadingBit);
            return true;
        }

        inexact = true;
        int shift = LeadingBit - exponent;
        if (shift >= 64)
        {
            // |a| < 1/2: rounds to 0 unless the mode rounds away from zero in a's direction.
            magnitude = rm switch
            {
                RoundingMode.Down => negative ? 1UL : 0,
                RoundingMode.Up => negative ? 0 : 1UL,
                _ => 0,
            };
            return true;
        }

        ulong integer = significand >> shift;
        ulong fraction = significand & ((1UL << shift) - 1);
        if (fraction == 0)
        {
            inexact = false;
            magnitude = integer;
            return true;
        }

        ulong half = 1UL << (shift - 1);
        bool roundUp = rm switch
        {
            RoundingMode.TowardZero => false,
            RoundingMode.Down => negative,
            RoundingMode.Up => !negative,
            RoundingMode.NearestMaxMagnitude => fraction >= half,
            _ => fraction > half || (fraction == half && (integer & 1) != 0),
        };
        magnitude = roundUp ? integer + 1 : integer;
        return true;
    }

    private static void RaiseInexact(bool inexact, ref FloatFlags flags)
    {
        if (inexact)
        {
            flags |= FloatFlags.Inexact;
        }
    }
}
