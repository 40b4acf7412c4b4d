using System.Numerics;

namespace Vessel.Cpu.Riscv.Fpu.Soft;

internal static partial class SoftFloat<TFormat>
{
    internal static ulong Add(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        ulong magnitudeA = a & ~SignBit;
        ulong magnitudeB = b & ~SignBit;
        bool negativeA = IsNegative(a);
        bool negativeB = IsNegative(b);
        if (magnitudeA >= InfinityBits || magnitudeB >= InfinityBits)
        {
            if (IsNaN(a) || IsNaN(b))
            {
                return PropagateNaN(a, b, ref flags);
            }

            if (magnitudeA == magnitudeB && negativeA != negativeB)
            {
                flags |= FloatFlags.Invalid; // ∞ − ∞
                return CanonicalNaN;
            }

            return magnitudeA == InfinityBits ? a : b;
        }

        if (magnitudeA == 0)
        {
            return magnitudeB == 0 ? ExactZeroSum(negativeA, negativeB, rm) : b;
        }

        if (magnitudeB == 0)
        {
            return a;
        }

        int exponentA = Unpack(magnitudeA, out ulong significandA);
        int exponentB = Unpack(magnitudeB, out ulong significandB);
        return negativeA == negativeB
            ? AddMagnitudes(negativeA, exponentA, significandA, exponentB, significandB, rm, ref flags)
            : SubtractMagnitudes(negativeA, exponentA, significandA, exponentB, significandB, rm, ref flags);
    }

    internal static ulong Subtract(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
        => Add(a, b ^ SignBit, rm, ref flags); // NaN results are canonical, so flipping a NaN's sign is harmless

    internal static ulong Multiply(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        ulong sign = (a ^ b) & SignBit;
        ulong magnitudeA = a & ~SignBit;
        ulong magnitudeB = b & ~SignBit;
        if (magnitudeA >= InfinityBits || magnitudeB >= InfinityBits)
        {
            if (IsNaN(a) || IsNaN(b))
            {
                return PropagateNaN(a, b, ref flags);
            }

            if (magnitudeA == 0 || magnitudeB == 0)
            {
                flags |= FloatFlags.Invalid; // ∞ × 0
                return CanonicalNaN;
            }

            return sign | InfinityBits;
        }

        if (magnitudeA == 0 || magnitudeB == 0)
        {
            return sign;
        }

        int exponent = Unpack(magnitudeA, out ulong significandA) + Unpack(magnitudeB, out ulong significandB);

        // The product of two significands in [2^62, 2^63) lies in [2^124, 2^126).
        ulong high = Math.BigMul(significandA, significandB, out ulong low);
        ulong significand;
        if ((high >> 61) != 0)
        {
            significand = (high << 1) | (low >> 63) | ((low << 1) != 0 ? 1UL : 0);
            exponent++;
        }
        else
        {
            significand = (high << 2) | (low >> 62) | ((low << 2) != 0 ? 1UL : 0);
        }

        return RoundPack(sign != 0, exponent, significand, rm, ref flags);
    }

    internal static ulong Divide(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        ulong sign = (a ^ b) & SignBit;
        ulong magnitudeA = a & ~SignBit;
        ulong magnitudeB = b & ~SignBit;
        if (magnitudeA >= InfinityBits || magnitudeB >= InfinityBits)
        {
            if (IsNaN(a) || IsNaN(b))
            {
                return PropagateNaN(a, b, ref flags);
            }

            if (magnitudeA == InfinityBits)
            {
                if (magnitudeB == InfinityBits)
                {
                    flags |= FloatFlags.Invalid; // ∞ / ∞
                    return CanonicalNaN;
                }

                return sign | InfinityBits;
            }

            return sign; // finite / ∞
        }

        if (magnitudeB == 0)
        {
            if (magnitudeA == 0)
            {
                flags |= FloatFlags.Invalid; // 0 / 0
                return CanonicalNaN;
            }

            flags |= FloatFlags.DivideByZero;
            return sign | InfinityBits;
        }

        if (magnitudeA == 0)
        {
            return sign;
        }

        int exponent = Unpack(magnitudeA, out ulong significandA) - Unpack(magnitudeB, out ulong significandB);

        // Scale the dividend so that the quotient lands in [2^62, 2^63): 63 bits, at least ten
        // more than binary64 keeps, and the remainder tells whether anything was left over.
        UInt128 dividend;
        if (significandA < significandB)
        {
            dividend = (UInt128)significandA << 63;
            exponent--;
        }
        else
        {
            dividend = (UInt128)significandA << 62;
        }

        ulong quotient = DivideWithRemainder(dividend, significandB, out bool exact);
        return RoundPack(sign != 0, exponent, quotient | (exact ? 0UL : 1UL), rm, ref flags);
    }

    internal static ulong SquareRoot(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        ulong magnitude = a & ~SignBit;
        if (IsNaN(a))
        {
            return PropagateNaN(a, a, ref flags);
        }

        if (magnitude == 0)
        {
            return a; // √±0 = ±0
        }

        if (IsNegative(a))
        {
            flags |= FloatFlags.Invalid;
            return CanonicalNaN;
        }

        if (magnitude == InfinityBits)
        {
            return a;
        }

        int exponent = Unpack(magnitude, out ulong significand);

        // value = significand × 2^(exponent − 62). Make the power of two even, then take the
        // integer square root of a 125- or 126-bit number: its root has its leading one at bit 62.
        UInt128 radicand;
        int rootExponent;
        if ((exponent & 1) != 0)
        {
            radicand = (UInt128)significand << 63; // value = radicand × 2^(exponent − 125)
            rootExponent = (exponent - 1) / 2;
        }
        else
        {
            radicand = (UInt128)significand << 62; // value = radicand × 2^(exponent − 124)
            rootExponent = exponent / 2;
        }

        ulong root = IntegerSquareRoot(radicand);
        bool exact = (UInt128)root * root == radicand;
        return RoundPack(false, rootExponent, root | (exact ? 0UL : 1UL), rm, ref flags);
    }

    /// <summary>
    /// floor(n / d) for a quotient below 2^63, and whether the division was exact. A binary64
    /// estimate is within a few thousand units; an exact 128-bit remainder turns it into a
    /// correction within a unit or two, and the remainder's sign settles the rest. The host's
    /// division only makes guesses here: the integer remainders make the answer exact.
    /// </summary>
    private static ulong DivideWithRemainder(UInt128 n, ulong d, out bool exact)
    {
        ulong quotient = (ulong)(Estimate(n) / d);
        Int128 remainder = (Int128)n - (Int128)((UInt128)quotient * d);
        quotient = (ulong)((long)quotient + (long)Math.Floor(Estimate(remainder) / d));
        remainder = (Int128)n - (Int128)((UInt128)quotient * d);
        while (remainder < 0)
        {
            quotient--;
            remainder += d;
        }

        while (remainder >= d)
        {
            quotient++;
            remainder -= d;
        }

        exact = remainder == 0;
        return quotient;
    }

    /// <summary>Roughly n, from its two halves (the runtime's exact 128-bit conversion is much slower).</summary>
    private static double Estimate(UInt128 n) => ((double)(ulong)(n >> 64) * 18446744073709551616.0) + (ulong)n;

    /// <summary>Roughly n, from its two halves (the upper one signed).</summary>
    private static double Estimate(Int128 n) => ((double)(long)(n >> 64) * 18446744073709551616.0) + (ulong)n;

    /// <summary>floor(√n) for n in [2^124, 2^126).</summary>
    private static ulong IntegerSquareRoot(UInt128 n)
    {
        // The binary64 square root is within a few hundred units; one Newton step, with the exact
        // residual n − g² and a binary64 division, brings it within a unit or two, and the loops
        // settle it on exact integer comparisons: the host's arithmetic only makes guesses here.
        ulong guess = (ulong)Math.Sqrt(Estimate(n));
        Int128 residual = (Int128)n - (Int128)((UInt128)guess * guess);
        guess = (ulong)((long)guess + (long)Math.Round(Estimate(residual) / (2.0 * guess)));
        while ((UInt128)guess * guess > n)
        {
            guess--;
        }

        while ((UInt128)(guess + 1) * (guess + 1) <= n)
        {
            guess++;
        }

        return guess;
    }

    /// <summary>a × b + c with a single rounding (RISC-V FMADD; FMSUB/FNMSUB/FNMADD flip signs first).</summary>
    internal static ulong MultiplyAdd(ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags)
    {
        ulong productSign = (a ^ b) & SignBit;
        ulong magnitudeA = a & ~SignBit;
        ulong magnitudeB = b & ~SignBit;
        ulong magnitudeC = c & ~SignBit;
        if (magnitudeA >= InfinityBits || magnitudeB >= InfinityBits || magnitudeC >= InfinityBits)
        {
            bool infinityTimesZero = (magnitudeA == InfinityBits && magnitudeB == 0) || (magnitudeA == 0 && magnitudeB == InfinityBits);
            if (IsNaN(a) || IsNaN(b) || IsNaN(c))
            {
                // RISC-V: ∞ × 0 is invalid even when the addend is a quiet NaN.
                if (infinityTimesZero || IsSignalingNaN(a) || IsSignalingNaN(b) || IsSignalingNaN(c))
                {
                    flags |= FloatFlags.Invalid;
                }

                return CanonicalNaN;
            }

            if (infinityTimesZero)
            {
                flags |= FloatFlags.Invalid;
                return CanonicalNaN;
            }

            if (magnitudeA == InfinityBits || magnitudeB == InfinityBits)
            {
                if (magnitudeC == InfinityBits && (c & SignBit) != productSign)
                {
                    flags |= FloatFlags.Invalid; // ∞ − ∞
                    return CanonicalNaN;
                }

                return productSign | InfinityBits;
            }

            return c; // finite + ∞
        }

        bool productNegative = productSign != 0;
        if (magnitudeA == 0 || magnitudeB == 0)
        {
            // The product is an exact zero; the sum is c, or an exact zero with the sum's sign rule.
            return magnitudeC == 0 ? ExactZeroSum(productNegative, IsNegative(c), rm) : c;
        }

        int productExponent = Unpack(magnitudeA, out ulong significandA) + Unpack(magnitudeB, out ulong significandB);
        UInt128 product = (UInt128)significandA * significandB; // in [2^124, 2^126), value × 2^(productExponent − 124)
        if (magnitudeC == 0)
        {
            return RoundPackWide(productNegative, productExponent - 124, product, rm, ref flags);
        }

        // Put the addend on the same footing: significand << 62 is in [2^124, 2^125).
        bool addendNegative = IsNegative(c);
        int addendExponent = Unpack(magnitudeC, out ulong significandC);
        UInt128 addend = (UInt128)significandC << 62;

        // Align to the larger exponent. Bits only fall off (and are jammed) when the shift
        // exceeds the trailing zeros of the shifted operand (at least 20 for the product, 72 for
        // the addend); by then the two differ so much in size that a subtraction cancels at
        // most one leading bit, so the jammed bit stays far below the rounding position.
        int exponent;
        if (productExponent >= addendExponent)
        {
            addend = ShiftRightJam(addend, productExponent - addendExponent);
            exponent = productExponent;
        }
        else
        {
            product = ShiftRightJam(product, addendExponent - productExponent);
            exponent = addendExponent;
        }

        if (productNegative == addendNegative)
        {
            return RoundPackWide(productNegative, exponent - 124, product + addend, rm, ref flags);
        }

        if (product == addend)
        {
            return ExactZeroSum(productNegative, addendNegative, rm);
        }

        return product > addend
            ? RoundPackWide(productNegative, exponent - 124, product - addend, rm, ref flags)
            : RoundPackWide(addendNegative, exponent - 124, addend - product, rm, ref flags);
    }

    private static ulong AddMagnitudes(bool negative, int exponentA, ulong significandA, int exponentB, ulong significandB, RoundingMode rm, ref FloatFlags flags)
    {
        if (exponentA < exponentB)
        {
            (exponentA, exponentB) = (exponentB, exponentA);
            (significandA, significandB) = (significandB, significandA);
        }

        ulong sum = significandA + ShiftRightJam(significandB, exponentA - exponentB);
        if ((sum >> (LeadingBit + 1)) != 0)
        {
            sum = (sum >> 1) | (sum & 1);
            exponentA++;
        }

        return RoundPack(negative, exponentA, sum, rm, ref flags);
    }

    /// <summary>(−1)^negativeA × (|A| − |B|).</summary>
    private static ulong SubtractMagnitudes(bool negativeA, int exponentA, ulong significandA, int exponentB, ulong significandB, RoundingMode rm, ref FloatFlags flags)
    {
        bool negative = negativeA;
        if (exponentA == exponentB && significandA == significandB)
        {
            return rm == RoundingMode.Down ? SignBit : 0;
        }

        if (exponentA < exponentB || (exponentA == exponentB && significandA < significandB))
        {
            (exponentA, exponentB) = (exponentB, exponentA);
            (significandA, significandB) = (significandB, significandA);
            negative = !negative;
        }

        // Operands have at least ten trailing zero guard bits, so a shift by one is exact and
        // the normalising shift after a shift by two or more is at most one bit.
        ulong difference = significandA - ShiftRightJam(significandB, exponentA - exponentB);
        int normalize = BitOperations.LeadingZeroCount(difference) - 1;
        return RoundPack(negative, exponentA - normalize, difference << normalize, rm, ref flags);
    }

    /// <summary>
    /// The sign of an exact zero sum (IEEE 754-2008 6.3): the operands' common sign when they
    /// agree, otherwise +0, except −0 when rounding down.
    /// </summary>
    private static ulong ExactZeroSum(bool negativeA, bool negativeB, RoundingMode rm)
    {
        if (negativeA == negativeB)
        {
            return negativeA ? SignBit : 0;
        }

        return rm == RoundingMode.Down ? SignBit : 0;
    }

    /// <summary>Any NaN operand gives the canonical NaN; a signaling one also raises NV.</summary>
    private static ulong PropagateNaN(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsSignalingNaN(a) || IsSignalingNaN(b))
        {
            flags |= FloatFlags.Invalid;
        }

        return CanonicalNaN;
    }
}
