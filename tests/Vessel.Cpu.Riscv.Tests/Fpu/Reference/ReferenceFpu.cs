using System.Numerics;
using Vessel.Cpu.Riscv.Fpu;

namespace Vessel.Cpu.Riscv.Tests.Fpu.Reference;

/// <summary>
/// The RISC-V F/D operations computed from their mathematical definitions: exact big-integer
/// values (sums and products exactly; quotients and roots with many spare bits and a sticky
/// bit), then <see cref="ReferenceRounding"/>. Special cases are written out from the RISC-V
/// unprivileged manual (F chapter) and IEEE 754-2008 clauses 6 and 7, case by case.
/// </summary>
internal static class ReferenceFpu
{
    public static Outcome Add(FloatFormat f, ulong a, ulong b, RoundingMode rm) => Sum(f, a, false, b, false, rm);

    public static Outcome Sub(FloatFormat f, ulong a, ulong b, RoundingMode rm) => Sum(f, a, false, b, true, rm);

    public static Outcome Mul(FloatFormat f, ulong a, ulong b, RoundingMode rm)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        bool negative = x.Negative ^ y.Negative;
        if (x.IsNaN || y.IsNaN)
        {
            return NaNResult(f, x, y);
        }

        if (x.Kind == ValueKind.Infinity || y.Kind == ValueKind.Infinity)
        {
            if (x.Kind == ValueKind.Zero || y.Kind == ValueKind.Zero)
            {
                return new(f.CanonicalNaN, FloatFlags.Invalid); // 7.2(b): 0 × ∞
            }

            return new(Signed(f, negative, f.Infinity), FloatFlags.None);
        }

        if (x.Kind == ValueKind.Zero || y.Kind == ValueKind.Zero)
        {
            return new(Signed(f, negative, 0), FloatFlags.None);
        }

        return ReferenceRounding.Round(f, negative, x.Significand * y.Significand, x.Exponent + y.Exponent, false, rm);
    }

    public static Outcome Div(FloatFormat f, ulong a, ulong b, RoundingMode rm)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        bool negative = x.Negative ^ y.Negative;
        if (x.IsNaN || y.IsNaN)
        {
            return NaNResult(f, x, y);
        }

        if (x.Kind == ValueKind.Infinity)
        {
            return y.Kind == ValueKind.Infinity
                ? new(f.CanonicalNaN, FloatFlags.Invalid) // 7.2(e): ∞ / ∞
                : new(Signed(f, negative, f.Infinity), FloatFlags.None);
        }

        if (y.Kind == ValueKind.Infinity)
        {
            return new(Signed(f, negative, 0), FloatFlags.None);
        }

        if (y.Kind == ValueKind.Zero)
        {
            return x.Kind == ValueKind.Zero
                ? new(f.CanonicalNaN, FloatFlags.Invalid) // 7.2(e): 0 / 0
                : new(Signed(f, negative, f.Infinity), FloatFlags.DivideByZero); // 7.3
        }

        if (x.Kind == ValueKind.Zero)
        {
            return new(Signed(f, negative, 0), FloatFlags.None);
        }

        // Enough spare bits that the quotient has at least p + 2 bits, plus a sticky remainder.
        int shift = f.Precision + 3 + (int)y.Significand.GetBitLength();
        BigInteger quotient = BigInteger.DivRem(x.Significand << shift, y.Significand, out BigInteger remainder);
        return ReferenceRounding.Round(f, negative, quotient, x.Exponent - y.Exponent - shift, !remainder.IsZero, rm);
    }

    public static Outcome Sqrt(FloatFormat f, ulong a, RoundingMode rm)
    {
        Decoded x = Decoded.From(f, a);
        if (x.IsNaN)
        {
            return NaNResult(f, x, x);
        }

        if (x.Kind == ValueKind.Zero)
        {
            return new(a, FloatFlags.None); // 6.3: √(−0) = −0
        }

        if (x.Negative)
        {
            return new(f.CanonicalNaN, FloatFlags.Invalid); // 7.2(g)
        }

        if (x.Kind == ValueKind.Infinity)
        {
            return new(a, FloatFlags.None);
        }

        // v = m × 2^e with e even; scale by 4^t so that the root has at least p + 2 bits.
        BigInteger m = x.Significand;
        int e = x.Exponent;
        if ((e & 1) != 0)
        {
            m <<= 1;
            e--;
        }

        int t = f.Precision + 3;
        BigInteger radicand = m << (2 * t);
        BigInteger root = IntegerSquareRoot(radicand);
        return ReferenceRounding.Round(f, false, root, (e - 2 * t) / 2, root * root != radicand, rm);
    }

    /// <summary>(±a) × b + (±c) with a single rounding: FMADD, FMSUB, FNMSUB, FNMADD by the two flags.</summary>
    public static Outcome MulAdd(FloatFormat f, ulong a, ulong b, ulong c, RoundingMode rm, bool negateProduct = false, bool negateAddend = false)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        Decoded z = Decoded.From(f, c);
        bool productNegative = x.Negative ^ y.Negative ^ negateProduct;
        bool addendNegative = z.Negative ^ negateAddend;
        bool infinityTimesZero = (x.Kind == ValueKind.Infinity && y.Kind == ValueKind.Zero)
            || (x.Kind == ValueKind.Zero && y.Kind == ValueKind.Infinity);

        if (x.IsNaN || y.IsNaN || z.IsNaN)
        {
            // RISC-V F: "must set the invalid operation exception flag when the multiplicands
            // are ∞ and zero, even when the addend is a quiet NaN".
            bool signaling = x.Kind == ValueKind.SignalingNaN || y.Kind == ValueKind.SignalingNaN || z.Kind == ValueKind.SignalingNaN;
            return new(f.CanonicalNaN, signaling || infinityTimesZero ? FloatFlags.Invalid : FloatFlags.None);
        }

        if (infinityTimesZero)
        {
            return new(f.CanonicalNaN, FloatFlags.Invalid);
        }

        bool productInfinite = x.Kind == ValueKind.Infinity || y.Kind == ValueKind.Infinity;
        if (productInfinite && z.Kind == ValueKind.Infinity && productNegative != addendNegative)
        {
            return new(f.CanonicalNaN, FloatFlags.Invalid); // 7.2(d): ∞ − ∞
        }

        if (productInfinite)
        {
            return new(Signed(f, productNegative, f.Infinity), FloatFlags.None);
        }

        if (z.Kind == ValueKind.Infinity)
        {
            return new(Signed(f, addendNegative, f.Infinity), FloatFlags.None);
        }

        BigInteger productSignificand = x.Significand * y.Significand; // zero when either is zero
        int productExponent = x.Exponent + y.Exponent;
        return RoundExactSum(f, productNegative, productSignificand, productExponent, addendNegative, z.Significand, z.Exponent, rm);
    }

    public static Outcome Min(FloatFormat f, ulong a, ulong b) => MinMax(f, a, b, wantMinimum: true);

    public static Outcome Max(FloatFormat f, ulong a, ulong b) => MinMax(f, a, b, wantMinimum: false);

    /// <summary>FEQ: quiet, NV only for signaling NaNs.</summary>
    public static Outcome Equal(FloatFormat f, ulong a, ulong b)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        if (x.IsNaN || y.IsNaN)
        {
            bool signaling = x.Kind == ValueKind.SignalingNaN || y.Kind == ValueKind.SignalingNaN;
            return new(0, signaling ? FloatFlags.Invalid : FloatFlags.None);
        }

        return new(Compare(x, y) == 0 ? 1UL : 0, FloatFlags.None);
    }

    /// <summary>FLT: signaling, NV for any NaN.</summary>
    public static Outcome LessThan(FloatFormat f, ulong a, ulong b)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        return x.IsNaN || y.IsNaN ? new(0, FloatFlags.Invalid) : new(Compare(x, y) < 0 ? 1UL : 0, FloatFlags.None);
    }

    /// <summary>FLE: signaling, NV for any NaN.</summary>
    public static Outcome LessOrEqual(FloatFormat f, ulong a, ulong b)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        return x.IsNaN || y.IsNaN ? new(0, FloatFlags.Invalid) : new(Compare(x, y) <= 0 ? 1UL : 0, FloatFlags.None);
    }

    /// <summary>FCLASS, from the table "Format of result of FCLASS instruction".</summary>
    public static Outcome Classify(FloatFormat f, ulong a)
    {
        Decoded x = Decoded.From(f, a);
        int bit = x.Kind switch
        {
            ValueKind.Infinity => x.Negative ? 0 : 7,
            ValueKind.Zero => x.Negative ? 3 : 4,
            ValueKind.SignalingNaN => 8,
            ValueKind.QuietNaN => 9,
            _ when x.Subnormal => x.Negative ? 2 : 5,
            _ => x.Negative ? 1 : 6,
        };
        return new(1UL << bit, FloatFlags.None);
    }

    /// <summary>
    /// FCVT.{W,WU,L,LU}: round to an integer in mode rm; results outside [min, max], ±∞ and NaN
    /// give the table "Domains of float-to-integer conversions" and NV (and then not NX).
    /// The result is returned as the destination's two's complement bits, zero-extended.
    /// </summary>
    public static Outcome ToInteger(FloatFormat f, ulong a, RoundingMode rm, BigInteger min, BigInteger max, int width)
    {
        Decoded x = Decoded.From(f, a);
        BigInteger value;
        bool inexact = false;
        switch (x.Kind)
        {
            case ValueKind.QuietNaN or ValueKind.SignalingNaN:
                return new(TwosComplement(max, width), FloatFlags.Invalid);
            case ValueKind.Infinity:
                return new(TwosComplement(x.Negative ? min : max, width), FloatFlags.Invalid);
            case ValueKind.Zero:
                value = 0;
                break;
            default:
                (BigInteger magnitude, inexact) = ReferenceRounding.RoundToMultiple(x.Negative, x.Significand, x.Exponent, false, 0, rm);
                value = x.Negative ? -magnitude : magnitude;
                break;
        }

        if (value < min)
        {
            return new(TwosComplement(min, width), FloatFlags.Invalid);
        }

        if (value > max)
        {
            return new(TwosComplement(max, width), FloatFlags.Invalid);
        }

        return new(TwosComplement(value, width), inexact ? FloatFlags.Inexact : FloatFlags.None);
    }

    /// <summary>FCVT.{S,D}.{W,WU,L,LU}.</summary>
    public static Outcome FromInteger(FloatFormat f, BigInteger value, RoundingMode rm)
        => value.IsZero
            ? new(0, FloatFlags.None)
            : ReferenceRounding.Round(f, value.Sign < 0, BigInteger.Abs(value), 0, false, rm);

    /// <summary>FCVT.S.D and FCVT.D.S.</summary>
    public static Outcome Convert(FloatFormat from, FloatFormat to, ulong a, RoundingMode rm)
    {
        Decoded x = Decoded.From(from, a);
        return x.Kind switch
        {
            ValueKind.QuietNaN => new(to.CanonicalNaN, FloatFlags.None),
            ValueKind.SignalingNaN => new(to.CanonicalNaN, FloatFlags.Invalid),
            ValueKind.Infinity => new(Signed(to, x.Negative, to.Infinity), FloatFlags.None),
            ValueKind.Zero => new(Signed(to, x.Negative, 0), FloatFlags.None),
            _ => ReferenceRounding.Round(to, x.Negative, x.Significand, x.Exponent, false, rm),
        };
    }

    /// <summary>(−1)^negA × a ± b, exactly, then rounded.</summary>
    private static Outcome Sum(FloatFormat f, ulong a, bool negateA, ulong b, bool negateB, RoundingMode rm)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);
        bool negativeX = x.Negative ^ negateA;
        bool negativeY = y.Negative ^ negateB;
        if (x.IsNaN || y.IsNaN)
        {
            return NaNResult(f, x, y);
        }

        if (x.Kind == ValueKind.Infinity && y.Kind == ValueKind.Infinity && negativeX != negativeY)
        {
            return new(f.CanonicalNaN, FloatFlags.Invalid); // 7.2(d)
        }

        if (x.Kind == ValueKind.Infinity)
        {
            return new(Signed(f, negativeX, f.Infinity), FloatFlags.None);
        }

        if (y.Kind == ValueKind.Infinity)
        {
            return new(Signed(f, negativeY, f.Infinity), FloatFlags.None);
        }

        return RoundExactSum(f, negativeX, x.Significand, x.Exponent, negativeY, y.Significand, y.Exponent, rm);
    }

    /// <summary>
    /// Rounds ±m1 × 2^e1 ± m2 × 2^e2, computed exactly. An exact zero takes the sign rule of
    /// IEEE 754-2008 6.3: the common sign of the two terms (zeros included) when they agree,
    /// otherwise +0, or −0 when rounding towards −∞.
    /// </summary>
    private static Outcome RoundExactSum(FloatFormat f, bool negative1, BigInteger m1, int e1, bool negative2, BigInteger m2, int e2, RoundingMode rm)
    {
        int e = Math.Min(m1.IsZero ? e2 : e1, m2.IsZero ? e1 : e2);
        BigInteger s1 = m1.IsZero ? BigInteger.Zero : m1 << (e1 - e);
        BigInteger s2 = m2.IsZero ? BigInteger.Zero : m2 << (e2 - e);
        BigInteger sum = (negative1 ? -s1 : s1) + (negative2 ? -s2 : s2);
        if (sum.IsZero)
        {
            bool negativeZero = negative1 == negative2 ? negative1 : rm == RoundingMode.Down;
            return new(Signed(f, negativeZero, 0), FloatFlags.None);
        }

        return ReferenceRounding.Round(f, sum.Sign < 0, BigInteger.Abs(sum), e, false, rm);
    }

    private static Outcome MinMax(FloatFormat f, ulong a, ulong b, bool wantMinimum)
    {
        Decoded x = Decoded.From(f, a);
        Decoded y = Decoded.From(f, b);

        // "Signaling NaN inputs set the invalid operation exception flag, even when the result is not NaN."
        FloatFlags flags = x.Kind == ValueKind.SignalingNaN || y.Kind == ValueKind.SignalingNaN ? FloatFlags.Invalid : FloatFlags.None;
        if (x.IsNaN && y.IsNaN)
        {
            return new(f.CanonicalNaN, flags); // "If both inputs are NaNs, the result is the canonical NaN."
        }

        if (x.IsNaN)
        {
            return new(b, flags); // "If only one operand is a NaN, the result is the non-NaN operand."
        }

        if (y.IsNaN)
        {
            return new(a, flags);
        }

        // "For the purposes of these instructions only, the value −0.0 is considered to be less than the value +0.0."
        int order = Compare(x, y);
        if (order == 0 && x.Kind == ValueKind.Zero && y.Kind == ValueKind.Zero)
        {
            order = x.Negative == y.Negative ? 0 : x.Negative ? -1 : 1;
        }

        bool pickA = wantMinimum ? order <= 0 : order >= 0;
        return new(pickA ? a : b, flags);
    }

    /// <summary>Numeric order of two non-NaN values (−∞ &lt; finite &lt; +∞, and −0 = +0).</summary>
    private static int Compare(Decoded x, Decoded y)
    {
        static (int Infinity, BigInteger Signed, int Exponent) Key(Decoded d) => d.Kind switch
        {
            ValueKind.Infinity => (d.Negative ? -1 : 1, 0, 0),
            ValueKind.Zero => (0, 0, 0),
            _ => (0, d.Negative ? -d.Significand : d.Significand, d.Exponent),
        };

        var kx = Key(x);
        var ky = Key(y);
        if (kx.Infinity != 0 || ky.Infinity != 0)
        {
            return kx.Infinity.CompareTo(ky.Infinity); // a finite value ranks 0, between −∞ and +∞
        }

        int e = Math.Min(kx.Exponent, ky.Exponent);
        return (kx.Signed << (kx.Exponent - e)).CompareTo(ky.Signed << (ky.Exponent - e));
    }

    private static Outcome NaNResult(FloatFormat f, Decoded x, Decoded y)
    {
        bool signaling = x.Kind == ValueKind.SignalingNaN || y.Kind == ValueKind.SignalingNaN;
        return new(f.CanonicalNaN, signaling ? FloatFlags.Invalid : FloatFlags.None);
    }

    private static ulong Signed(FloatFormat f, bool negative, ulong magnitude) => (negative ? f.SignBit : 0) | magnitude;

    private static ulong TwosComplement(BigInteger value, int width)
    {
        BigInteger modulus = BigInteger.One << width;
        BigInteger wrapped = ((value % modulus) + modulus) % modulus;
        return (ulong)wrapped;
    }

    private static BigInteger IntegerSquareRoot(BigInteger n)
    {
        if (n.IsZero)
        {
            return 0;
        }

        // Newton's iteration from above converges monotonically to floor(√n).
        BigInteger x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger next = (x + n / x) >> 1;
            if (next >= x)
            {
                return x;
            }

            x = next;
        }
    }
}
