using System.Numerics;
using Vessel.Cpu.Riscv.Fpu;

namespace Vessel.Cpu.Riscv.Tests.Fpu.Reference;

/// <summary>A result (raw bits or an integer's two's complement bits) and the flags it raises.</summary>
internal readonly record struct Outcome(ulong Value, FloatFlags Flags)
{
    public override string ToString() => $"0x{Value:x16} flags={FlagText(Flags)}";

    public static string FlagText(FloatFlags flags)
    {
        string text = string.Concat(
            (flags & FloatFlags.Invalid) != 0 ? "NV " : string.Empty,
            (flags & FloatFlags.DivideByZero) != 0 ? "DZ " : string.Empty,
            (flags & FloatFlags.Overflow) != 0 ? "OF " : string.Empty,
            (flags & FloatFlags.Underflow) != 0 ? "UF " : string.Empty,
            (flags & FloatFlags.Inexact) != 0 ? "NX " : string.Empty);
        return text.Length == 0 ? "-" : text.TrimEnd();
    }
}

/// <summary>
/// Rounding of an exact value to a binary format, written from IEEE 754-2008 clauses 4.3, 7.4
/// and 7.5 with RISC-V's choice of detecting tininess after rounding. Big integers throughout,
/// written for obviousness rather than speed.
/// </summary>
internal static class ReferenceRounding
{
    /// <summary>
    /// Rounds the nonzero magnitude v, where v = significand × 2^exponent exactly when
    /// <paramref name="sticky"/> is false, and v lies strictly between significand × 2^exponent
    /// and (significand + 1) × 2^exponent when it is true.
    /// </summary>
    public static Outcome Round(FloatFormat format, bool negative, BigInteger significand, int exponent, bool sticky, RoundingMode rm)
    {
        if (significand.Sign <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(significand), "exact zeros are the caller's business");
        }

        int p = format.Precision;
        int e = exponent + (int)significand.GetBitLength() - 1; // 2^e ≤ v < 2^(e+1)

        // The result "were the exponent range unbounded": p significant bits, quantum 2^(e−p+1).
        int unboundedQuantum = e - p + 1;
        (BigInteger unbounded, _) = RoundToMultiple(negative, significand, exponent, sticky, unboundedQuantum, rm);

        // 7.4: overflow when that result exceeds the largest finite number in magnitude.
        if (!IsBelowPowerOfTwo(unbounded, unboundedQuantum, format.Emax + 1))
        {
            bool toInfinity = rm switch
            {
                RoundingMode.TowardZero => false,
                RoundingMode.Down => negative,
                RoundingMode.Up => !negative,
                _ => true,
            };
            ulong magnitude = toInfinity ? format.Infinity : format.MaxFinite;
            return new((negative ? format.SignBit : 0) | magnitude, FloatFlags.Overflow | FloatFlags.Inexact);
        }

        // 7.5: tiny when that same result is nonzero and below 2^emin ("after rounding").
        bool tiny = IsBelowPowerOfTwo(unbounded, unboundedQuantum, format.Emin);

        // The representable result: below 2^emin the quantum stays at the subnormal spacing.
        int quantum = Math.Max(e, format.Emin) - p + 1;
        (BigInteger rounded, bool inexact) = RoundToMultiple(negative, significand, exponent, sticky, quantum, rm);
        FloatFlags flags = FloatFlags.None;
        if (inexact)
        {
            flags |= FloatFlags.Inexact;
            if (tiny)
            {
                flags |= FloatFlags.Underflow;
            }
        }

        return new(Encode(format, negative, rounded, quantum), flags);
    }

    /// <summary>Rounds v (as in <see cref="Round"/>) to an integer multiple of 2^quantum; returns the multiple and whether it differs from v.</summary>
    public static (BigInteger Multiple, bool Inexact) RoundToMultiple(bool negative, BigInteger significand, int exponent, bool sticky, int quantum, RoundingMode rm)
    {
        if (quantum <= exponent)
        {
            if (sticky)
            {
                throw new InvalidOperationException("the reference computed too few bits for this rounding");
            }

            return (significand << (exponent - quantum), false);
        }

        int shift = quantum - exponent;
        BigInteger truncated = significand >> shift;
        BigInteger remainder = significand - (truncated << shift);
        BigInteger half = BigInteger.One << (shift - 1);
        bool inexact = !remainder.IsZero || sticky;
        int versusHalf = remainder.CompareTo(half);
        if (versusHalf == 0 && sticky)
        {
            versusHalf = 1; // a little more than half
        }

        bool up = rm switch
        {
            RoundingMode.NearestEven => versusHalf > 0 || (versusHalf == 0 && !truncated.IsEven),
            RoundingMode.NearestMaxMagnitude => versusHalf >= 0,
            RoundingMode.TowardZero => false,
            RoundingMode.Down => inexact && negative,
            RoundingMode.Up => inexact && !negative,
            _ => throw new ArgumentOutOfRangeException(nameof(rm)),
        };
        return (up ? truncated + 1 : truncated, inexact);
    }

    /// <summary>multiple × 2^quantum &lt; 2^power.</summary>
    private static bool IsBelowPowerOfTwo(BigInteger multiple, int quantum, int power)
    {
        int shift = power - quantum;
        return shift < 0 ? multiple.IsZero : multiple < (BigInteger.One << shift);
    }

    /// <summary>Encodes ±multiple × 2^quantum, known to be representable.</summary>
    private static ulong Encode(FloatFormat format, bool negative, BigInteger multiple, int quantum)
    {
        ulong sign = negative ? format.SignBit : 0;
        if (multiple.IsZero)
        {
            return sign;
        }

        int length = (int)multiple.GetBitLength();
        int e = quantum + length - 1;
        if (e < format.Emin)
        {
            // Subnormal: the fraction counts units of 2^(emin − p + 1).
            int unitShift = quantum - (format.Emin - format.Precision + 1);
            return sign | (ulong)(multiple << unitShift);
        }

        BigInteger significand = length >= format.Precision
            ? multiple >> (length - format.Precision)
            : multiple << (format.Precision - length);
        if ((length >= format.Precision ? significand << (length - format.Precision) : significand >> (format.Precision - length)) != multiple
            || e > format.Emax)
        {
            throw new InvalidOperationException("not representable");
        }

        return format.Encode(negative, e + format.Bias, (ulong)(significand & format.FractionMask));
    }
}
