using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The interpreter: fetches decoded instructions from the per-page decode cache and executes
/// them. The integer and memory instructions run inline in one loop with the pc in a local;
/// system instructions (CSRs, traps, fences, wfi) end the loop so that the run loop re-checks
/// interrupts after anything that may enable one. Nothing here allocates.
/// </summary>
public sealed unsafe partial class Hart
{
    /// <summary>
    /// Executes up to <paramref name="budget"/> instructions; returns how many were executed or
    /// trapped. With <paramref name="stopAtJumps"/> it also returns after the first jump or taken
    /// branch, so that the translator's dispatcher sees every block entry (<c>Jit/</c>).
    /// </summary>
    private int Interpret(int budget, bool stopAtJumps = false)
    {
        HartState* s = _s;
        ulong* x = s->X;
        ulong pc = s->Pc;
        int executed = 0;
        Instruction[]?[]? slots = _fetchSlots;
        ulong fetchPage = _fetchVirtualPage;

        while (executed < budget)
        {
            if ((pc & ~PageOffsetMask) != fetchPage)
            {
                if (!SetFetchPage(pc))
                {
                    return TrapAt(pc, executed);
                }

                slots = _fetchSlots;
                fetchPage = _fetchVirtualPage;
            }

            ref Instruction slot = ref DecodeCache.Slot(slots!, (int)((pc & PageOffsetMask) >> 1));
            if (!DecodeCache.TryRead(ref slot, out Instruction ins))
            {
                if (!DecodeAt(pc, out bool cached, out Instruction uncached))
                {
                    return TrapAt(pc, executed);
                }

                ins = cached ? slot : uncached;
            }

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
                    next = pc + (ulong)(long)ins.Imm;
                    if (_attention != 0 || stopAtJumps)
                    {
                        executed++;
                        pc = next;
                        goto Leave;
                    }

                    break;
                case Opcode.Jalr:
                {
                    ulong target = (x[ins.Rs1] + (ulong)(long)ins.Imm) & ~1UL;
                    x[ins.Rd] = next;
                    next = target;
                    if (_attention != 0 || stopAtJumps)
                    {
                        executed++;
                        pc = next;
                        goto Leave;
                    }

                    break;
                }

                case Opcode.Beq:
                    if (x[ins.Rs1] == x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;
                case Opcode.Bne:
                    if (x[ins.Rs1] != x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;
                case Opcode.Blt:
                    if ((long)x[ins.Rs1] < (long)x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;
                case Opcode.Bge:
                    if ((long)x[ins.Rs1] >= (long)x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;
                case Opcode.Bltu:
                    if (x[ins.Rs1] < x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;
                case Opcode.Bgeu:
                    if (x[ins.Rs1] >= x[ins.Rs2])
                    {
                        next = pc + (ulong)(long)ins.Imm;
                        goto TakenBranch;
                    }

                    break;

                case Opcode.Lb:
                {
                    if (!TryLoad8(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = (ulong)(long)(sbyte)v;
                    break;
                }

                case Opcode.Lh:
                {
                    if (!TryLoad16(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = (ulong)(long)(short)v;
                    break;
                }

                case Opcode.Lw:
                {
                    if (!TryLoad32(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = (ulong)(long)(int)v;
                    break;
                }

                case Opcode.Ld:
                {
                    if (!TryLoad64(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = v;
                    break;
                }

                case Opcode.Lbu:
                {
                    if (!TryLoad8(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = v;
                    break;
                }

                case Opcode.Lhu:
                {
                    if (!TryLoad16(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = v;
                    break;
                }

                case Opcode.Lwu:
                {
                    if (!TryLoad32(x[ins.Rs1] + (ulong)(long)ins.Imm, out ulong v))
                    {
                        return TrapAt(pc, executed);
                    }

                    x[ins.Rd] = v;
                    break;
                }

                case Opcode.Sb:
                    if (!TryStore8(x[ins.Rs1] + (ulong)(long)ins.Imm, x[ins.Rs2]))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;
                case Opcode.Sh:
                    if (!TryStore16(x[ins.Rs1] + (ulong)(long)ins.Imm, x[ins.Rs2]))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;
                case Opcode.Sw:
                    if (!TryStore32(x[ins.Rs1] + (ulong)(long)ins.Imm, x[ins.Rs2]))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;
                case Opcode.Sd:
                    if (!TryStore64(x[ins.Rs1] + (ulong)(long)ins.Imm, x[ins.Rs2]))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;

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
                case Opcode.Mulh:
                    x[ins.Rd] = MExtension.MulHigh(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Mulhsu:
                    x[ins.Rd] = MExtension.MulHighSignedUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Mulhu:
                    x[ins.Rd] = MExtension.MulHighUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Div:
                    x[ins.Rd] = MExtension.Div(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Divu:
                    x[ins.Rd] = MExtension.DivUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Rem:
                    x[ins.Rd] = MExtension.Rem(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Remu:
                    x[ins.Rd] = MExtension.RemUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Mulw:
                    x[ins.Rd] = (ulong)(long)((int)x[ins.Rs1] * (int)x[ins.Rs2]);
                    break;
                case Opcode.Divw:
                    x[ins.Rd] = MExtension.DivWord(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Divuw:
                    x[ins.Rd] = MExtension.DivWordUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Remw:
                    x[ins.Rd] = MExtension.RemWord(x[ins.Rs1], x[ins.Rs2]);
                    break;
                case Opcode.Remuw:
                    x[ins.Rd] = MExtension.RemWordUnsigned(x[ins.Rs1], x[ins.Rs2]);
                    break;

                case Opcode.Fence:
                    // Harts that share a host thread see memory in program order; harts on
                    // separate threads need a real barrier for RVWMO on the host.
                    Interlocked.MemoryBarrier();
                    break;

                case >= Opcode.LrW and <= Opcode.AmoMaxuD:
                    s->Pc = pc;
                    if (!ExecuteAtomic(in ins))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;

                case >= Opcode.Flw and <= Opcode.FmvDX:
                    s->Pc = pc;
                    if (!ExecuteFloat(in ins))
                    {
                        return TrapAt(pc, executed);
                    }

                    break;

                case Opcode.FenceI:
                case Opcode.Ecall:
                case Opcode.Ebreak:
                case >= Opcode.Csrrw and <= Opcode.Csrrci:
                case >= Opcode.Sret and <= Opcode.SfenceVma:
                case Opcode.Illegal:
                    _instret += (ulong)executed;
                    s->Pc = pc;
                    ExecuteSystem(in ins);
                    return executed + 1;

                default:
                    _instret += (ulong)executed;
                    s->Pc = pc;
                    RaiseException(ExceptionCause.IllegalInstruction, ins.Raw);
                    return executed + 1;
            }

            pc = next;
            executed++;
            continue;

        TakenBranch:
            pc = next;
            executed++;
            if (_attention != 0 || stopAtJumps)
            {
                goto Leave;
            }
        }

    Leave:
        s->Pc = pc;
        _instret += (ulong)executed;
        return executed;
    }

    /// <summary>Takes the fault recorded by the failed access of the instruction at <paramref name="pc"/>.</summary>
    private int TrapAt(ulong pc, int executed)
    {
        _s->Pc = pc;
        _instret += (ulong)executed;
        RaisePendingFault();
        return executed + 1;
    }

    /// <summary>
    /// Executes a system instruction (CSR access, ecall, ebreak, xRET, wfi, fences, illegal) with
    /// the pc of the instruction in the state. Takes any resulting trap itself.
    /// </summary>
    private void ExecuteSystem(in Instruction ins)
    {
        ulong pc = _s->Pc;
        ulong next = pc + ins.Length;
        ulong* x = _s->X;
        switch (ins.Op)
        {
            case Opcode.Csrrw:
            case Opcode.Csrrwi:
            {
                ulong operand = ins.Op == Opcode.Csrrw ? x[ins.Rs1] : ins.Rs1;
                ulong old = 0;
                if (ins.Rd != Instruction.ZeroSink && !TryReadCsr(ins.Imm, out old))
                {
                    goto Illegal;
                }

                if (!TryWriteCsr(ins.Imm, operand))
                {
                    goto Illegal;
                }

                x[ins.Rd] = old;
                break;
            }

            case Opcode.Csrrs:
            case Opcode.Csrrc:
            case Opcode.Csrrsi:
            case Opcode.Csrrci:
            {
                bool immediate = ins.Op is Opcode.Csrrsi or Opcode.Csrrci;
                ulong operand = immediate ? ins.Rs1 : x[ins.Rs1];
                if (!TryReadCsr(ins.Imm, out ulong old))
                {
                    goto Illegal;
                }

                // With rs1 = x0 (or uimm = 0) nothing is written, so read-only CSRs are fine.
                if (ins.Rs1 != 0)
                {
                    // Only the software-writable SEIP bit takes part in a read-modify-write of
                    // mip; otherwise the PLIC's line would be latched into it (priv. spec 3.1.9).
                    ulong basis = ins.Imm == 0x344 ? SoftwareMipForModify(old) : old;
                    ulong updated = ins.Op is Opcode.Csrrs or Opcode.Csrrsi ? basis | operand : basis & ~operand;
                    if (!TryWriteCsr(ins.Imm, updated))
                    {
                        goto Illegal;
                    }
                }

                x[ins.Rd] = old;
                break;
            }

            case Opcode.Ecall:
                if (_privilege == PrivilegeLevel.Supervisor && _processor.BuiltinFirmware)
                {
                    _processor.Firmware!.HandleEcall(this);
                    break;
                }

                RaiseException(_privilege switch
                {
                    PrivilegeLevel.User => ExceptionCause.EcallFromUser,
                    PrivilegeLevel.Supervisor => ExceptionCause.EcallFromSupervisor,
                    _ => ExceptionCause.EcallFromMachine,
                }, 0);
                return;

            case Opcode.Ebreak:
                RaiseException(ExceptionCause.Breakpoint, pc);
                return;

            case Opcode.Mret:
                if (!ReturnFromMachine())
                {
                    goto Illegal;
                }

                _instret++;
                return;

            case Opcode.Sret:
                if (!ReturnFromSupervisor())
                {
                    goto Illegal;
                }

                _instret++;
                return;

            case Opcode.Wfi:
                if (_privilege == PrivilegeLevel.User ||
                    (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusTw) != 0))
                {
                    goto Illegal;
                }

                _s->Pc = next;
                _instret++;
                if (!InterruptPendingForWakeup())
                {
                    RunState = HartRunState.WaitingForInterrupt;
                }

                return;

            case Opcode.SfenceVma:
                if (_privilege == PrivilegeLevel.User ||
                    (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusTvm) != 0))
                {
                    goto Illegal;
                }

                {
                    // rs2 = x0 covers every address space; otherwise only the ASID in rs2 (bits
                    // above ASIDLEN ignored), whose global mappings need not be flushed either.
                    ulong? asid = ins.Rs2 == 0 ? null : x[ins.Rs2] & SatpAsidMask;
                    if (ins.Rs1 == 0)
                    {
                        if (asid is null) { FencesAll++; } else { FencesAsid++; }
                        FlushTranslatedTlb(asid);
                    }
                    else
                    {
                        if (asid is null) { FencesPage++; } else { FencesPageAsid++; }
                        FlushTlbPage(x[ins.Rs1], asid);
                    }
                }

                break;

            case Opcode.FenceI:
                // Every write to a page holding decoded code invalidates it already (the decode
                // cache is coherent), so fence.i only has to refetch.
                InvalidateFetchPage();
                break;

            default:
                goto Illegal;
        }

        _s->Pc = next;
        _instret++;
        return;

    Illegal:
        RaiseException(ExceptionCause.IllegalInstruction, ins.Raw);
    }
}
