using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Jit;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The first tier's executor: runs a <see cref="FirstTierBlock"/>, whose instructions were
/// decoded once, with the interpreter's semantics (registers in the state, memory through the
/// same TLB fast paths and slow paths, so dirty logging and code-page tracking see every store)
/// but without the interpreter's per-instruction fetch: no page check, no decode-cache read, no
/// budget test. It reports what happened as a translated block does (<see cref="BlockExit"/>).
/// </summary>
public sealed unsafe partial class Hart
{
    /// <summary>
    /// Runs <paramref name="block"/> from the pc in the state (which lies in the block's page, at
    /// its entry). Returns the instructions retired, with <see cref="BlockExit.InterpretNextFlag"/>
    /// when the interpreter must run the next one, or <c>-(n + 1)</c> after a trap at
    /// instruction n + 1 (the trap taken). Direct exits leave their link slot in <see cref="_chainExit"/>.
    /// </summary>
    private int RunFirstTier(FirstTierBlock block)
    {
        HartState* s = _s;
        ulong* x = s->X;
        ulong pc = s->Pc;
        Instruction[] instructions = block.Instructions;
        ref Instruction first = ref MemoryMarshal.GetArrayDataReference(instructions);
        int count = instructions.Length;
        for (int i = 0; i < count; i++)
        {
            // Safe: i < instructions.Length.
            ref Instruction ins = ref Unsafe.Add(ref first, i);
            ulong next = pc + ins.Length;
            switch (ins.Op)
            {
                case Opcode.Lui:
                    x[ins.Rd] = (ulong)(long)ins.Imm;
                    break;
                case Opcode.Auipc:
                    x[ins.Rd] = pc + (ulong)(long)ins.Imm;
                    break;
                case Opcode.Jal:
                    x[ins.Rd] = next;
                    return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                case Opcode.Jalr:
                {
                    ulong target = (x[ins.Rs1] + (ulong)(long)ins.Imm) & ~1UL;
                    x[ins.Rd] = next;
                    return LeaveFirstTier(s, target, -1, i + 1); // indirect: no link slot
                }

                case Opcode.Beq:
                    if (x[ins.Rs1] == x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;
                case Opcode.Bne:
                    if (x[ins.Rs1] != x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;
                case Opcode.Blt:
                    if ((long)x[ins.Rs1] < (long)x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;
                case Opcode.Bge:
                    if ((long)x[ins.Rs1] >= (long)x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;
                case Opcode.Bltu:
                    if (x[ins.Rs1] < x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;
                case Opcode.Bgeu:
                    if (x[ins.Rs1] >= x[ins.Rs2])
                    {
                        return LeaveFirstTier(s, pc + (ulong)(long)ins.Imm, ins.Rs3, i + 1);
                    }

                    break;

                case >= Opcode.Lb and <= Opcode.Lwu:
                {
                    ulong address = x[ins.Rs1] + (ulong)(long)ins.Imm;
                    ulong v;
                    bool loaded = ins.Op switch
                    {
                        Opcode.Lb or Opcode.Lbu => TryLoad8(address, out v),
                        Opcode.Lh or Opcode.Lhu => TryLoad16(address, out v),
                        Opcode.Lw or Opcode.Lwu => TryLoad32(address, out v),
                        _ => TryLoad64(address, out v),
                    };
                    if (!loaded)
                    {
                        return FirstTierFault(s, pc, i);
                    }

                    x[ins.Rd] = ins.Op switch
                    {
                        Opcode.Lb => (ulong)(long)(sbyte)v,
                        Opcode.Lh => (ulong)(long)(short)v,
                        Opcode.Lw => (ulong)(long)(int)v,
                        _ => v,
                    };
                    break;
                }

                case >= Opcode.Sb and <= Opcode.Sd:
                {
                    ulong address = x[ins.Rs1] + (ulong)(long)ins.Imm;
                    ulong value = x[ins.Rs2];
                    bool stored = ins.Op switch
                    {
                        Opcode.Sb => TryStore8(address, value),
                        Opcode.Sh => TryStore16(address, value),
                        Opcode.Sw => TryStore32(address, value),
                        _ => TryStore64(address, value),
                    };
                    if (!stored)
                    {
                        return FirstTierFault(s, pc, i);
                    }

                    if (_translatedCodeWritten != 0)
                    {
                        // The store dropped translated code, maybe this very block: go on from a
                        // fresh decode of the next instruction.
                        _translatedCodeWritten = 0;
                        return LeaveFirstTier(s, next, -1, i + 1);
                    }

                    break;
                }

                case Opcode.Addi:
                    x[ins.Rd] = x[ins.Rs1] + (ulong)(long)ins.Imm;
                    break;
                case Opcode.Slti:
                    x[ins.Rd] = (long)x[ins.Rs1] < ins.Imm ? 1UL : 0UL;
                    break;
                case Opcode.Sltiu:
                    x[ins.Rd] = x[ins.Rs1] < (ulong)(long)ins.Imm ? 1UL : 0UL;
                    break;
                case Opcode.Xori:
                    x[ins.Rd] = x[ins.Rs1] ^ (ulong)(long)ins.Imm;
                    break;
                case Opcode.Ori:
                    x[ins.Rd] = x[ins.Rs1] | (ulong)(long)ins.Imm;
                    break;
                case Opcode.Andi:
                    x[ins.Rd] = x[ins.Rs1] & (ulong)(long)ins.Imm;
                    break;
                case Opcode.Slli:
                    x[ins.Rd] = x[ins.Rs1] << ins.Imm;
                    break;
                case Opcode.Srli:
                    x[ins.Rd] = x[ins.Rs1] >> ins.Imm;
                    break;
                case Opcode.Srai:
                    x[ins.Rd] = (ulong)((long)x[ins.Rs1] >> ins.Imm);
                    break;

                case Opcode.Add:
                    x[ins.Rd] = x[ins.Rs1] + x[ins.Rs2];
                    break;
                case Opcode.Sub:
                    x[ins.Rd] = x[ins.Rs1] - x[ins.Rs2];
                    break;
                case Opcode.Sll:
                    x[ins.Rd] = x[ins.Rs1] << (int)(x[ins.Rs2] & 63);
                    break;
                case Opcode.Slt:
                    x[ins.Rd] = (long)x[ins.Rs1] < (long)x[ins.Rs2] ? 1UL : 0UL;
                    break;
                case Opcode.Sltu:
                    x[ins.Rd] = x[ins.Rs1] < x[ins.Rs2] ? 1UL : 0UL;
                    break;
                case Opcode.Xor:
                    x[ins.Rd] = x[ins.Rs1] ^ x[ins.Rs2];
                    break;
                case Opcode.Srl:
                    x[ins.Rd] = x[ins.Rs1] >> (int)(x[ins.Rs2] & 63);
                    break;
                case Opcode.Sra:
                    x[ins.Rd] = (ulong)((long)x[ins.Rs1] >> (int)(x[ins.Rs2] & 63));
                    break;
                case Opcode.Or:
                    x[ins.Rd] = x[ins.Rs1] | x[ins.Rs2];
                    break;
                case Opcode.And:
                    x[ins.Rd] = x[ins.Rs1] & x[ins.Rs2];
                    break;

                case Opcode.Addiw:
                    x[ins.Rd] = SignExtend32(x[ins.Rs1] + (ulong)(long)ins.Imm);
                    break;
                case Opcode.Slliw:
                    x[ins.Rd] = SignExtend32((uint)x[ins.Rs1] << ins.Imm);
                    break;
                case Opcode.Srliw:
                    x[ins.Rd] = SignExtend32((uint)x[ins.Rs1] >> ins.Imm);
                    break;
                case Opcode.Sraiw:
                    x[ins.Rd] = (ulong)(long)((int)x[ins.Rs1] >> ins.Imm);
                    break;
                case Opcode.Addw:
                    x[ins.Rd] = SignExtend32(x[ins.Rs1] + x[ins.Rs2]);
                    break;
                case Opcode.Subw:
                    x[ins.Rd] = SignExtend32(x[ins.Rs1] - x[ins.Rs2]);
                    break;
                case Opcode.Sllw:
                    x[ins.Rd] = SignExtend32((uint)x[ins.Rs1] << (int)(x[ins.Rs2] & 31));
                    break;
                case Opcode.Srlw:
                    x[ins.Rd] = SignExtend32((uint)x[ins.Rs1] >> (int)(x[ins.Rs2] & 31));
                    break;
                case Opcode.Sraw:
                    x[ins.Rd] = (ulong)(long)((int)x[ins.Rs1] >> (int)(x[ins.Rs2] & 31));
                    break;

                case Opcode.Mul:
                    x[ins.Rd] = x[ins.Rs1] * x[ins.Rs2];
                    break;
                case Opcode.Mulw:
                    x[ins.Rd] = (ulong)(long)((int)x[ins.Rs1] * (int)x[ins.Rs2]);
                    break;
                case >= Opcode.Mulh and <= Opcode.Remuw:
                    x[ins.Rd] = MultiplyOrDivide(ins.Op, x[ins.Rs1], x[ins.Rs2]);
                    break;

                case Opcode.Fence:
                    Interlocked.MemoryBarrier(); // as in the interpreter: harts on other threads
                    break;

                case >= Opcode.LrW and <= Opcode.AmoMaxuD:
                    s->Pc = pc;
                    if (!ExecuteAtomic(in ins))
                    {
                        return FirstTierFault(s, pc, i);
                    }

                    if (_translatedCodeWritten != 0)
                    {
                        _translatedCodeWritten = 0;
                        return LeaveFirstTier(s, next, -1, i + 1);
                    }

                    break;

                case >= Opcode.Flw and <= Opcode.FmvDX:
                    s->Pc = pc;
                    if (!ExecuteFloat(in ins))
                    {
                        return FirstTierFault(s, pc, i);
                    }

                    if (_translatedCodeWritten != 0)
                    {
                        _translatedCodeWritten = 0;
                        return LeaveFirstTier(s, next, -1, i + 1);
                    }

                    break;

                default:
                    // The builder takes only what BlockCompiler.CanTranslate accepts.
                    throw new InvalidOperationException($"The first tier has no code for {ins.Op}.");
            }

            pc = next;
        }

        s->Pc = pc;
        if (block.InterpretNext)
        {
            return count | BlockExit.InterpretNextFlag;
        }

        _chainExit = block.EndSlot;
        return count;
    }

    private int LeaveFirstTier(HartState* s, ulong next, int slot, int retired)
    {
        s->Pc = next;
        _chainExit = slot;
        return retired;
    }

    /// <summary>The access of instruction <paramref name="index"/> failed: take its trap.</summary>
    private int FirstTierFault(HartState* s, ulong pc, int index)
    {
        s->Pc = pc;
        RaisePendingFault();
        return -(index + 1);
    }

    /// <summary>The M extension's operations with corner cases (high products, divisions), as the interpreter does them.</summary>
    private static ulong MultiplyOrDivide(Opcode op, ulong a, ulong b) => op switch
    {
        Opcode.Mulh => MExtension.MulHigh(a, b),
        Opcode.Mulhsu => MExtension.MulHighSignedUnsigned(a, b),
        Opcode.Mulhu => MExtension.MulHighUnsigned(a, b),
        Opcode.Div => MExtension.Div(a, b),
        Opcode.Divu => MExtension.DivUnsigned(a, b),
        Opcode.Rem => MExtension.Rem(a, b),
        Opcode.Remu => MExtension.RemUnsigned(a, b),
        Opcode.Divw => MExtension.DivWord(a, b),
        Opcode.Divuw => MExtension.DivWordUnsigned(a, b),
        Opcode.Remw => MExtension.RemWord(a, b),
        _ => MExtension.RemWordUnsigned(a, b),
    };
}
