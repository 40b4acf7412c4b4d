namespace Vessel.Cpu.Riscv.Fpu.Soft;

internal static partial class SoftFloat<TFormat>
{
    /// <summary>FEQ: a quiet comparison, NV only for a signaling NaN; false when either is NaN.</summary>
    internal static bool Equal(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            if (IsSignalingNaN(a) || IsSignalingNaN(b))
            {
                flags |= FloatFlags.Invalid;
            }

            return false;
        }

        return a == b || ((a | b) & ~SignBit) == 0; // +0 == −0
    }

    /// <summary>FLT: a signaling comparison, NV for any NaN; false when either is NaN.</summary>
    internal static bool LessThan(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            flags |= FloatFlags.Invalid;
            return false;
        }

        return OrderedLess(a, b);
    }

    /// <summary>FLE: a signaling comparison, NV for any NaN; false when either is NaN.</summary>
    internal static bool LessOrEqual(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            flags |= FloatFlags.Invalid;
            return false;
        }

        return !OrderedLess(b, a);
    }

    /// <summary>
    /// FMIN (RISC-V F 2.2, IEEE 754-201x minimumNumber): −0 is below +0, a NaN operand is
    /// ignored in favour of the other, two NaNs give the canonical NaN, and a signaling NaN
    /// raises NV even when the result is a number.
    /// </summary>
    internal static ulong Minimum(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            return NumberOrCanonicalNaN(a, b, ref flags);
        }

        if (a == b)
        {
            return a;
        }

        return OrderedLess(a, b) || (((a | b) & ~SignBit) == 0 && IsNegative(a)) ? a : b;
    }

    /// <summary>FMAX: the maximumNumber counterpart of <see cref="Minimum"/>.</summary>
    internal static ulong Maximum(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            return NumberOrCanonicalNaN(a, b, ref flags);
        }

        if (a == b)
        {
            return a;
        }

        return OrderedLess(b, a) || (((a | b) & ~SignBit) == 0 && IsNegative(b)) ? a : b;
    }

    /// <summary>FCLASS: exactly one of ten bits, from −∞ (bit 0) to quiet NaN (bit 9).</summary>
    internal static uint Classify(ulong a)
    {
        ulong magnitude = a & ~SignBit;
        bool negative = IsNegative(a);
        if (magnitude == InfinityBits)
        {
            return negative ? 1u << 0 : 1u << 7;
        }

        if (magnitude > InfinityBits)
        {
            return (a & QuietBit) != 0 ? 1u << 9 : 1u << 8;
        }

        if (magnitude == 0)
        {
            return negative ? 1u << 3 : 1u << 4;
        }

        if (magnitude <= FractionMask)
        {
            return negative ? 1u << 2 : 1u << 5;
        }

        return negative ? 1u << 1 : 1u << 6;
    }

    /// <summary>a &lt; b for two non-NaN values, on their sign-magnitude encodings.</summary>
    private static bool OrderedLess(ulong a, ulong b)
    {
        bool negativeA = IsNegative(a);
        if (negativeA != IsNegative(b))
        {
            return negativeA && ((a | b) & ~SignBit) != 0; // −x < +y unless both are zeros
        }

        return a != b && (negativeA ^ (a < b));
    }

    private static ulong NumberOrCanonicalNaN(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsSignalingNaN(a) || IsSignalingNaN(b))
        {
            flags |= FloatFlags.Invalid;
        }

        if (IsNaN(a))
        {
            return IsNaN(b) ? CanonicalNaN : b;
        }

        return a;
    }
}
