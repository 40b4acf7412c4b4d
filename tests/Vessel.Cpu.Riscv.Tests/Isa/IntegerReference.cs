using System.Numerics;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// The RV64I and M operations written directly from the unprivileged spec's definitions (with
/// <see cref="BigInteger"/> for the high multiplies), to compute the expected results of the
/// instruction tests independently of the interpreter.
/// </summary>
internal static class IntegerReference
{
    private static readonly BigInteger s_two64 = BigInteger.One << 64;

    public static ulong SignExtendWord(ulong value) => (ulong)(long)(int)(uint)value;

    public static ulong Evaluate(string op, ulong a, ulong b)
    {
        long sa = (long)a, sb = (long)b;
        int wa = (int)a, wb = (int)b;
        int shift64 = (int)(b & 63), shift32 = (int)(b & 31);
        return op switch
        {
            "add" => a + b,
            "sub" => a - b,
            "sll" => a << shift64,
            "slt" => sa < sb ? 1UL : 0UL,
            "sltu" => a < b ? 1UL : 0UL,
            "xor" => a ^ b,
            "srl" => a >> shift64,
            "sra" => (ulong)(sa >> shift64),
            "or" => a | b,
            "and" => a & b,
            "addw" => SignExtendWord((uint)(a + b)),
            "subw" => SignExtendWord((uint)(a - b)),
            "sllw" => SignExtendWord((uint)a << shift32),
            "srlw" => SignExtendWord((uint)a >> shift32),
            "sraw" => (ulong)(long)(wa >> shift32),
            "mul" => (ulong)((new BigInteger(a) * new BigInteger(b)) % s_two64),
            "mulh" => High(new BigInteger(sa) * new BigInteger(sb)),
            "mulhsu" => High(new BigInteger(sa) * new BigInteger(b)),
            "mulhu" => High(new BigInteger(a) * new BigInteger(b)),
            // Division by zero gives all ones (quotient) or the dividend (remainder); the one
            // signed overflow, most-negative / -1, gives the dividend and a zero remainder.
            "div" => b == 0 ? ulong.MaxValue : (sa == long.MinValue && sb == -1) ? a : (ulong)(long)BigInteger.Divide(sa, sb),
            "divu" => b == 0 ? ulong.MaxValue : a / b,
            "rem" => b == 0 ? a : (sa == long.MinValue && sb == -1) ? 0 : (ulong)(long)BigInteger.Remainder(sa, sb),
            "remu" => b == 0 ? a : a % b,
            "mulw" => SignExtendWord((uint)((long)wa * wb)),
            "divw" => (uint)b == 0 ? ulong.MaxValue : (wa == int.MinValue && wb == -1) ? SignExtendWord((uint)wa) : (ulong)(long)(int)BigInteger.Divide(wa, wb),
            "divuw" => (uint)b == 0 ? ulong.MaxValue : SignExtendWord((uint)a / (uint)b),
            "remw" => (uint)b == 0 ? SignExtendWord((uint)wa) : (wa == int.MinValue && wb == -1) ? 0 : (ulong)(long)(int)BigInteger.Remainder(wa, wb),
            "remuw" => (uint)b == 0 ? SignExtendWord((uint)a) : SignExtendWord((uint)a % (uint)b),
            _ => throw new ArgumentException($"unknown operation {op}", nameof(op)),
        };
    }

    /// <summary>Bits 127:64 of a 128-bit two's-complement product.</summary>
    private static ulong High(BigInteger product)
    {
        BigInteger wrapped = product % (s_two64 * s_two64);
        if (wrapped.Sign < 0)
        {
            wrapped += s_two64 * s_two64;
        }

        return (ulong)(wrapped >> 64);
    }

    /// <summary>Register-immediate operations, with the 12-bit immediate already sign-extended (or a shift amount).</summary>
    public static ulong EvaluateImmediate(string op, ulong a, int imm)
    {
        ulong i = (ulong)(long)imm;
        return op switch
        {
            "addi" => a + i,
            "slti" => (long)a < imm ? 1UL : 0UL,
            "sltiu" => a < i ? 1UL : 0UL,
            "xori" => a ^ i,
            "ori" => a | i,
            "andi" => a & i,
            "slli" => a << imm,
            "srli" => a >> imm,
            "srai" => (ulong)((long)a >> imm),
            "addiw" => SignExtendWord((uint)(a + i)),
            "slliw" => SignExtendWord((uint)a << imm),
            "srliw" => SignExtendWord((uint)a >> imm),
            "sraiw" => (ulong)(long)((int)a >> imm),
            _ => throw new ArgumentException($"unknown operation {op}", nameof(op)),
        };
    }
}
