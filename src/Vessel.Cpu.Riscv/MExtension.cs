using System.Runtime.CompilerServices;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The M extension's high products, divisions and remainders with RISC-V's answers for the
/// corner cases (division by zero, signed overflow), in one place for both engines: the
/// interpreter calls them, and translated code calls them too (the .NET JIT inlines them into
/// the translated methods). Operands and results are register values; the word forms
/// (<c>*w</c>) read the low 32 bits and sign-extend their result.
/// </summary>
internal static class MExtension
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulHigh(ulong a, ulong b) => (ulong)Math.BigMul((long)a, (long)b, out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulHighUnsigned(ulong a, ulong b) => Math.BigMul(a, b, out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulHighSignedUnsigned(ulong a, ulong b)
    {
        ulong high = Math.BigMul(a, b, out _);
        return (long)a < 0 ? high - b : high;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div(ulong a, ulong b)
    {
        long dividend = (long)a, divisor = (long)b;
        if (divisor == 0)
        {
            return ulong.MaxValue;
        }

        return divisor == -1 ? (ulong)(-dividend) : (ulong)(dividend / divisor); // -MinValue wraps to MinValue, as RISC-V wants
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Rem(ulong a, ulong b)
    {
        long dividend = (long)a, divisor = (long)b;
        if (divisor == 0)
        {
            return a;
        }

        return divisor == -1 ? 0 : (ulong)(dividend % divisor);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong DivUnsigned(ulong a, ulong b) => b == 0 ? ulong.MaxValue : a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RemUnsigned(ulong a, ulong b) => b == 0 ? a : a % b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong DivWord(ulong a, ulong b)
    {
        int dividend = (int)a, divisor = (int)b;
        if (divisor == 0)
        {
            return ulong.MaxValue;
        }

        return divisor == -1 ? (ulong)(long)(-dividend) : (ulong)(long)(dividend / divisor); // -MinValue wraps to MinValue, as RISC-V wants
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RemWord(ulong a, ulong b)
    {
        int dividend = (int)a, divisor = (int)b;
        if (divisor == 0)
        {
            return (ulong)(long)dividend;
        }

        return divisor == -1 ? 0 : (ulong)(long)(dividend % divisor);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong DivWordUnsigned(ulong a, ulong b)
    {
        uint divisor = (uint)b;
        return divisor == 0 ? ulong.MaxValue : (ulong)(long)(int)((uint)a / divisor);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RemWordUnsigned(ulong a, ulong b)
    {
        uint divisor = (uint)b;
        return (ulong)(long)(int)(divisor == 0 ? (uint)a : (uint)a % divisor);
    }
}
