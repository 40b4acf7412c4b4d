using System.Numerics;
using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>Every FP operation the interpreter asks of the FPU, for table-driven tests.</summary>
public enum Operation
{
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    MulAdd,
    MulSub,
    NegMulSub,
    NegMulAdd,
    Min,
    Max,
    Equal,
    LessThan,
    LessOrEqual,
    Classify,
    ToInt32,
    ToUInt32,
    ToInt64,
    ToUInt64,
    FromInt32,
    FromUInt32,
    FromInt64,
    FromUInt64,

    /// <summary>FCVT.S.D for binary64 operands, FCVT.D.S for binary32 operands.</summary>
    ConvertFormat,
}

/// <summary>Which implementation under test: the public entry points (hardware fast paths) or the integer path alone.</summary>
public enum Implementation
{
    Fpu,
    Soft,
}

internal static class OperationTable
{
    public static bool IsRounding(Operation op) => op is not (Operation.Min or Operation.Max or Operation.Equal or Operation.LessThan
        or Operation.LessOrEqual or Operation.Classify);

    /// <summary>The same operation through the code under test, flags accumulated from zero.</summary>
    public static Outcome Run(FloatFormat format, Implementation implementation, Operation op, ulong a, ulong b, ulong c, RoundingMode rm)
    {
        FloatFlags flags = FloatFlags.None;
        if (format == FloatFormat.Binary32 && op is Operation.FromInt64 or Operation.FromUInt64)
        {
            // The only binary32 operations whose operand is 64 bits wide.
            ulong converted = (implementation, op) switch
            {
                (Implementation.Fpu, Operation.FromInt64) => Fpu32.FromInt64((long)a, rm, ref flags),
                (Implementation.Fpu, _) => Fpu32.FromUInt64(a, rm, ref flags),
                (_, Operation.FromInt64) => SoftFloat32.FromInt64((long)a, rm, ref flags),
                _ => SoftFloat32.FromUInt64(a, rm, ref flags),
            };
            return new(converted, flags);
        }

        ulong value = format == FloatFormat.Binary64
            ? (implementation == Implementation.Fpu ? RunFpu64(op, a, b, c, rm, ref flags) : RunSoft64(op, a, b, c, rm, ref flags))
            : (implementation == Implementation.Fpu ? RunFpu32(op, (uint)a, (uint)b, (uint)c, rm, ref flags) : RunSoft32(op, (uint)a, (uint)b, (uint)c, rm, ref flags));
        return new(value, flags);
    }

    public static Outcome Reference(FloatFormat f, Operation op, ulong a, ulong b, ulong c, RoundingMode rm) => op switch
    {
        Operation.Add => ReferenceFpu.Add(f, a, b, rm),
        Operation.Sub => ReferenceFpu.Sub(f, a, b, rm),
        Operation.Mul => ReferenceFpu.Mul(f, a, b, rm),
        Operation.Div => ReferenceFpu.Div(f, a, b, rm),
        Operation.Sqrt => ReferenceFpu.Sqrt(f, a, rm),
        Operation.MulAdd => ReferenceFpu.MulAdd(f, a, b, c, rm),
        Operation.MulSub => ReferenceFpu.MulAdd(f, a, b, c, rm, negateAddend: true),
        Operation.NegMulSub => ReferenceFpu.MulAdd(f, a, b, c, rm, negateProduct: true),
        Operation.NegMulAdd => ReferenceFpu.MulAdd(f, a, b, c, rm, negateProduct: true, negateAddend: true),
        Operation.Min => ReferenceFpu.Min(f, a, b),
        Operation.Max => ReferenceFpu.Max(f, a, b),
        Operation.Equal => ReferenceFpu.Equal(f, a, b),
        Operation.LessThan => ReferenceFpu.LessThan(f, a, b),
        Operation.LessOrEqual => ReferenceFpu.LessOrEqual(f, a, b),
        Operation.Classify => ReferenceFpu.Classify(f, a),
        Operation.ToInt32 => ReferenceFpu.ToInteger(f, a, rm, int.MinValue, int.MaxValue, 32),
        Operation.ToUInt32 => ReferenceFpu.ToInteger(f, a, rm, 0, uint.MaxValue, 32),
        Operation.ToInt64 => ReferenceFpu.ToInteger(f, a, rm, long.MinValue, long.MaxValue, 64),
        Operation.ToUInt64 => ReferenceFpu.ToInteger(f, a, rm, 0, ulong.MaxValue, 64),
        Operation.FromInt32 => ReferenceFpu.FromInteger(f, (int)a, rm),
        Operation.FromUInt32 => ReferenceFpu.FromInteger(f, (uint)a, rm),
        Operation.FromInt64 => ReferenceFpu.FromInteger(f, (long)a, rm),
        Operation.FromUInt64 => ReferenceFpu.FromInteger(f, new BigInteger(a), rm),
        Operation.ConvertFormat => f == FloatFormat.Binary64
            ? ReferenceFpu.Convert(FloatFormat.Binary64, FloatFormat.Binary32, a, rm)
            : ReferenceFpu.Convert(FloatFormat.Binary32, FloatFormat.Binary64, a, rm),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private const ulong Sign64 = 1UL << 63;
    private const uint Sign32 = 1u << 31;

    // FMSUB, FNMSUB and FNMADD are built as the interpreter builds them: by flipping sign bits.
    private static ulong RunFpu64(Operation op, ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags) => op switch
    {
        Operation.Add => Fpu64.Add(a, b, rm, ref flags),
        Operation.Sub => Fpu64.Sub(a, b, rm, ref flags),
        Operation.Mul => Fpu64.Mul(a, b, rm, ref flags),
        Operation.Div => Fpu64.Div(a, b, rm, ref flags),
        Operation.Sqrt => Fpu64.Sqrt(a, rm, ref flags),
        Operation.MulAdd => Fpu64.MulAdd(a, b, c, rm, ref flags),
        Operation.MulSub => Fpu64.MulAdd(a, b, c ^ Sign64, rm, ref flags),
        Operation.NegMulSub => Fpu64.MulAdd(a ^ Sign64, b, c, rm, ref flags),
        Operation.NegMulAdd => Fpu64.MulAdd(a ^ Sign64, b, c ^ Sign64, rm, ref flags),
        Operation.Min => Fpu64.Min(a, b, ref flags),
        Operation.Max => Fpu64.Max(a, b, ref flags),
        Operation.Equal => Fpu64.Equal(a, b, ref flags) ? 1UL : 0,
        Operation.LessThan => Fpu64.LessThan(a, b, ref flags) ? 1UL : 0,
        Operation.LessOrEqual => Fpu64.LessOrEqual(a, b, ref flags) ? 1UL : 0,
        Operation.Classify => Fpu64.Classify(a),
        Operation.ToInt32 => (uint)Fpu64.ToInt32(a, rm, ref flags),
        Operation.ToUInt32 => Fpu64.ToUInt32(a, rm, ref flags),
        Operation.ToInt64 => (ulong)Fpu64.ToInt64(a, rm, ref flags),
        Operation.ToUInt64 => Fpu64.ToUInt64(a, rm, ref flags),
        Operation.FromInt32 => Fpu64.FromInt32((int)a, rm, ref flags),
        Operation.FromUInt32 => Fpu64.FromUInt32((uint)a, rm, ref flags),
        Operation.FromInt64 => Fpu64.FromInt64((long)a, rm, ref flags),
        Operation.FromUInt64 => Fpu64.FromUInt64(a, rm, ref flags),
        Operation.ConvertFormat => Fpu64.ToSingle(a, rm, ref flags),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static ulong RunSoft64(Operation op, ulong a, ulong b, ulong c, RoundingMode rm, ref FloatFlags flags) => op switch
    {
        Operation.Add => SoftFloat64.Add(a, b, rm, ref flags),
        Operation.Sub => SoftFloat64.Sub(a, b, rm, ref flags),
        Operation.Mul => SoftFloat64.Mul(a, b, rm, ref flags),
        Operation.Div => SoftFloat64.Div(a, b, rm, ref flags),
        Operation.Sqrt => SoftFloat64.Sqrt(a, rm, ref flags),
        Operation.MulAdd => SoftFloat64.MulAdd(a, b, c, rm, ref flags),
        Operation.MulSub => SoftFloat64.MulAdd(a, b, c ^ Sign64, rm, ref flags),
        Operation.NegMulSub => SoftFloat64.MulAdd(a ^ Sign64, b, c, rm, ref flags),
        Operation.NegMulAdd => SoftFloat64.MulAdd(a ^ Sign64, b, c ^ Sign64, rm, ref flags),
        Operation.Min => SoftFloat64.Min(a, b, ref flags),
        Operation.Max => SoftFloat64.Max(a, b, ref flags),
        Operation.Equal => SoftFloat64.Equal(a, b, ref flags) ? 1UL : 0,
        Operation.LessThan => SoftFloat64.LessThan(a, b, ref flags) ? 1UL : 0,
        Operation.LessOrEqual => SoftFloat64.LessOrEqual(a, b, ref flags) ? 1UL : 0,
        Operation.Classify => SoftFloat64.Classify(a),
        Operation.ToInt32 => (uint)SoftFloat64.ToInt32(a, rm, ref flags),
        Operation.ToUInt32 => SoftFloat64.ToUInt32(a, rm, ref flags),
        Operation.ToInt64 => (ulong)SoftFloat64.ToInt64(a, rm, ref flags),
        Operation.ToUInt64 => SoftFloat64.ToUInt64(a, rm, ref flags),
        Operation.FromInt32 => SoftFloat64.FromInt32((int)a, rm, ref flags),
        Operation.FromUInt32 => SoftFloat64.FromUInt32((uint)a, rm, ref flags),
        Operation.FromInt64 => SoftFloat64.FromInt64((long)a, rm, ref flags),
        Operation.FromUInt64 => SoftFloat64.FromUInt64(a, rm, ref flags),
        Operation.ConvertFormat => SoftFloat64.ToSingle(a, rm, ref flags),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static ulong RunFpu32(Operation op, uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags) => op switch
    {
        Operation.Add => Fpu32.Add(a, b, rm, ref flags),
        Operation.Sub => Fpu32.Sub(a, b, rm, ref flags),
        Operation.Mul => Fpu32.Mul(a, b, rm, ref flags),
        Operation.Div => Fpu32.Div(a, b, rm, ref flags),
        Operation.Sqrt => Fpu32.Sqrt(a, rm, ref flags),
        Operation.MulAdd => Fpu32.MulAdd(a, b, c, rm, ref flags),
        Operation.MulSub => Fpu32.MulAdd(a, b, c ^ Sign32, rm, ref flags),
        Operation.NegMulSub => Fpu32.MulAdd(a ^ Sign32, b, c, rm, ref flags),
        Operation.NegMulAdd => Fpu32.MulAdd(a ^ Sign32, b, c ^ Sign32, rm, ref flags),
        Operation.Min => Fpu32.Min(a, b, ref flags),
        Operation.Max => Fpu32.Max(a, b, ref flags),
        Operation.Equal => Fpu32.Equal(a, b, ref flags) ? 1UL : 0,
        Operation.LessThan => Fpu32.LessThan(a, b, ref flags) ? 1UL : 0,
        Operation.LessOrEqual => Fpu32.LessOrEqual(a, b, ref flags) ? 1UL : 0,
        Operation.Classify => Fpu32.Classify(a),
        Operation.ToInt32 => (uint)Fpu32.ToInt32(a, rm, ref flags),
        Operation.ToUInt32 => Fpu32.ToUInt32(a, rm, ref flags),
        Operation.ToInt64 => (ulong)Fpu32.ToInt64(a, rm, ref flags),
        Operation.ToUInt64 => Fpu32.ToUInt64(a, rm, ref flags),
        Operation.FromInt32 => Fpu32.FromInt32((int)a, rm, ref flags),
        Operation.FromUInt32 => Fpu32.FromUInt32(a, rm, ref flags),
        Operation.ConvertFormat => Fpu32.ToDouble(a, ref flags),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static ulong RunSoft32(Operation op, uint a, uint b, uint c, RoundingMode rm, ref FloatFlags flags) => op switch
    {
        Operation.Add => SoftFloat32.Add(a, b, rm, ref flags),
        Operation.Sub => SoftFloat32.Sub(a, b, rm, ref flags),
        Operation.Mul => SoftFloat32.Mul(a, b, rm, ref flags),
        Operation.Div => SoftFloat32.Div(a, b, rm, ref flags),
        Operation.Sqrt => SoftFloat32.Sqrt(a, rm, ref flags),
        Operation.MulAdd => SoftFloat32.MulAdd(a, b, c, rm, ref flags),
        Operation.MulSub => SoftFloat32.MulAdd(a, b, c ^ Sign32, rm, ref flags),
        Operation.NegMulSub => SoftFloat32.MulAdd(a ^ Sign32, b, c, rm, ref flags),
        Operation.NegMulAdd => SoftFloat32.MulAdd(a ^ Sign32, b, c ^ Sign32, rm, ref flags),
        Operation.Min => SoftFloat32.Min(a, b, ref flags),
        Operation.Max => SoftFloat32.Max(a, b, ref flags),
        Operation.Equal => SoftFloat32.Equal(a, b, ref flags) ? 1UL : 0,
        Operation.LessThan => SoftFloat32.LessThan(a, b, ref flags) ? 1UL : 0,
        Operation.LessOrEqual => SoftFloat32.LessOrEqual(a, b, ref flags) ? 1UL : 0,
        Operation.Classify => SoftFloat32.Classify(a),
        Operation.ToInt32 => (uint)SoftFloat32.ToInt32(a, rm, ref flags),
        Operation.ToUInt32 => SoftFloat32.ToUInt32(a, rm, ref flags),
        Operation.ToInt64 => (ulong)SoftFloat32.ToInt64(a, rm, ref flags),
        Operation.ToUInt64 => SoftFloat32.ToUInt64(a, rm, ref flags),
        Operation.FromInt32 => SoftFloat32.FromInt32((int)a, rm, ref flags),
        Operation.FromUInt32 => SoftFloat32.FromUInt32(a, rm, ref flags),
        Operation.ConvertFormat => SoftFloat32.ToDouble(a, ref flags),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
