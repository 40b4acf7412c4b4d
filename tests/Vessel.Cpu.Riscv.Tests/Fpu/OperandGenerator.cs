using System.Numerics;
using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>
/// Seeded random operands aimed at the hard cases: results near halfway between two numbers,
/// exact results, subnormals, the underflow and overflow boundaries, cancellation, huge exponent
/// differences, zeros, infinities and NaNs of both kinds and signs, integer range limits.
/// </summary>
internal sealed class OperandGenerator(int seed, FloatFormat format)
{
    private readonly Random _random = new(seed);

    public FloatFormat Format => format;

    public (ulong A, ulong B, ulong C) Next(Operation op) => op switch
    {
        Operation.Add or Operation.Sub => SumOperands(),
        Operation.Mul => ProductOperands(),
        Operation.Div => QuotientOperands(),
        Operation.Sqrt => (RootOperand(), 0, 0),
        Operation.MulAdd or Operation.MulSub or Operation.NegMulSub or Operation.NegMulAdd => FusedOperands(),
        Operation.Min or Operation.Max or Operation.Equal or Operation.LessThan or Operation.LessOrEqual => ComparisonOperands(),
        Operation.Classify => (Any(), 0, 0),
        Operation.ToInt32 or Operation.ToUInt32 or Operation.ToInt64 or Operation.ToUInt64 => (NearInteger(), 0, 0),
        Operation.FromInt32 or Operation.FromUInt32 => (Integer(32), 0, 0),
        Operation.FromInt64 or Operation.FromUInt64 => (Integer(64), 0, 0),
        Operation.ConvertFormat => (format == FloatFormat.Binary64 ? NarrowingOperand() : Any(), 0, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>Any datum, weighted towards the interesting classes.</summary>
    public ulong Any()
    {
        int pick = _random.Next(100);
        if (pick < 7)
        {
            return Special();
        }

        if (pick < 17)
        {
            return Subnormal();
        }

        if (pick < 25)
        {
            return Nudge(Boundary(), 3);
        }

        return Normal(ExponentField());
    }

    private ulong AnyFinite()
    {
        ulong value;
        do
        {
            value = Any();
        }
        while (Decoded.From(format, value).Kind is not (ValueKind.Finite or ValueKind.Zero));

        return value;
    }

    private ulong AnyNonzeroFinite()
    {
        ulong value;
        do
        {
            value = Any();
        }
        while (Decoded.From(format, value).Kind != ValueKind.Finite);

        return value;
    }

    private ulong Special()
    {
        bool negative = _random.Next(2) == 0;
        ulong sign = negative ? format.SignBit : 0;
        return _random.Next(8) switch
        {
            0 => sign,
            1 => sign,
            2 => sign | format.Infinity,
            3 => sign | format.Infinity,
            4 => format.CanonicalNaN,
            5 => sign | format.Infinity | format.QuietBit | (Bits() & format.FractionMask), // quiet NaN, any payload
            _ => sign | format.Infinity | Math.Max(1, Bits() & (format.QuietBit - 1)), // signaling NaN
        };
    }

    private ulong Subnormal()
    {
        ulong fraction = Fraction() & format.FractionMask;
        if (_random.Next(3) == 0)
        {
            fraction >>= _random.Next(format.FractionBits); // some very small ones
        }

        return RandomSign() | Math.Max(1, fraction);
    }

    private ulong Boundary() => RandomSign() | _random.Next(7) switch
    {
        0 => 1UL, // smallest subnormal
        1 => format.FractionMask, // largest subnormal
        2 => 1UL << format.FractionBits, // smallest normal
        3 => format.MaxFinite,
        4 => (ulong)format.Bias << format.FractionBits, // 1.0
        5 => (ulong)_random.Next(1, format.MaxExponentField) << format.FractionBits, // a power of two
        _ => ((ulong)format.Bias << format.FractionBits) | format.FractionMask, // just below 2
    };

    private ulong Normal(int field) => RandomSign() | ((ulong)field << format.FractionBits) | (Fraction() & format.FractionMask);

    /// <summary>A normal number whose significand has at most <paramref name="bits"/> significant bits.</summary>
    private ulong Short(int field, int bits)
    {
        int dropped = format.FractionBits - Math.Clamp(bits - 1, 0, format.FractionBits);
        ulong fraction = (Bits() & format.FractionMask) >> dropped << dropped;
        return RandomSign() | ((ulong)Math.Clamp(field, 1, format.MaxExponentField - 1) << format.FractionBits) | fraction;
    }

    private int ExponentField()
    {
        int max = format.MaxExponentField - 1;
        return _random.Next(10) switch
        {
            < 4 => _random.Next(1, max + 1),
            < 8 => Math.Clamp(format.Bias + _random.Next(-40, 41), 1, max),
            8 => _random.Next(1, format.Precision + 6),
            _ => _random.Next(max - format.Precision - 5, max + 1),
        };
    }

    /// <summary>Fraction bit patterns: random, sparse, truncated, runs of ones, and ones next to the rounding position.</summary>
    private ulong Fraction()
    {
        ulong random = Bits();
        int width = format.FractionBits;
        return _random.Next(10) switch
        {
            < 3 => random,
            3 => (1UL << _random.Next(width)) | (1UL << _random.Next(width)),
            4 => random >> _random.Next(width) << _random.Next(width),
            5 => (1UL << _random.Next(width + 1)) - 1, // low run of ones
            6 => ~((1UL << _random.Next(width + 1)) - 1), // high run of ones
            7 => random & ~((1UL << _random.Next(width)) - 1), // random top, zero tail
            8 => random | ((1UL << _random.Next(width)) - 1), // random top, ones tail
            _ => ~(1UL << _random.Next(width)), // all ones but one
        };
    }

    private ulong Nudge(ulong value, int maxSteps)
    {
        // Step a few encodings away without crossing zero or leaving the finite range.
        ulong sign = value & format.SignBit;
        long magnitude = (long)(value & ~format.SignBit) + _random.Next(-maxSteps, maxSteps + 1);
        magnitude = Math.Clamp(magnitude, 0, (long)format.MaxFinite);
        return sign | (ulong)magnitude;
    }

    private ulong RandomSign() => _random.Next(2) == 0 ? format.SignBit : 0;

    private ulong Bits() => (ulong)_random.NextInt64() ^ ((ulong)_random.Next() << 33);

    private RoundingMode RandomMode() => (RoundingMode)_random.Next(5);

    private int FieldOf(ulong value) => (int)((value >> format.FractionBits) & (ulong)format.MaxExponentField);

    private (ulong, ulong, ulong) SumOperands()
    {
        int pick = _random.Next(100);
        ulong a = AnyFinite();
        if (pick < 30)
        {
            return (Any(), Any(), 0);
        }

        if (pick < 60)
        {
            // Exponents a little apart: alignment shifts around the precision.
            int field = FieldOf(a) + _random.Next(-format.Precision - 4, format.Precision + 5);
            return (a, Normal(Math.Clamp(field, 1, format.MaxExponentField - 1)), 0);
        }

        if (pick < 85)
        {
            // Near-cancellation: b ≈ ±a.
            return (a, Nudge(a, 4) ^ RandomSign(), 0);
        }

        // Both near overflow, or both tiny.
        return _random.Next(2) == 0
            ? (Normal(format.MaxExponentField - 1 - _random.Next(2)), Normal(format.MaxExponentField - 1 - _random.Next(2)), 0UL)
            : (Subnormal(), Nudge(Boundary(), 2), 0UL);
    }

    private (ulong, ulong, ulong) ProductOperands()
    {
        int pick = _random.Next(100);
        if (pick < 30)
        {
            return (Any(), Any(), 0);
        }

        if (pick < 55)
        {
            // Few significant bits: exact products, ties and near-ties.
            int bits = format.Precision / 2 + _random.Next(-3, 4);
            return (Short(ExponentField(), bits), Short(ExponentField(), format.Precision + 1 - bits + _random.Next(-1, 2)), 0);
        }

        // Product exponent near the underflow or the overflow threshold.
        int target = _random.Next(2) == 0 ? _random.Next(-format.Precision - 2, 4) : format.MaxExponentField + _random.Next(-3, 2);
        ulong a = _random.Next(4) == 0 ? Subnormal() : Normal(ExponentField());
        int fieldB = target - FieldOf(a) + format.Bias;
        ulong b = fieldB >= 1 && fieldB < format.MaxExponentField
            ? Normal(fieldB)
            : Normal(_random.Next(1, format.MaxExponentField));
        return _random.Next(2) == 0 ? (a, b, 0UL) : (b, a, 0UL);
    }

    private (ulong, ulong, ulong) QuotientOperands()
    {
        int pick = _random.Next(100);
        if (pick < 30)
        {
            return (Any(), Any(), 0);
        }

        ulong b = AnyNonzeroFinite();
        if (pick < 60)
        {
            // a ≈ q × b for a short q: quotients on or next to representable numbers.
            ulong q = Short(Math.Clamp(format.Bias + _random.Next(-60, 61), 1, format.MaxExponentField - 1), _random.Next(1, format.Precision + 2));
            ulong a = ReferenceFpu.Mul(format, q, b, RandomMode()).Value;
            return (Nudge(a, 2), b, 0);
        }

        if (pick < 80)
        {
            int bits = _random.Next(1, format.Precision);
            return (Short(ExponentField(), bits), Short(ExponentField(), _random.Next(1, format.Precision + 1)), 0);
        }

        // Quotient exponent near the underflow or the overflow threshold.
        int target = _random.Next(2) == 0 ? _random.Next(-format.Precision - 2, 4) : format.MaxExponentField + _random.Next(-3, 2);
        int fieldA = target + FieldOf(b) - format.Bias;
        ulong dividend = fieldA >= 1 && fieldA < format.MaxExponentField ? Normal(fieldA) : Any();
        return (dividend, b, 0);
    }

    private ulong RootOperand()
    {
        int pick = _random.Next(100);
        if (pick < 25)
        {
            return Any();
        }

        if (pick < 60)
        {
            // Rounded squares: roots just off representable numbers and midpoints.
            ulong root = AnyNonzeroFinite() & ~format.SignBit;
            return Nudge(ReferenceFpu.Mul(format, root, root, RandomMode()).Value, 2);
        }

        if (pick < 80)
        {
            ulong root = Short(Math.Clamp(format.Bias + _random.Next(-format.Bias / 2, format.Bias / 2), 1, format.MaxExponentField - 1), _random.Next(1, format.Precision / 2 + 2)) & ~format.SignBit;
            return ReferenceFpu.Mul(format, root, root, RoundingMode.NearestEven).Value;
        }

        return Subnormal() & ~format.SignBit;
    }

    private (ulong, ulong, ulong) FusedOperands()
    {
        int pick = _random.Next(100);
        if (pick < 20)
        {
            return (Any(), Any(), Any());
        }

        if (pick < 32)
        {
            // Small integers and dyadic fractions, as loop counters and simple formulas give:
            // exact results and sums whose terms end on the same bit.
            return (Nice(), Nice(), Nice());
        }

        ulong a = AnyNonzeroFinite();
        ulong b = AnyNonzeroFinite();
        if (pick < 55)
        {
            // c ≈ −a·b: massive cancellation, the result is the product's rounding error or near it.
            ulong product = ReferenceFpu.Mul(format, a, b, RandomMode()).Value;
            return (a, b, Nudge(product, 3) ^ (_random.Next(4) == 0 ? 0 : format.SignBit));
        }

        if (pick < 75)
        {
            // Short operands with c placed around the product's last bits: ties and exact sums.
            int bits = format.Precision / 2 + _random.Next(-2, 3);
            ulong x = Short(Math.Clamp(format.Bias + _random.Next(-30, 31), 1, format.MaxExponentField - 1), bits);
            ulong y = Short(Math.Clamp(format.Bias + _random.Next(-30, 31), 1, format.MaxExponentField - 1), bits + _random.Next(0, 3));
            int productField = FieldOf(x) + FieldOf(y) - format.Bias;
            int fieldC = productField - _random.Next(-2, 2 * format.Precision + 4);
            ulong c = fieldC >= 1 && fieldC < format.MaxExponentField ? Short(fieldC, _random.Next(1, format.Precision + 1)) : Any();
            return (x, y, c);
        }

        if (pick < 90)
        {
            // A product near the underflow threshold with a tiny or zero addend.
            int target = _random.Next(-format.Precision - 2, 4);
            int fieldB = target - FieldOf(a) + format.Bias;
            ulong y = fieldB >= 1 && fieldB < format.MaxExponentField ? Normal(fieldB) : b;
            ulong c = _random.Next(3) switch { 0 => RandomSign(), 1 => Subnormal(), _ => Nudge(Boundary(), 2) };
            return (a, y, c);
        }

        // A product near the overflow threshold, and an addend that may push it over or back.
        int over = format.MaxExponentField + _random.Next(-3, 2);
        int field = over - FieldOf(a) + format.Bias;
        ulong yBig = field >= 1 && field < format.MaxExponentField ? Normal(field) : b;
        return (a, yBig, _random.Next(2) == 0 ? Normal(format.MaxExponentField - 1 - _random.Next(3)) : Any());
    }

    /// <summary>A number with a short significand and an exponent near 1 (like 3, 0.75, −12.5).</summary>
    private ulong Nice() => Short(format.Bias + _random.Next(-6, 12), _random.Next(1, 9));

    private (ulong, ulong, ulong) ComparisonOperands()
    {
        ulong a = Any();
        return _random.Next(4) switch
        {
            0 => (a, a, 0),
            1 => (a, a ^ format.SignBit, 0),
            2 => (a, Nudge(a, 1), 0),
            _ => (a, Any(), 0),
        };
    }

    /// <summary>Values at and around integers near the conversion limits, and around halves.</summary>
    private ulong NearInteger()
    {
        if (_random.Next(3) == 0)
        {
            return Any();
        }

        BigInteger integer = _random.Next(9) switch
        {
            0 => _random.Next(-3, 4),
            1 => (BigInteger)int.MaxValue + _random.Next(-2, 3),
            2 => (BigInteger)int.MinValue + _random.Next(-2, 3),
            3 => (BigInteger)uint.MaxValue + _random.Next(-2, 3),
            4 => (BigInteger)long.MaxValue + _random.Next(-2, 3),
            5 => (BigInteger)long.MinValue + _random.Next(-2, 3),
            6 => (BigInteger)ulong.MaxValue + _random.Next(-2, 3),
            7 => (BigInteger.One << _random.Next(0, 70)) * (_random.Next(2) == 0 ? 1 : -1),
            _ => new BigInteger(_random.NextInt64()) >> _random.Next(0, 63),
        };

        // integer + k/8 for k in −8..8 (halves and quarters), rounded to the format.
        BigInteger eighths = (integer << 3) + _random.Next(-8, 9);
        if (eighths.IsZero)
        {
            return RandomSign();
        }

        ulong value = ReferenceRounding.Round(format, eighths.Sign < 0, BigInteger.Abs(eighths), -3, false, RandomMode()).Value;
        return _random.Next(4) == 0 ? Nudge(value, 2) : value;
    }

    private ulong Integer(int width)
    {
        ulong bits = Bits();
        ulong value = _random.Next(10) switch
        {
            < 3 => bits,
            < 6 => bits >> _random.Next(width), // random length
            < 9 => Midpointish(width),
            _ => _random.Next(6) switch { 0 => 0, 1 => 1, 2 => ulong.MaxValue, 3 => 1UL << (width - 1), 4 => (1UL << (width - 1)) - 1, _ => (ulong)format.Precision },
        };
        return width == 32 ? (uint)value : value;
    }

    /// <summary>An integer one or two bits longer than the precision, with tie-like low bits.</summary>
    private ulong Midpointish(int width)
    {
        int length = Math.Min(width, format.Precision + _random.Next(1, 12));
        ulong top = (Bits() | 1UL << 63) >> (64 - format.Precision); // p bits, leading one
        int tail = length - format.Precision;
        if (tail <= 0)
        {
            return top;
        }

        ulong low = _random.Next(4) switch
        {
            0 => 1UL << (tail - 1), // exactly half
            1 => (1UL << (tail - 1)) - 1, // just below half
            2 => (1UL << (tail - 1)) + 1, // just above half
            _ => Bits() & ((1UL << tail) - 1),
        };
        ulong value = (top << tail) | low;
        return _random.Next(2) == 0 ? value : (ulong)(-(long)value);
    }

    /// <summary>binary64 operands for FCVT.S.D: binary32 values, their midpoints, and the binary32 range ends.</summary>
    private ulong NarrowingOperand()
    {
        var single = new OperandGenerator(_random.Next(), FloatFormat.Binary32);
        ulong widened = ReferenceFpu.Convert(FloatFormat.Binary32, FloatFormat.Binary64, single.Any(), RoundingMode.NearestEven).Value;
        int pick = _random.Next(100);
        if (pick < 25)
        {
            return Any();
        }

        if (Decoded.From(format, widened).Kind != ValueKind.Finite)
        {
            return widened;
        }

        if (pick < 50)
        {
            return Nudge(widened, 3);
        }

        if (pick < 75)
        {
            return Nudge(widened | (1UL << 28), 2); // around a binary32 midpoint
        }

        // binary32's subnormal range and overflow threshold.
        int field = _random.Next(2) == 0 ? 1023 - 126 - _random.Next(0, 30) : 1023 + 127 + _random.Next(-1, 2);
        return Normal(field);
    }
}
