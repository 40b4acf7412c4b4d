namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// Small pure functions that translated code calls for the M extension's corner cases (division
/// by zero, overflow, high products). The .NET JIT inlines them into the translated methods.
/// </summary>
internal static class JitHelpers
{
    public static ulong MulHigh(ulong a, ulong b) => (ulong)Math.BigMul((long)a, (long)b, out _);

    public static ulong MulHighUnsigned(ulong a, ulong b) => Math.BigMul(a, b, out _);

    public static ulong MulHighSignedUnsigned(ulong a, ulong b)
    {
        ulong high = Math.BigMul(a, b, out _);
        return (long)a < 0 ? high - b : high;
    }

    public static ulong Div(ulong a, ulong b)
    {
        long dividend = (long)a, divisor = (long)b;
        if (divisor == 0)
        {
            return ulong.MaxValue;
        }

        return divisor == -1 ? (ulong)(-dividend) : (ulong)(dividend / divisor); // -MinValue wraps to MinValue, as RISC-V wants
    }

    public static ulong Rem(ulong a, ulong b)
    {
        long dividend = (long)a, divisor = (long)b;
        if (divisor == 0)
        {
            return a;
        }

        return divisor == -1 ? 0 : (ulong)(dividend % divisor);
    }

    public static ulong DivUnsigned(ulong a, ulong b) => b == 0 ? ulong.MaxValue : a / b;

    public static ulong RemUnsigned(ulong a, ulong b) => b == 0 ? a : a % b;

    public static ulong DivWord(ulong a, ulong b)
    {
        int dividend = (int)a, divisor = (int)b;
        if (divisor == 0)
        {
            return ulong.MaxValue;
        }

        return divisor == -1 ? (ulong)(long)(-dividend) : (ulong)(long)(dividend / divisor); // -MinValue wraps to MinValue, as RISC-V wants
    }

    public static ulong RemWord(ulong a, ulong b)
    {
        int dividend = (int)a, divisor = (int)b;
        if (divisor == 0)
        {
            return (ulong)(long)dividend;
        }

        return divisor == -1 ? 0 : (ulong)(long)(dividend % divisor);
    }

    public static ulong DivWordUnsigned(ulong a, ulong b)
    {
        uint divisor = (uint)b;
        return divisor == 0 ? ulong.MaxValue : (ulong)(long)(int)((uint)a / divisor);
    }

    public static ulong RemWordUnsigned(ulong a, ulong b)
    {
        uint divisor = (uint)b;
        return (ulong)(long)(int)(divisor == 0 ? (uint)a : (uint)a % divisor);
    }
}
