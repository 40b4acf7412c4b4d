using System.Numerics;

namespace Vessel.Cpu.Riscv.Tests.Fpu.Reference;

internal enum ValueKind
{
    Zero,
    Finite,
    Infinity,
    QuietNaN,
    SignalingNaN,
}

/// <summary>
/// A decoded floating-point datum. For <see cref="ValueKind.Finite"/> the magnitude is exactly
/// <c>Significand × 2^Exponent</c>; <see cref="Subnormal"/> tells the encoding class.
/// </summary>
internal readonly record struct Decoded(ValueKind Kind, bool Negative, BigInteger Significand, int Exponent, bool Subnormal)
{
    public bool IsNaN => Kind is ValueKind.QuietNaN or ValueKind.SignalingNaN;

    public static Decoded From(FloatFormat format, ulong bits)
    {
        bool negative = (bits & format.SignBit) != 0;
        int field = (int)((bits >> format.FractionBits) & (ulong)format.MaxExponentField);
        ulong fraction = bits & format.FractionMask;
        if (field == format.MaxExponentField)
        {
            if (fraction == 0)
            {
                return new(ValueKind.Infinity, negative, 0, 0, false);
            }

            // IEEE 754-2008 6.2.1: the first fraction bit is 1 for a quiet NaN, 0 for a signaling one.
            return new((fraction & format.QuietBit) != 0 ? ValueKind.QuietNaN : ValueKind.SignalingNaN, negative, 0, 0, false);
        }

        if (field == 0)
        {
            return fraction == 0
                ? new(ValueKind.Zero, negative, 0, 0, false)
                : new(ValueKind.Finite, negative, fraction, format.Emin - format.FractionBits, true);
        }

        return new(ValueKind.Finite, negative, fraction | (1UL << format.FractionBits), field - format.Bias - format.FractionBits, false);
    }
}
