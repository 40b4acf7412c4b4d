using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vessel.Cpu.Riscv.Fpu.Soft;

/// <summary>
/// Exact IEEE 754-2008 arithmetic on one binary format, done with integers only (no host
/// floating point decides a result), with the RISC-V choices: canonical NaN results, tininess
/// detected after rounding, and the F/D conversion rules. This is the slow path behind
/// <see cref="Fpu64"/> and <see cref="Fpu32"/> and the whole implementation on hosts without a
/// fused multiply-add.
/// </summary>
/// <remarks>
/// Values travel as raw bits in the low bits of a <see cref="ulong"/>. Inside, a finite nonzero
/// magnitude is an exponent <c>e</c> and a significand <c>s</c> whose leading one is at bit 62
/// (<see cref="LeadingBit"/>): the value is <c>s × 2^(e − 62)</c>. The bits below the format's
/// precision are guard bits; anything shifted out below bit 0 is "jammed" (ORed) into bit 0, so
/// bit 0 records whether the value is inexact. Because every rounding threshold is an even
/// multiple of the guard-bit unit, the jammed value and the true value lie strictly between the
/// same two thresholds, which makes rounding the jammed value the same as rounding the exact one.
/// </remarks>
internal static partial class SoftFloat<TFormat>
    where TFormat : struct, IBinaryFormat
{
    /// <summary>Bit position of the leading one of a normalised internal significand.</summary>
    internal const int LeadingBit = 62;

    internal static int FractionBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TFormat.FractionBits; }

    internal static int Bias { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (1 << (TFormat.ExponentBits - 1)) - 1; }

    /// <summary>emin: the exponent of the smallest normal number.</summary>
    internal static int MinExponent { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 1 - Bias; }

    /// <summary>emax: the exponent of the largest finite number.</summary>
    internal static int MaxExponent { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Bias; }

    internal static ulong SignBit { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 1UL << (TFormat.FractionBits + TFormat.ExponentBits); }

    internal static ulong FractionMask { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (1UL << TFormat.FractionBits) - 1; }

    internal static ulong InfinityBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => ((1UL << TFormat.ExponentBits) - 1) << TFormat.FractionBits; }

    internal static ulong MaxFiniteBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => InfinityBits - 1; }

    internal static ulong QuietBit { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 1UL << (TFormat.FractionBits - 1); }

    /// <summary>The RISC-V canonical NaN: positive, quiet bit set, the rest of the payload clear.</summary>
    internal static ulong CanonicalNaN { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => InfinityBits | QuietBit; }

    /// <summary>Internal significand bits below the format's precision.</summary>
    private static int GuardBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => LeadingBit - TFormat.FractionBits; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsNaN(ulong bits) => (bits & ~SignBit) > InfinityBits;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsSignalingNaN(ulong bits) => IsNaN(bits) && (bits & QuietBit) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsNegative(ulong bits) => (bits & SignBit) != 0;

    /// <summary>
    /// Splits a finite nonzero magnitude (sign bit clear) into its exponent (returned) and a
    /// significand with the leading one at bit 62; subnormals are normalised here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Unpack(ulong magnitude, out ulong significand)
    {
        int field = (int)(magnitude >> TFormat.FractionBits);
        ulong fraction = magnitude & FractionMask;
        if (field != 0)
        {
            significand = (fraction | (1UL << TFormat.FractionBits)) << GuardBits;
            return field - Bias;
        }

        int shift = BitOperations.LeadingZeroCount(fraction) - 1;
        significand = fraction << shift;
        return MinExponent - TFormat.FractionBits - shift + LeadingBit;
    }

    /// <summary>Shifts right, ORing every bit shifted out into bit 0 (the sticky bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong ShiftRightJam(ulong value, int count)
    {
        if (count == 0)
        {
            return value;
        }

        if (count < 64)
        {
            return (value >> count) | ((value << (64 - count)) != 0 ? 1UL : 0);
        }

        return value != 0 ? 1UL : 0;
    }

    /// <summary>128-bit variant of <see cref="ShiftRightJam(ulong, int)"/>.</summary>
    internal static UInt128 ShiftRightJam(UInt128 value, int count)
    {
        if (count == 0)
        {
            return value;
        }

        if (count < 128)
        {
            return (value >> count) | ((value << (128 - count)) != UInt128.Zero ? UInt128.One : UInt128.Zero);
        }

        return value != UInt128.Zero ? UInt128.One : UInt128.Zero;
    }

    /// <summary>
    /// What to add below the kept bits before truncating, for rounding mode <paramref name="rm"/>:
    /// half a unit for the two nearest modes (ties are fixed up afterwards for RNE), all ones when
    /// rounding away from zero, nothing when rounding towards zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong RoundIncrement(bool negative, RoundingMode rm, ulong roundMask) => rm switch
    {
        RoundingMode.TowardZero => 0,
        RoundingMode.Down => negative ? roundMask : 0,
        RoundingMode.Up => negative ? 0 : roundMask,
        _ => (roundMask >> 1) + 1, // RNE, RMM (and reserved encodings, which the decoder rejects)
    };

    /// <summary>
    /// Rounds <c>(−1)^negative × significand × 2^(exponent − 62)</c> (leading one at bit 62,
    /// sticky information in the low bits) to the format, raising NX, UF (tiny after rounding
    /// and inexact) and OF as IEEE 754-2008 and RISC-V define them.
    /// </summary>
    internal static ulong RoundPack(bool negative, int exponent, ulong significand, RoundingMode rm, ref FloatFlags flags)
    {
        int guardBits = GuardBits;
        ulong roundMask = (1UL << guardBits) - 1;
        ulong half = (roundMask >> 1) + 1;
        ulong increment = RoundIncrement(negative, rm, roundMask);
        ulong sign = negative ? SignBit : 0;

        if (exponent < MinExponent)
        {
            // Tiny before rounding. After rounding (unbounded exponent, full precision) it stops
            // being tiny only when it carries up to 2^emin, which needs exponent == emin − 1.
            bool tiny = exponent < MinExponent - 1 || significand + increment < (1UL << (LeadingBit + 1));
            significand = ShiftRightJam(significand, MinExponent - exponent);
            ulong lost = significand & roundMask;
            if (lost != 0)
            {
                flags |= tiny ? FloatFlags.Inexact | FloatFlags.Underflow : FloatFlags.Inexact;
            }

            ulong subnormal = (significand + increment) >> guardBits;
            if (lost == half && rm == RoundingMode.NearestEven)
            {
                subnormal &= ~1UL;
            }

            // A carry into bit FractionBits lands in the exponent field: the smallest normal.
            return sign | subnormal;
        }

        ulong rest = significand & roundMask;
        ulong mantissa = (significand + increment) >> guardBits;
        if (rest == half && rm == RoundingMode.NearestEven)
        {
            mantissa &= ~1UL;
        }

        if ((mantissa >> (TFormat.FractionBits + 1)) != 0)
        {
            mantissa >>= 1;
            exponent++;
        }

        if (exponent > MaxExponent)
        {
            // Rounding modes that round this value away from zero give infinity, the others the
            // largest finite number; the increment tells which.
            flags |= FloatFlags.Overflow | FloatFlags.Inexact;
            return sign | (increment != 0 ? InfinityBits : MaxFiniteBits);
        }

        if (rest != 0)
        {
            flags |= FloatFlags.Inexact;
        }

        // The mantissa carries the implicit one, which adds one to the biased exponent.
        return sign | (((ulong)(exponent + Bias - 1) << TFormat.FractionBits) + mantissa);
    }

    /// <summary>
    /// Rounds a 128-bit significand with value <c>wide × 2^(scale)</c> (nonzero) by normalising
    /// it to the internal layout and jamming the low bits.
    /// </summary>
    private static ulong RoundPackWide(bool negative, int scale, UInt128 wide, RoundingMode rm, ref FloatFlags flags)
    {
        int top = 127 - LeadingZeroCount(wide);
        ulong significand;
        if (top > LeadingBit)
        {
            int shift = top - LeadingBit;
            significand = (ulong)(wide >> shift) | ((wide << (128 - shift)) != UInt128.Zero ? 1UL : 0);
        }
        else
        {
            significand = (ulong)wide << (LeadingBit - top);
        }

        return RoundPack(negative, scale + top, significand, rm, ref flags);
    }

    private static int LeadingZeroCount(UInt128 value)
    {
        ulong upper = (ulong)(value >> 64);
        return upper != 0 ? BitOperations.LeadingZeroCount(upper) : 64 + BitOperations.LeadingZeroCount((ulong)value);
    }
}
