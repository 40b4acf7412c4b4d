using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Fpu;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The F and D extensions: register moves, loads and stores, and the arithmetic, which is done
/// by <see cref="Fpu32"/> and <see cref="Fpu64"/> to IEEE 754 with RISC-V's NaN and flag rules.
/// Single-precision values live NaN-boxed in the 64-bit registers.
/// </summary>
public sealed unsafe partial class Hart
{
    private bool ExecuteFloat(in Instruction ins)
    {
        if (!FloatEnabled)
        {
            return Fault(ExceptionCause.IllegalInstruction, ins.Raw);
        }

        ulong* x = _s->X;
        ulong* f = _s->F;
        var rm = RoundingMode.NearestEven;
        if (ins.Rm != 0)
        {
            int mode = ins.Rm == 7 ? _frm : ins.Rm;
            if (mode > 4)
            {
                return Fault(ExceptionCause.IllegalInstruction, ins.Raw);
            }

            rm = (RoundingMode)mode;
        }

        FloatFlags flags = FloatFlags.None;
        switch (ins.Op)
        {
            case Opcode.Flw:
            {
                if (!TryLoad32(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                {
                    return false;
                }

                f[ins.Rd] = NanBoxing.Box((uint)v);
                break;
            }

            case Opcode.Fld:
            {
                if (!TryLoad64(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                {
                    return false;
                }

                f[ins.Rd] = v;
                break;
            }

            case Opcode.Fsw:
                return TryStore32(x[ins.Rs1] + (ulong)(long)ins.Imm, f[ins.Rs2]);
            case Opcode.Fsd:
                return TryStore64(x[ins.Rs1] + (ulong)(long)ins.Imm, f[ins.Rs2]);

            // Single precision.
            case Opcode.FmaddS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.MulAdd(S(f, ins.Rs1), S(f, ins.Rs2), S(f, ins.Rs3), rm, ref flags));
                break;
            case Opcode.FmsubS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.MulAdd(S(f, ins.Rs1), S(f, ins.Rs2), S(f, ins.Rs3) ^ SignBit32, rm, ref flags));
                break;
            case Opcode.FnmsubS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.MulAdd(S(f, ins.Rs1) ^ SignBit32, S(f, ins.Rs2), S(f, ins.Rs3), rm, ref flags));
                break;
            case Opcode.FnmaddS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.MulAdd(S(f, ins.Rs1) ^ SignBit32, S(f, ins.Rs2), S(f, ins.Rs3) ^ SignBit32, rm, ref flags));
                break;
            case Opcode.FaddS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Add(S(f, ins.Rs1), S(f, ins.Rs2), rm, ref flags));
                break;
            case Opcode.FsubS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Sub(S(f, ins.Rs1), S(f, ins.Rs2), rm, ref flags));
                break;
            case Opcode.FmulS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Mul(S(f, ins.Rs1), S(f, ins.Rs2), rm, ref flags));
                break;
            case Opcode.FdivS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Div(S(f, ins.Rs1), S(f, ins.Rs2), rm, ref flags));
                break;
            case Opcode.FsqrtS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Sqrt(S(f, ins.Rs1), rm, ref flags));
                break;
            case Opcode.FsgnjS:
                f[ins.Rd] = NanBoxing.Box((S(f, ins.Rs1) & ~SignBit32) | (S(f, ins.Rs2) & SignBit32));
                break;
            case Opcode.FsgnjnS:
                f[ins.Rd] = NanBoxing.Box((S(f, ins.Rs1) & ~SignBit32) | (~S(f, ins.Rs2) & SignBit32));
                break;
            case Opcode.FsgnjxS:
                f[ins.Rd] = NanBoxing.Box(S(f, ins.Rs1) ^ (S(f, ins.Rs2) & SignBit32));
                break;
            case Opcode.FminS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Min(S(f, ins.Rs1), S(f, ins.Rs2), ref flags));
                break;
            case Opcode.FmaxS:
                f[ins.Rd] = NanBoxing.Box(Fpu32.Max(S(f, ins.Rs1), S(f, ins.Rs2), ref flags));
                break;
            case Opcode.FcvtWS:
                x[ins.Rd] = (ulong)(long)Fpu32.ToInt32(S(f, ins.Rs1), rm, ref flags);
                goto IntegerResult;
            case Opcode.FcvtWuS:
                x[ins.Rd] = SignExtend32(Fpu32.ToUInt32(S(f, ins.Rs1), rm, ref flags));
                goto IntegerResult;
            case Opcode.FcvtLS:
                x[ins.Rd] = (ulong)Fpu32.ToInt64(S(f, ins.Rs1), rm, ref flags);
                goto IntegerResult;
            case Opcode.FcvtLuS:
                x[ins.Rd] = Fpu32.ToUInt64(S(f, ins.Rs1), rm, ref flags);
                goto IntegerResult;
            case Opcode.FmvXW:
                x[ins.Rd] = SignExtend32(f[ins.Rs1]);
                return true;
            case Opcode.FclassS:
                x[ins.Rd] = Fpu32.Classify(S(f, ins.Rs1));
                return true;
            case Opcode.FeqS:
                x[ins.Rd] = Fpu32.Equal(S(f, ins.Rs1), S(f, ins.Rs2), ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FltS:
                x[ins.Rd] = Fpu32.LessThan(S(f, ins.Rs1), S(f, ins.Rs2), ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FleS:
                x[ins.Rd] = Fpu32.LessOrEqual(S(f, ins.Rs1), S(f, ins.Rs2), ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FcvtSW:
                f[ins.Rd] = NanBoxing.Box(Fpu32.FromInt32((int)x[ins.Rs1], rm, ref flags));
                break;
            case Opcode.FcvtSWu:
                f[ins.Rd] = NanBoxing.Box(Fpu32.FromUInt32((uint)x[ins.Rs1], rm, ref flags));
                break;
            case Opcode.FcvtSL:
                f[ins.Rd] = NanBoxing.Box(Fpu32.FromInt64((long)x[ins.Rs1], rm, ref flags));
                break;
            case Opcode.FcvtSLu:
                f[ins.Rd] = NanBoxing.Box(Fpu32.FromUInt64(x[ins.Rs1], rm, ref flags));
                break;
            case Opcode.FmvWX:
                f[ins.Rd] = NanBoxing.Box((uint)x[ins.Rs1]);
                break;

            // Double precision.
            case Opcode.FmaddD:
                f[ins.Rd] = Fpu64.MulAdd(f[ins.Rs1], f[ins.Rs2], f[ins.Rs3], rm, ref flags);
                break;
            case Opcode.FmsubD:
                f[ins.Rd] = Fpu64.MulAdd(f[ins.Rs1], f[ins.Rs2], f[ins.Rs3] ^ SignBit64, rm, ref flags);
                break;
            case Opcode.FnmsubD:
                f[ins.Rd] = Fpu64.MulAdd(f[ins.Rs1] ^ SignBit64, f[ins.Rs2], f[ins.Rs3], rm, ref flags);
                break;
            case Opcode.FnmaddD:
                f[ins.Rd] = Fpu64.MulAdd(f[ins.Rs1] ^ SignBit64, f[ins.Rs2], f[ins.Rs3] ^ SignBit64, rm, ref flags);
                break;
            case Opcode.FaddD:
                f[ins.Rd] = Fpu64.Add(f[ins.Rs1], f[ins.Rs2], rm, ref flags);
                break;
            case Opcode.FsubD:
                f[ins.Rd] = Fpu64.Sub(f[ins.Rs1], f[ins.Rs2], rm, ref flags);
                break;
            case Opcode.FmulD:
                f[ins.Rd] = Fpu64.Mul(f[ins.Rs1], f[ins.Rs2], rm, ref flags);
                break;
            case Opcode.FdivD:
                f[ins.Rd] = Fpu64.Div(f[ins.Rs1], f[ins.Rs2], rm, ref flags);
                break;
            case Opcode.FsqrtD:
                f[ins.Rd] = Fpu64.Sqrt(f[ins.Rs1], rm, ref flags);
                break;
            case Opcode.FsgnjD:
                f[ins.Rd] = (f[ins.Rs1] & ~SignBit64) | (f[ins.Rs2] & SignBit64);
                break;
            case Opcode.FsgnjnD:
                f[ins.Rd] = (f[ins.Rs1] & ~SignBit64) | (~f[ins.Rs2] & SignBit64);
                break;
            case Opcode.FsgnjxD:
                f[ins.Rd] = f[ins.Rs1] ^ (f[ins.Rs2] & SignBit64);
                break;
            case Opcode.FminD:
                f[ins.Rd] = Fpu64.Min(f[ins.Rs1], f[ins.Rs2], ref flags);
                break;
            case Opcode.FmaxD:
                f[ins.Rd] = Fpu64.Max(f[ins.Rs1], f[ins.Rs2], ref flags);
                break;
            case Opcode.FcvtSD:
                f[ins.Rd] = NanBoxing.Box(Fpu64.ToSingle(f[ins.Rs1], rm, ref flags));
                break;
            case Opcode.FcvtDS:
                f[ins.Rd] = Fpu32.ToDouble(S(f, ins.Rs1), ref flags);
                break;
            case Opcode.FcvtWD:
                x[ins.Rd] = (ulong)(long)Fpu64.ToInt32(f[ins.Rs1], rm, ref flags);
                goto IntegerResult;
            case Opcode.FcvtWuD:
                x[ins.Rd] = SignExtend32(Fpu64.ToUInt32(f[ins.Rs1], rm, ref flags));
                goto IntegerResult;
            case Opcode.FcvtLD:
                x[ins.Rd] = (ulong)Fpu64.ToInt64(f[ins.Rs1], rm, ref flags);
                goto IntegerResult;
            case Opcode.FcvtLuD:
                x[ins.Rd] = Fpu64.ToUInt64(f[ins.Rs1], rm, ref flags);
                goto IntegerResult;
            case Opcode.FmvXD:
                x[ins.Rd] = f[ins.Rs1];
                return true;
            case Opcode.FclassD:
                x[ins.Rd] = Fpu64.Classify(f[ins.Rs1]);
                return true;
            case Opcode.FeqD:
                x[ins.Rd] = Fpu64.Equal(f[ins.Rs1], f[ins.Rs2], ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FltD:
                x[ins.Rd] = Fpu64.LessThan(f[ins.Rs1], f[ins.Rs2], ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FleD:
                x[ins.Rd] = Fpu64.LessOrEqual(f[ins.Rs1], f[ins.Rs2], ref flags) ? 1UL : 0UL;
                goto IntegerResult;
            case Opcode.FcvtDW:
                f[ins.Rd] = Fpu64.FromInt32((int)x[ins.Rs1], rm, ref flags);
                break;
            case Opcode.FcvtDWu:
                f[ins.Rd] = Fpu64.FromUInt32((uint)x[ins.Rs1], rm, ref flags);
                break;
            case Opcode.FcvtDL:
                f[ins.Rd] = Fpu64.FromInt64((long)x[ins.Rs1], rm, ref flags);
                break;
            case Opcode.FcvtDLu:
                f[ins.Rd] = Fpu64.FromUInt64(x[ins.Rs1], rm, ref flags);
                break;
            case Opcode.FmvDX:
                f[ins.Rd] = x[ins.Rs1];
                break;

            default:
                return Fault(ExceptionCause.IllegalInstruction, ins.Raw);
        }

        // An FP register was written.
        _fflags |= (byte)flags;
        MarkFloatDirty();
        return true;

    IntegerResult:
        // An integer register was written; only the flags change FP state.
        if (flags != FloatFlags.None)
        {
            _fflags |= (byte)flags;
            MarkFloatDirty();
        }

        return true;
    }

    private const uint SignBit32 = 0x8000_0000;
    private const ulong SignBit64 = 0x8000_0000_0000_0000;

    /// <summary>The single-precision value in an FP register (canonical NaN unless properly NaN-boxed).</summary>
    private static uint S(ulong* f, int index) => NanBoxing.Unbox(f[index]);
}
