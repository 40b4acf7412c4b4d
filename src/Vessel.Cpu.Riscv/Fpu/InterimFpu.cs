// Interim FPU: host arithmetic in round-to-nearest-even with canonical NaNs and approximate
// flags, so the interpreter builds and boots while the exact IEEE implementation (Fpu32/Fpu64
// by the FPU work) is finished. This file is deleted when that lands.
namespace Vessel.Cpu.Riscv.Fpu;

public static class NanBoxing
{
    public static ulong Box(uint single) => 0xffff_ffff_0000_0000UL | single;

    public static uint Unbox(ulong register) => (register >> 32) == 0xffff_ffff ? (uint)register : 0x7fc0_0000u;
}

public static class Fpu64
{
    private const ulong CanonicalNaN = 0x7ff8_0000_0000_0000;

    private static double D(ulong v) => BitConverter.UInt64BitsToDouble(v);

    private static ulong R(double d) => double.IsNaN(d) ? CanonicalNaN : BitConverter.DoubleToUInt64Bits(d);

    private static bool IsSignaling(ulong v) => (v & 0x7ff0_0000_0000_0000) == 0x7ff0_0000_0000_0000 && (v & 0x000f_ffff_ffff_ffff) != 0 && (v & 0x0008_0000_0000_0000) == 0;

    private static ulong Arith(double r, ulong a, ulong b, ref FloatFlags flags)
    {
        if (double.IsNaN(r) && !double.IsNaN(D(a)) && !double.IsNaN(D(b)))
        {
            flags |= FloatFlags.Invalid;
        }

        if (IsSignaling(a) || IsSignaling(b))
        {
            flags |= FloatFlags.Invalid;
        }

        return R(r);
    }

    public static ulong Add(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => Arith(D(a) + D(b), a, b, ref flags);

    public static ulong Sub(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => Arith(D(a) - D(b), a, b, ref flags);

    public static ulong Mul(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags) => Arith(D(a) * D(b), a, b, ref flags);

    public static ulong Div(ulong a, ulong b, RoundingMode rm, ref FloatFlags flags)
    {
        if (D(b) == 0 && !double.IsNaN(D(a)) && D(a) != 0)
        {
            flags |= FloatFlags.DivideByZero;
        }

        return Arith(D(a) / D(b), a, b, ref flags);
    }

    public static ulong Sqrt(ulong a, RoundingMode rm, ref FloatFlags flags) => Arith(Math.Sqrt(D(a)), a, a, ref flags);

    public static ulong MulAdd(ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags) => Arith(Math.FusedMultiplyAdd(D(a), D(b), D(c)), a, b, ref flags);

    public static ulong Min(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsSignaling(a) || IsSignaling(b))
        {
            flags |= FloatFlags.Invalid;
        }

        double x = D(a), y = D(b);
        if (double.IsNaN(x))
        {
            return double.IsNaN(y) ? CanonicalNaN : b;
        }

        if (double.IsNaN(y))
        {
            return a;
        }

        if (x == y)
        {
            return (a >> 63) != 0 ? a : b;
        }

        return x < y ? a : b;
    }

    public static ulong Max(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsSignaling(a) || IsSignaling(b))
        {
            flags |= FloatFlags.Invalid;
        }

        double x = D(a), y = D(b);
        if (double.IsNaN(x))
        {
            return double.IsNaN(y) ? CanonicalNaN : b;
        }

        if (double.IsNaN(y))
        {
            return a;
        }

        if (x == y)
        {
            return (a >> 63) == 0 ? a : b;
        }

        return x > y ? a : b;
    }

    public static bool Equal(ulong a, ulong b, ref FloatFlags flags)
    {
        if (IsSignaling(a) || IsSignaling(b))
        {
            flags |= FloatFlags.Invalid;
        }

        return D(a) == D(b);
    }

    public static bool LessThan(ulong a, ulong b, ref FloatFlags flags)
    {
        if (double.IsNaN(D(a)) || double.IsNaN(D(b)))
        {
            flags |= FloatFlags.Invalid;
        }

        return D(a) < D(b);
    }

    public static bool LessOrEqual(ulong a, ulong b, ref FloatFlags flags)
    {
        if (double.IsNaN(D(a)) || double.IsNaN(D(b)))
        {
            flags |= FloatFlags.Invalid;
        }

        return D(a) <= D(b);
    }

    public static uint Classify(ulong a)
    {
        bool negative = (a >> 63) != 0;
        ulong exponent = (a >> 52) & 0x7ff;
        ulong fraction = a & 0x000f_ffff_ffff_ffff;
        if (exponent == 0x7ff)
        {
            if (fraction == 0)
            {
                return negative ? 1u << 0 : 1u << 7;
            }

            return (fraction & 0x0008_0000_0000_0000) != 0 ? 1u << 9 : 1u << 8;
        }

        if (exponent == 0)
        {
            if (fraction == 0)
            {
                return negative ? 1u << 3 : 1u << 4;
            }

            return negative ? 1u << 2 : 1u << 5;
        }

        return negative ? 1u << 1 : 1u << 6;
    }

    private static double RoundInteger(double d, RoundingMode rm) => rm switch
    {
        RoundingMode.TowardZero => Math.Truncate(d),
        RoundingMode.Down => Math.Floor(d),
        RoundingMode.Up => Math.Ceiling(d),
        RoundingMode.NearestMaxMagnitude => Math.Round(d, MidpointRounding.AwayFromZero),
        _ => Math.Round(d, MidpointRounding.ToEven),
    };

    public static int ToInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double d = D(a);
        if (double.IsNaN(d))
        {
            flags |= FloatFlags.Invalid;
            return int.MaxValue;
        }

        double r = RoundInteger(d, rm);
        if (r > int.MaxValue) { flags |= FloatFlags.Invalid; return int.MaxValue; }
        if (r < int.MinValue) { flags |= FloatFlags.Invalid; return int.MinValue; }
        if (r != d) { flags |= FloatFlags.Inexact; }
        return (int)r;
    }

    public static uint ToUInt32(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double d = D(a);
        if (double.IsNaN(d))
        {
            flags |= FloatFlags.Invalid;
            return uint.MaxValue;
        }

        double r = RoundInteger(d, rm);
        if (r > uint.MaxValue) { flags |= FloatFlags.Invalid; return uint.MaxValue; }
        if (r < 0) { flags |= FloatFlags.Invalid; return 0; }
        if (r != d) { flags |= FloatFlags.Inexact; }
        return (uint)r;
    }

    public static long ToInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double d = D(a);
        if (double.IsNaN(d))
        {
            flags |= FloatFlags.Invalid;
            return long.MaxValue;
        }

        double r = RoundInteger(d, rm);
        if (r >= 9223372036854775808.0) { flags |= FloatFlags.Invalid; return long.MaxValue; }
        if (r < -9223372036854775808.0) { flags |= FloatFlags.Invalid; return long.MinValue; }
        if (r != d) { flags |= FloatFlags.Inexact; }
        return (long)r;
    }

    public static ulong ToUInt64(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double d = D(a);
        if (double.IsNaN(d))
        {
            flags |= FloatFlags.Invalid;
            return ulong.MaxValue;
        }

        double r = RoundInteger(d, rm);
        if (r >= 18446744073709551616.0) { flags |= FloatFlags.Invalid; return ulong.MaxValue; }
        if (r < 0) { flags |= FloatFlags.Invalid; return 0; }
        if (r != d) { flags |= FloatFlags.Inexact; }
        return (ulong)r;
    }

    public static ulong FromInt32(int v, RoundingMode rm, ref FloatFlags flags) => R(v);

    public static ulong FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags) => R(v);

    public static ulong FromInt64(long v, RoundingMode rm, ref FloatFlags flags) => R(v);

    public static ulong FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags) => R(v);

    public static uint ToSingle(ulong a, RoundingMode rm, ref FloatFlags flags)
    {
        double d = D(a);
        if (double.IsNaN(d))
        {
            if (IsSignaling(a)) { flags |= FloatFlags.Invalid; }
            return 0x7fc0_0000;
        }

        float f = (float)d;
        if (f != d) { flags |= FloatFlags.Inexact; }
        return BitConverter.SingleToUInt32Bits(f);
    }
}

public static class Fpu32
{
    private static ulong W(uint v)
    {
        // Widen exactly; NaNs keep their quiet/signaling nature for flag purposes.
        float f = BitConverter.UInt32BitsToSingle(v);
        if (float.IsNaN(f))
        {
            return (v & 0x0040_0000) != 0 ? 0x7ff8_0000_0000_0000UL : 0x7ff0_0000_0000_0001UL;
        }

        return BitConverter.DoubleToUInt64Bits(f);
    }

    private static uint N(ulong d, ref FloatFlags flags) => Fpu64.ToSingle(d, RoundingMode.NearestEven, ref flags);

    public static uint Add(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.Add(W(a), W(b), rm, ref flags), ref flags);

    public static uint Sub(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.Sub(W(a), W(b), rm, ref flags), ref flags);

    public static uint Mul(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.Mul(W(a), W(b), rm, ref flags), ref flags);

    public static uint Div(uint a, uint b, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.Div(W(a), W(b), rm, ref flags), ref flags);

    public static uint Sqrt(uint a, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.Sqrt(W(a), rm, ref flags), ref flags);

    public static uint MulAdd(uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags) => N(Fpu64.MulAdd(W(a), W(b), W(c), rm, ref flags), ref flags);

    public static uint Min(uint a, uint b, ref FloatFlags flags) => N(Fpu64.Min(W(a), W(b), ref flags), ref flags);

    public static uint Max(uint a, uint b, ref FloatFlags flags) => N(Fpu64.Max(W(a), W(b), ref flags), ref flags);

    public static bool Equal(uint a, uint b, ref FloatFlags flags) => Fpu64.Equal(W(a), W(b), ref flags);

    public static bool LessThan(uint a, uint b, ref FloatFlags flags) => Fpu64.LessThan(W(a), W(b), ref flags);

    public static bool LessOrEqual(uint a, uint b, ref FloatFlags flags) => Fpu64.LessOrEqual(W(a), W(b), ref flags);

    public static uint Classify(uint a)
    {
        bool negative = (a >> 31) != 0;
        uint exponent = (a >> 23) & 0xff;
        uint fraction = a & 0x7f_ffff;
        if (exponent == 0xff)
        {
            if (fraction == 0)
            {
                return negative ? 1u << 0 : 1u << 7;
            }

            return (fraction & 0x40_0000) != 0 ? 1u << 9 : 1u << 8;
        }

        if (exponent == 0)
        {
            if (fraction == 0)
            {
                return negative ? 1u << 3 : 1u << 4;
            }

            return negative ? 1u << 2 : 1u << 5;
        }

        return negative ? 1u << 1 : 1u << 6;
    }

    public static int ToInt32(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToInt32(W(a), rm, ref flags);

    public static uint ToUInt32(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToUInt32(W(a), rm, ref flags);

    public static long ToInt64(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToInt64(W(a), rm, ref flags);

    public static ulong ToUInt64(uint a, RoundingMode rm, ref FloatFlags flags) => Fpu64.ToUInt64(W(a), rm, ref flags);

    public static uint FromInt32(int v, RoundingMode rm, ref FloatFlags flags) => BitConverter.SingleToUInt32Bits(v);

    public static uint FromUInt32(uint v, RoundingMode rm, ref FloatFlags flags) => BitConverter.SingleToUInt32Bits(v);

    public static uint FromInt64(long v, RoundingMode rm, ref FloatFlags flags) => BitConverter.SingleToUInt32Bits(v);

    public static uint FromUInt64(ulong v, RoundingMode rm, ref FloatFlags flags) => BitConverter.SingleToUInt32Bits(v);

    public static ulong ToDouble(uint a, ref FloatFlags flags)
    {
        ulong wide = W(a);
        if ((wide & 0x7ff8_0000_0000_0000) == 0x7ff0_0000_0000_0000 && (wide & 0x000f_ffff_ffff_ffff) != 0)
        {
            flags |= FloatFlags.Invalid;
            return 0x7ff8_0000_0000_0000;
        }

        return wide;
    }
}
