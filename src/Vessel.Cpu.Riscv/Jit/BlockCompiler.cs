using System.Reflection;
using System.Reflection.Emit;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;
using Access = Vessel.Cpu.Riscv.Hart.TranslatedCode;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// Turns a <see cref="Region"/> into a <see cref="BlockFunction"/>: a
/// <see cref="DynamicMethod"/> (collectible once no block refers to it) whose IL keeps the
/// guest's integer registers in locals, runs the region's loops as IL loops, and does loads and
/// stores through the hart's software TLB inline.
/// </summary>
/// <remarks>
/// <para>
/// Layout: the prologue loads every register the region uses into its local and the TLB table
/// pointers; the body follows in address order; everything rare (TLB misses, traps, exits,
/// loop-back checks) is emitted after the body, so that the hot path is straight-line code.
/// </para>
/// <para>
/// Registers are written back to <see cref="HartState"/> at the two common exits (leaving the
/// region, and taking a trap) and nowhere else: nothing in between looks at them (the TLB slow
/// paths and MMIO do not). Instructions are counted once per basic block; a trap in the middle
/// of a block subtracts the instructions that did not run.
/// </para>
/// <para>
/// The code depends on the virtual page only through the pc, which it reads on entry, so the
/// same translation serves every virtual mapping of the physical page.
/// </para>
/// </remarks>
internal sealed unsafe class BlockCompiler
{
    private const int PageSize = (int)GuestMemory.PageSize;

    private static readonly Type[] s_parameters = [typeof(Hart), typeof(HartState*), typeof(int)];
    private static readonly MethodInfo s_memoryBarrier = typeof(Interlocked).GetMethod(nameof(Interlocked.MemoryBarrier), Type.EmptyTypes)!;

    private readonly Region _region;
    private readonly RegionInstruction[] _instructions;
    private readonly int[] _indexByHalfword = new int[PageSize / 2];
    private readonly DynamicMethod _method;
    private readonly ILGenerator _il;
    private readonly LocalBuilder?[] _registers = new LocalBuilder?[32];
    private readonly bool[] _written = new bool[32];
    private readonly Label[] _labels;
    private readonly bool[] _leader;
    private readonly int[] _remainingInBlock;
    private readonly Dictionary<(long Target, int Uncount), Label> _exitStubs = [];
    private readonly Dictionary<int, Label> _loopStubs = [];
    private readonly Dictionary<long, int> _linkSlots = [];
    private readonly List<Action> _coldCode = [];

    private LocalBuilder _pageBase = null!;
    private LocalBuilder _executed = null!;
    private LocalBuilder _loadTable = null!;
    private LocalBuilder _storeTable = null!;
    private LocalBuilder _address = null!;
    private LocalBuilder _entry = null!;
    private LocalBuilder _scratch = null!;
    private LocalBuilder _nextPc = null!;
    private LocalBuilder _exitFlags = null!;
    private LocalBuilder _faultRetired = null!;
    private LocalBuilder _faultOffset = null!;
    private Label _exit;
    private Label _exitToInterpreter;
    private Label _trap;

    private BlockCompiler(Region region, ulong physicalAddress)
    {
        _region = region;
        _instructions = region.Instructions;
        Array.Fill(_indexByHalfword, -1);
        for (int i = 0; i < _instructions.Length; i++)
        {
            _indexByHalfword[_instructions[i].Offset >> 1] = i;
        }

        _method = new DynamicMethod($"riscv_{physicalAddress:x}", typeof(int), s_parameters, typeof(Hart), skipVisibility: true);
        _il = _method.GetILGenerator(256 + (_instructions.Length * 48));
        _labels = new Label[_instructions.Length];
        _leader = new bool[_instructions.Length];
        _remainingInBlock = new int[_instructions.Length];
    }

    /// <summary>Whether the translator handles <paramref name="op"/> itself (everything else is left to the interpreter).</summary>
    public static bool CanTranslate(Opcode op) => op switch
    {
        >= Opcode.Lui and <= Opcode.Sraw => true,
        Opcode.Fence => true,
        >= Opcode.Mul and <= Opcode.Remuw => true,
        >= Opcode.LrW and <= Opcode.AmoMaxuD => true,
        >= Opcode.Flw and <= Opcode.FmvDX => true,
        _ => false,
    };

    private static bool IsAtomic(Opcode op) => op is >= Opcode.LrW and <= Opcode.AmoMaxuD;

    private static bool IsFloat(Opcode op) => op is >= Opcode.Flw and <= Opcode.FmvDX;

    /// <summary>Whether an F/D instruction reads integer register rs1 (address bases and conversions from integers).</summary>
    private static bool FloatReadsInteger(Opcode op) => op is Opcode.Flw or Opcode.Fsw or Opcode.Fld or Opcode.Fsd
        or Opcode.FcvtSW or Opcode.FcvtSWu or Opcode.FcvtSL or Opcode.FcvtSLu or Opcode.FmvWX
        or Opcode.FcvtDW or Opcode.FcvtDWu or Opcode.FcvtDL or Opcode.FcvtDLu or Opcode.FmvDX;

    /// <summary>Whether an F/D instruction writes integer register rd (conversions to integers, moves, compares, classify).</summary>
    private static bool FloatWritesInteger(Opcode op) => op is >= Opcode.FcvtWS and <= Opcode.FleS
        or >= Opcode.FcvtWD and <= Opcode.FleD;

    /// <summary>
    /// Compiles <paramref name="region"/>; <paramref name="ilBytes"/> receives the size of the
    /// IL (for the cache bound), <paramref name="exitCount"/> the number of direct exits, which
    /// the code reports through the hart's chain-exit field (link slots 0 to exitCount - 1).
    /// </summary>
    public static BlockFunction Compile(Region region, ulong physicalAddress, out int ilBytes, out int exitCount)
    {
        var compiler = new BlockCompiler(region, physicalAddress);
        compiler.EmitMethod();
        ilBytes = compiler._il.ILOffset;
        exitCount = compiler._linkSlots.Count;
        return compiler._method.CreateDelegate<BlockFunction>();
    }

    private void EmitMethod()
    {
        Analyse();
        DeclareLocals();
        EmitPrologue();
        for (int i = 0; i < _instructions.Length; i++)
        {
            _il.MarkLabel(_labels[i]);
            if (_leader[i])
            {
                // Count the whole basic block on entry; exits from its middle subtract the rest.
                _il.Emit(OpCodes.Ldloc, _executed);
                EmitInt(_remainingInBlock[i]);
                _il.Emit(OpCodes.Add);
                _il.Emit(OpCodes.Stloc, _executed);
            }

            EmitInstruction(i);
        }

        // Cold code may ask for more stubs while it is emitted, so drain until nothing is left.
        for (int i = 0; i < _coldCode.Count; i++)
        {
            _coldCode[i]();
        }

        EmitExits();
    }

    // ------------------------------------------------------------------ analysis

    private void Analyse()
    {
        var targeted = new bool[_instructions.Length];
        for (int i = 0; i < _instructions.Length; i++)
        {
            Instruction ins = _instructions[i].Instruction;
            if (IsBranch(ins.Op) || ins.Op == Opcode.Jal)
            {
                int target = IndexOf(_instructions[i].Offset + (long)ins.Imm);
                if (target >= 0)
                {
                    targeted[target] = true;
                }
            }

            NoteRegisters(ins);
        }

        int entry = IndexOf(_region.EntryOffset);
        for (int i = 0; i < _instructions.Length; i++)
        {
            _labels[i] = _il.DefineLabel();
            _leader[i] = i == 0 || i == entry || targeted[i] || !FallsInto(i - 1, i);
        }

        // Instructions from each one to the end of its basic block, inclusive.
        for (int i = _instructions.Length - 1; i >= 0; i--)
        {
            _remainingInBlock[i] = i + 1 < _instructions.Length && !_leader[i + 1] ? _remainingInBlock[i + 1] + 1 : 1;
        }
    }

    /// <summary>Whether instruction <paramref name="from"/> continues straight into <paramref name="to"/> without a control transfer.</summary>
    private bool FallsInto(int from, int to)
    {
        Opcode op = _instructions[from].Instruction.Op;
        return !IsBranch(op) && op is not (Opcode.Jal or Opcode.Jalr) && _instructions[from].NextOffset == _instructions[to].Offset;
    }

    private void NoteRegisters(in Instruction ins)
    {
        switch (ins.Op)
        {
            case Opcode.Lui or Opcode.Auipc or Opcode.Jal:
                NoteWrite(ins.Rd);
                break;
            case Opcode.Fence:
                break;
            case >= Opcode.LrW and <= Opcode.AmoMaxuD:
                NoteRead(ins.Rs1);
                NoteRead(ins.Rs2);
                NoteWrite(ins.Rd);
                break;
            case >= Opcode.Flw and <= Opcode.FmvDX:
                if (FloatReadsInteger(ins.Op))
                {
                    NoteRead(ins.Rs1);
                }

                if (FloatWritesInteger(ins.Op))
                {
                    NoteWrite(ins.Rd);
                }

                break;
            case >= Opcode.Beq and <= Opcode.Bgeu:
            case >= Opcode.Sb and <= Opcode.Sd:
                NoteRead(ins.Rs1);
                NoteRead(ins.Rs2);
                break;
            case Opcode.Jalr:
            case >= Opcode.Lb and <= Opcode.Lwu:
            case >= Opcode.Addi and <= Opcode.Srai:
            case >= Opcode.Addiw and <= Opcode.Sraiw:
                NoteRead(ins.Rs1);
                NoteWrite(ins.Rd);
                break;
            default: // register-register operations
                NoteRead(ins.Rs1);
                NoteRead(ins.Rs2);
                NoteWrite(ins.Rd);
                break;
        }
    }

    private void NoteRead(int register)
    {
        if (register is > 0 and < 32)
        {
            _registers[register] ??= _il.DeclareLocal(typeof(ulong));
        }
    }

    private void NoteWrite(int register)
    {
        if (register is > 0 and < 32)
        {
            NoteRead(register); // written back on every exit, so it must hold the old value until written
            _written[register] = true;
        }
    }

    private int IndexOf(long offset) => offset >= 0 && offset < PageSize && (offset & 1) == 0 ? _indexByHalfword[offset >> 1] : -1;

    private static bool IsBranch(Opcode op) => op is >= Opcode.Beq and <= Opcode.Bgeu;

    // ------------------------------------------------------------------ prologue and exits

    private void DeclareLocals()
    {
        _pageBase = _il.DeclareLocal(typeof(ulong));
        _executed = _il.DeclareLocal(typeof(int));
        _loadTable = _il.DeclareLocal(typeof(nint));
        _storeTable = _il.DeclareLocal(typeof(nint));
        _address = _il.DeclareLocal(typeof(ulong));
        _entry = _il.DeclareLocal(typeof(nint));
        _scratch = _il.DeclareLocal(typeof(ulong));
        _nextPc = _il.DeclareLocal(typeof(ulong));
        _exitFlags = _il.DeclareLocal(typeof(int));
        _faultRetired = _il.DeclareLocal(typeof(int));
        _faultOffset = _il.DeclareLocal(typeof(long));
        _exit = _il.DefineLabel();
        _exitToInterpreter = _il.DefineLabel();
        _trap = _il.DefineLabel();
    }

    private void EmitPrologue()
    {
        // pageBase = state->Pc & ~0xfff: the virtual page this run of the region executes in.
        EmitStatePointer(Access.PcOffset);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Ldc_I8, Access.PageMask);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Stloc, _pageBase);

        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Access.LoadTable);
        _il.Emit(OpCodes.Stloc, _loadTable);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Access.StoreTable);
        _il.Emit(OpCodes.Stloc, _storeTable);

        for (int r = 1; r < 32; r++)
        {
            if (_registers[r] is { } local)
            {
                EmitStatePointer(r * sizeof(ulong));
                _il.Emit(OpCodes.Ldind_I8);
                _il.Emit(OpCodes.Stloc, local);
            }
        }

        int entry = IndexOf(_region.EntryOffset);
        if (entry != 0)
        {
            _il.Emit(OpCodes.Br, _labels[entry]);
        }
    }

    private void EmitExits()
    {
        // Leaving towards an instruction the interpreter must run.
        _il.MarkLabel(_exitToInterpreter);
        EmitInt(BlockExit.InterpretNextFlag);
        _il.Emit(OpCodes.Stloc, _exitFlags);

        // Ordinary exit: registers and pc back to the state; return what ran.
        _il.MarkLabel(_exit);
        EmitWriteBack();
        EmitStatePointer(Access.PcOffset);
        _il.Emit(OpCodes.Ldloc, _nextPc);
        _il.Emit(OpCodes.Stind_I8);
        _il.Emit(OpCodes.Ldloc, _executed);
        _il.Emit(OpCodes.Ldloc, _exitFlags);
        _il.Emit(OpCodes.Or);
        _il.Emit(OpCodes.Ret);

        // A memory access failed: registers back, pc of the faulting instruction, take the trap.
        _il.MarkLabel(_trap);
        EmitWriteBack();
        EmitStatePointer(Access.PcOffset);
        _il.Emit(OpCodes.Ldloc, _pageBase);
        _il.Emit(OpCodes.Ldloc, _faultOffset);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stind_I8);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Call, Access.RaisePendingFault);
        _il.Emit(OpCodes.Ldloc, _faultRetired);
        _il.Emit(OpCodes.Ldc_I4_1);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Neg);
        _il.Emit(OpCodes.Ret);
    }

    private void EmitWriteBack()
    {
        for (int r = 1; r < 32; r++)
        {
            if (_written[r])
            {
                EmitStatePointer(r * sizeof(ulong));
                _il.Emit(OpCodes.Ldloc, _registers[r]!);
                _il.Emit(OpCodes.Stind_I8);
            }
        }
    }

    /// <summary>Pushes <c>(byte*)state + offset</c>.</summary>
    private void EmitStatePointer(int offset)
    {
        _il.Emit(OpCodes.Ldarg_1);
        if (offset != 0)
        {
            EmitInt(offset);
            _il.Emit(OpCodes.Add);
        }
    }

    /// <summary>
    /// The label to branch to for control reaching <paramref name="targetOffset"/> from
    /// instruction <paramref name="from"/>: the target's own label for forward edges inside the
    /// region, a check of budget and attention for backward edges (every loop has one), an exit
    /// otherwise.
    /// </summary>
    private Label EdgeTo(int from, long targetOffset)
    {
        int target = IndexOf(targetOffset);
        if (target < 0)
        {
            return ExitTo(targetOffset, uncount: 0);
        }

        if (target > from)
        {
            return _labels[target];
        }

        if (!_loopStubs.TryGetValue(target, out Label stub))
        {
            stub = _il.DefineLabel();
            _loopStubs.Add(target, stub);
            _coldCode.Add(() =>
            {
                Label leave = ExitTo(targetOffset, uncount: 0);
                _il.MarkLabel(stub);
                _il.Emit(OpCodes.Ldloc, _executed);
                _il.Emit(OpCodes.Ldarg_2);
                _il.Emit(OpCodes.Bge, leave);
                _il.Emit(OpCodes.Ldarg_0);
                _il.Emit(OpCodes.Volatile);
                _il.Emit(OpCodes.Ldfld, Access.Attention);
                _il.Emit(OpCodes.Brtrue, leave);
                _il.Emit(OpCodes.Br, _labels[target]);
            });
        }

        return stub;
    }

    /// <summary>
    /// A stub that leaves the region towards <paramref name="targetOffset"/> (relative to the
    /// page base; may lie outside the page), after taking <paramref name="uncount"/> instructions
    /// that did not run off the count.
    /// </summary>
    private Label ExitTo(long targetOffset, int uncount)
    {
        if (_exitStubs.TryGetValue((targetOffset, uncount), out Label stub))
        {
            return stub;
        }

        stub = _il.DefineLabel();
        _exitStubs.Add((targetOffset, uncount), stub);
        bool interpret = targetOffset is >= 0 and < PageSize && _region.InterpretedOffsets.Contains((int)targetOffset);
        _coldCode.Add(() =>
        {
            _il.MarkLabel(stub);
            if (uncount != 0)
            {
                _il.Emit(OpCodes.Ldloc, _executed);
                EmitInt(uncount);
                _il.Emit(OpCodes.Sub);
                _il.Emit(OpCodes.Stloc, _executed);
            }

            _il.Emit(OpCodes.Ldloc, _pageBase);
            _il.Emit(OpCodes.Ldc_I8, targetOffset);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _nextPc);
            if (interpret)
            {
                _il.Emit(OpCodes.Br, _exitToInterpreter);
            }
            else
            {
                // A direct exit: tell the dispatcher which link slot caches its successor
                // (one slot per target, shared by the stubs that only differ in what they uncount).
                if (!_linkSlots.TryGetValue(targetOffset, out int slot))
                {
                    slot = _linkSlots.Count;
                    _linkSlots.Add(targetOffset, slot);
                }

                EmitSetChainExit(slot);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Stloc, _exitFlags);
                _il.Emit(OpCodes.Br, _exit);
            }
        });
        return stub;
    }

    /// <summary>Emits <c>hart._chainExit = slot</c>.</summary>
    private void EmitSetChainExit(int slot)
    {
        _il.Emit(OpCodes.Ldarg_0);
        EmitInt(slot);
        _il.Emit(OpCodes.Stfld, Access.ChainExit);
    }

    /// <summary>Emits the sequential continuation after instruction <paramref name="index"/>.</summary>
    private void EmitFallThrough(int index)
    {
        int next = _instructions[index].NextOffset;
        if (index + 1 < _instructions.Length && _instructions[index + 1].Offset == next)
        {
            return; // the next instruction in the layout
        }

        _il.Emit(OpCodes.Br, EdgeTo(index, next));
    }

    /// <summary>Cold code for a failing access of instruction <paramref name="index"/>: record where and take the trap.</summary>
    private void EmitFault(int index)
    {
        _il.Emit(OpCodes.Ldloc, _executed);
        EmitInt(_remainingInBlock[index]);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, _faultRetired);
        _il.Emit(OpCodes.Ldc_I8, (long)_instructions[index].Offset);
        _il.Emit(OpCodes.Stloc, _faultOffset);
        _il.Emit(OpCodes.Br, _trap);
    }

    // ------------------------------------------------------------------ instructions

    private void EmitInstruction(int index)
    {
        RegionInstruction current = _instructions[index];
        Instruction ins = current.Instruction;
        switch (ins.Op)
        {
            case Opcode.Lui:
                _il.Emit(OpCodes.Ldc_I8, (long)ins.Imm);
                StoreRegister(ins.Rd);
                break;
            case Opcode.Auipc:
                EmitPc(current.Offset + (long)ins.Imm);
                StoreRegister(ins.Rd);
                break;

            case Opcode.Jal:
                if (ins.Rd != Instruction.ZeroSink)
                {
                    EmitPc(current.NextOffset);
                    StoreRegister(ins.Rd);
                }

                _il.Emit(OpCodes.Br, EdgeTo(index, current.Offset + (long)ins.Imm));
                return;

            case Opcode.Jalr:
                // Target first: rd may be rs1.
                LoadRegister(ins.Rs1);
                EmitAddImmediate(ins.Imm);
                _il.Emit(OpCodes.Ldc_I8, ~1L);
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Stloc, _nextPc);
                if (ins.Rd != Instruction.ZeroSink)
                {
                    EmitPc(current.NextOffset);
                    StoreRegister(ins.Rd);
                }

                // An indirect exit: no link slot (a stale one would be overwritten with this
                // target and lose the successor it caches).
                EmitSetChainExit(-1);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Stloc, _exitFlags);
                _il.Emit(OpCodes.Br, _exit);
                return;

            case >= Opcode.Beq and <= Opcode.Bgeu:
                LoadRegister(ins.Rs1);
                LoadRegister(ins.Rs2);
                _il.Emit(
                    ins.Op switch
                    {
                        Opcode.Beq => OpCodes.Beq,
                        Opcode.Bne => OpCodes.Bne_Un,
                        Opcode.Blt => OpCodes.Blt,
                        Opcode.Bge => OpCodes.Bge,
                        Opcode.Bltu => OpCodes.Blt_Un,
                        _ => OpCodes.Bge_Un,
                    },
                    EdgeTo(index, current.Offset + (long)ins.Imm));
                break;

            case >= Opcode.Lb and <= Opcode.Lwu:
                EmitLoad(index, ins);
                break;
            case >= Opcode.Sb and <= Opcode.Sd:
                EmitStore(index, ins);
                break;

            case Opcode.Fence:
                // Harts on other host threads must see memory in RVWMO order.
                _il.Emit(OpCodes.Call, s_memoryBarrier);
                break;

            case >= Opcode.LrW and <= Opcode.AmoMaxuD:
            case >= Opcode.Flw and <= Opcode.FmvDX:
                EmitHelperInstruction(index, ins);
                break;

            default:
                EmitArithmetic(ins);
                break;
        }

        EmitFallThrough(index);
    }

    private void EmitArithmetic(in Instruction ins)
    {
        switch (ins.Op)
        {
            case Opcode.Addi:
                LoadRegister(ins.Rs1);
                EmitAddImmediate(ins.Imm);
                break;
            case Opcode.Slti:
                LoadRegister(ins.Rs1);
                _il.Emit(OpCodes.Ldc_I8, (long)ins.Imm);
                _il.Emit(OpCodes.Clt);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case Opcode.Sltiu:
                LoadRegister(ins.Rs1);
                _il.Emit(OpCodes.Ldc_I8, (long)ins.Imm);
                _il.Emit(OpCodes.Clt_Un);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case Opcode.Xori:
                EmitImmediateOperation(ins, OpCodes.Xor);
                break;
            case Opcode.Ori:
                EmitImmediateOperation(ins, OpCodes.Or);
                break;
            case Opcode.Andi:
                EmitImmediateOperation(ins, OpCodes.And);
                break;
            case Opcode.Slli:
                EmitShiftImmediate(ins, OpCodes.Shl);
                break;
            case Opcode.Srli:
                EmitShiftImmediate(ins, OpCodes.Shr_Un);
                break;
            case Opcode.Srai:
                EmitShiftImmediate(ins, OpCodes.Shr);
                break;

            case Opcode.Add:
                EmitRegisterOperation(ins, OpCodes.Add);
                break;
            case Opcode.Sub:
                EmitRegisterOperation(ins, OpCodes.Sub);
                break;
            case Opcode.Xor:
                EmitRegisterOperation(ins, OpCodes.Xor);
                break;
            case Opcode.Or:
                EmitRegisterOperation(ins, OpCodes.Or);
                break;
            case Opcode.And:
                EmitRegisterOperation(ins, OpCodes.And);
                break;
            case Opcode.Slt:
                EmitRegisterOperation(ins, OpCodes.Clt);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case Opcode.Sltu:
                EmitRegisterOperation(ins, OpCodes.Clt_Un);
                _il.Emit(OpCodes.Conv_U8);
                break;
            case Opcode.Sll:
                EmitShiftRegister(ins, OpCodes.Shl);
                break;
            case Opcode.Srl:
                EmitShiftRegister(ins, OpCodes.Shr_Un);
                break;
            case Opcode.Sra:
                EmitShiftRegister(ins, OpCodes.Shr);
                break;

            case Opcode.Addiw:
                LoadRegister(ins.Rs1);
                EmitAddImmediate(ins.Imm);
                EmitSignExtendWord();
                break;
            case Opcode.Slliw:
                EmitShiftImmediateWord(ins, OpCodes.Conv_U4, OpCodes.Shl);
                break;
            case Opcode.Srliw:
                EmitShiftImmediateWord(ins, OpCodes.Conv_U4, OpCodes.Shr_Un);
                break;
            case Opcode.Sraiw:
                EmitShiftImmediateWord(ins, OpCodes.Conv_I4, OpCodes.Shr);
                break;
            case Opcode.Addw:
                EmitRegisterOperation(ins, OpCodes.Add);
                EmitSignExtendWord();
                break;
            case Opcode.Subw:
                EmitRegisterOperation(ins, OpCodes.Sub);
                EmitSignExtendWord();
                break;
            case Opcode.Sllw:
                EmitShiftWord(ins, OpCodes.Shl, signedSource: false);
                break;
            case Opcode.Srlw:
                EmitShiftWord(ins, OpCodes.Shr_Un, signedSource: false);
                break;
            case Opcode.Sraw:
                EmitShiftWord(ins, OpCodes.Shr, signedSource: true);
                break;

            case Opcode.Mul:
                EmitRegisterOperation(ins, OpCodes.Mul);
                break;
            case Opcode.Mulw:
                LoadRegister(ins.Rs1);
                _il.Emit(OpCodes.Conv_I4);
                LoadRegister(ins.Rs2);
                _il.Emit(OpCodes.Conv_I4);
                _il.Emit(OpCodes.Mul);
                _il.Emit(OpCodes.Conv_I8);
                break;
            case Opcode.Mulh:
                EmitHelper(ins, nameof(MExtension.MulHigh));
                break;
            case Opcode.Mulhsu:
                EmitHelper(ins, nameof(MExtension.MulHighSignedUnsigned));
                break;
            case Opcode.Mulhu:
                EmitHelper(ins, nameof(MExtension.MulHighUnsigned));
                break;
            case Opcode.Div:
                EmitHelper(ins, nameof(MExtension.Div));
                break;
            case Opcode.Divu:
                EmitHelper(ins, nameof(MExtension.DivUnsigned));
                break;
            case Opcode.Rem:
                EmitHelper(ins, nameof(MExtension.Rem));
                break;
            case Opcode.Remu:
                EmitHelper(ins, nameof(MExtension.RemUnsigned));
                break;
            case Opcode.Divw:
                EmitHelper(ins, nameof(MExtension.DivWord));
                break;
            case Opcode.Divuw:
                EmitHelper(ins, nameof(MExtension.DivWordUnsigned));
                break;
            case Opcode.Remw:
                EmitHelper(ins, nameof(MExtension.RemWord));
                break;
            case Opcode.Remuw:
                EmitHelper(ins, nameof(MExtension.RemWordUnsigned));
                break;

            default:
                throw new InvalidOperationException($"The translator has no code for {ins.Op}.");
        }

        StoreRegister(ins.Rd);
    }

    /// <summary>
    /// slliw/srliw/sraiw: shift the low word of rs1 (taken as unsigned or signed, which decides
    /// what a right shift brings in) and sign-extend the 32-bit result.
    /// </summary>
    private void EmitShiftImmediateWord(in Instruction ins, OpCode toWord, OpCode shift)
    {
        LoadRegister(ins.Rs1);
        _il.Emit(toWord);
        EmitInt(ins.Imm);
        _il.Emit(shift);
        _il.Emit(OpCodes.Conv_I8);
    }

    private void EmitImmediateOperation(in Instruction ins, OpCode operation)
    {
        LoadRegister(ins.Rs1);
        _il.Emit(OpCodes.Ldc_I8, (long)ins.Imm);
        _il.Emit(operation);
    }

    private void EmitRegisterOperation(in Instruction ins, OpCode operation)
    {
        LoadRegister(ins.Rs1);
        LoadRegister(ins.Rs2);
        _il.Emit(operation);
    }

    private void EmitShiftImmediate(in Instruction ins, OpCode shift)
    {
        LoadRegister(ins.Rs1);
        EmitInt(ins.Imm & 63);
        _il.Emit(shift);
    }

    private void EmitShiftRegister(in Instruction ins, OpCode shift)
    {
        LoadRegister(ins.Rs1);
        LoadRegister(ins.Rs2);
        _il.Emit(OpCodes.Conv_I4);
        EmitInt(63);
        _il.Emit(OpCodes.And);
        _il.Emit(shift);
    }

    private void EmitShiftWord(in Instruction ins, OpCode shift, bool signedSource)
    {
        LoadRegister(ins.Rs1);
        _il.Emit(signedSource ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
        LoadRegister(ins.Rs2);
        _il.Emit(OpCodes.Conv_I4);
        EmitInt(31);
        _il.Emit(OpCodes.And);
        _il.Emit(shift);
        _il.Emit(OpCodes.Conv_I8);
    }

    private void EmitHelper(in Instruction ins, string name)
    {
        LoadRegister(ins.Rs1);
        LoadRegister(ins.Rs2);
        _il.Emit(OpCodes.Call, typeof(MExtension).GetMethod(name, BindingFlags.Static | BindingFlags.Public)!);
    }

    private void EmitSignExtendWord()
    {
        _il.Emit(OpCodes.Conv_I4);
        _il.Emit(OpCodes.Conv_I8);
    }

    // ------------------------------------------------------------------ memory

    private static int AccessSize(Opcode op) => op switch
    {
        Opcode.Lb or Opcode.Lbu or Opcode.Sb => 1,
        Opcode.Lh or Opcode.Lhu or Opcode.Sh => 2,
        Opcode.Lw or Opcode.Lwu or Opcode.Sw => 4,
        _ => 8,
    };

    /// <summary>
    /// Computes the address into <c>address</c> and the TLB entry into <c>entry</c>, and
    /// branches to <paramref name="miss"/> unless the entry maps the address for an aligned
    /// access of <paramref name="size"/> bytes (the tag compare keeps the address's low bits,
    /// so misaligned accesses miss too). This is the hart's <c>Lookup</c>, inline.
    /// </summary>
    private void EmitTlbLookup(in Instruction ins, LocalBuilder table, int size, Label miss)
    {
        LoadRegister(ins.Rs1);
        EmitAddImmediate(ins.Imm);
        _il.Emit(OpCodes.Stloc, _address);

        _il.Emit(OpCodes.Ldloc, table);
        _il.Emit(OpCodes.Ldloc, _address);
        EmitInt(Access.TlbEntryShift);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Ldc_I8, Access.TlbEntryOffsetMask);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _entry);

        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I8, Access.PageMask | (size - 1));
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldloc, _entry);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Bne_Un, miss);
    }

    /// <summary>Pushes the host pointer for the address whose TLB entry hit: <c>address + entry->Addend</c>.</summary>
    private void EmitHostPointer()
    {
        // Safe for the guest: an entry exists only for a RAM page inside the guest mapping, and
        // the tag compare proved the access lies inside that page.
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldloc, _entry);
        EmitInt(sizeof(ulong));
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Conv_I);
    }

    private void EmitLoad(int index, Instruction ins)
    {
        int size = AccessSize(ins.Op);
        Label miss = _il.DefineLabel();
        Label done = _il.DefineLabel();
        EmitTlbLookup(ins, _loadTable, size, miss);
        EmitHostPointer();

        // Volatile: guest memory is shared with other harts' threads, so the .NET JIT must not
        // cache or hoist the access (a guest spinning on a flag must see it change). On x86-64
        // this costs nothing: it is an ordinary move.
        _il.Emit(OpCodes.Volatile);
        switch (ins.Op)
        {
            case Opcode.Lb: _il.Emit(OpCodes.Ldind_I1); _il.Emit(OpCodes.Conv_I8); break;
            case Opcode.Lh: _il.Emit(OpCodes.Ldind_I2); _il.Emit(OpCodes.Conv_I8); break;
            case Opcode.Lw: _il.Emit(OpCodes.Ldind_I4); _il.Emit(OpCodes.Conv_I8); break;
            case Opcode.Ld: _il.Emit(OpCodes.Ldind_I8); break;
            case Opcode.Lbu: _il.Emit(OpCodes.Ldind_U1); _il.Emit(OpCodes.Conv_U8); break;
            case Opcode.Lhu: _il.Emit(OpCodes.Ldind_U2); _il.Emit(OpCodes.Conv_U8); break;
            default: _il.Emit(OpCodes.Ldind_U4); _il.Emit(OpCodes.Conv_U8); break;
        }

        StoreRegister(ins.Rd);
        _il.MarkLabel(done);

        _coldCode.Add(() =>
        {
            // TLB miss: the hart's slow path translates, fills the TLB, reads MMIO, splits
            // misaligned accesses, or records a fault.
            Label fault = _il.DefineLabel();
            _il.MarkLabel(miss);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldloc, _address);
            EmitInt(size);
            _il.Emit(OpCodes.Ldloca, _scratch);
            _il.Emit(OpCodes.Call, Access.LoadSlow);
            _il.Emit(OpCodes.Brfalse, fault);
            _il.Emit(OpCodes.Ldloc, _scratch);
            switch (ins.Op)
            {
                case Opcode.Lb: _il.Emit(OpCodes.Conv_I1); _il.Emit(OpCodes.Conv_I8); break;
                case Opcode.Lh: _il.Emit(OpCodes.Conv_I2); _il.Emit(OpCodes.Conv_I8); break;
                case Opcode.Lw: _il.Emit(OpCodes.Conv_I4); _il.Emit(OpCodes.Conv_I8); break;
            }

            StoreRegister(ins.Rd);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(fault);
            EmitFault(index);
        });
    }

    private void EmitStore(int index, Instruction ins)
    {
        int size = AccessSize(ins.Op);
        Label miss = _il.DefineLabel();
        Label done = _il.DefineLabel();
        EmitTlbLookup(ins, _storeTable, size, miss);
        EmitHostPointer();
        LoadRegister(ins.Rs2);
        switch (size)
        {
            case 1: _il.Emit(OpCodes.Conv_U1); break;
            case 2: _il.Emit(OpCodes.Conv_U2); break;
            case 4: _il.Emit(OpCodes.Conv_U4); break;
        }

        _il.Emit(OpCodes.Volatile); // as for loads
        _il.Emit(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });

        _il.MarkLabel(done);

        int following = _remainingInBlock[index] - 1;
        long nextOffset = _instructions[index].NextOffset;
        _coldCode.Add(() =>
        {
            // TLB miss: stores to pages holding code always come here, so this is also where a
            // block notices that it may have overwritten itself.
            Label fault = _il.DefineLabel();
            _il.MarkLabel(miss);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldloc, _address);
            EmitInt(size);
            LoadRegister(ins.Rs2);
            _il.Emit(OpCodes.Call, Access.StoreSlow);
            _il.Emit(OpCodes.Brfalse, fault);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, Access.CodeWritten);
            _il.Emit(OpCodes.Brfalse, done);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Stfld, Access.CodeWritten);
            _il.Emit(OpCodes.Br, ExitTo(nextOffset, following));
            _il.MarkLabel(fault);
            EmitFault(index);
        });
    }

    // ------------------------------------------------------------------ helper instructions

    /// <summary>
    /// An A or F/D instruction, run by the interpreter's code for it: the integer registers it
    /// reads go to the state first, the one it writes comes back after (FP registers always
    /// live in the state). It may fault, and its stores may hit code.
    /// </summary>
    private void EmitHelperInstruction(int index, Instruction ins)
    {
        bool atomic = IsAtomic(ins.Op);
        if (atomic || FloatReadsInteger(ins.Op))
        {
            SpillRegister(ins.Rs1);
        }

        if (atomic)
        {
            SpillRegister(ins.Rs2);
        }

        (ulong low, ulong high) = Hart.Pack(ins);
        Label fault = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldc_I8, (long)low);
        _il.Emit(OpCodes.Ldc_I8, (long)high);
        _il.Emit(OpCodes.Call, atomic ? Access.Atomic : Access.Float);
        _il.Emit(OpCodes.Brfalse, fault);

        if ((atomic || FloatWritesInteger(ins.Op)) && ins.Rd is > 0 and < 32)
        {
            EmitStatePointer(ins.Rd * sizeof(ulong));
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Stloc, _registers[ins.Rd]!);
        }

        if (atomic || ins.Op is Opcode.Fsw or Opcode.Fsd)
        {
            Label done = _il.DefineLabel();
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, Access.CodeWritten);
            _il.Emit(OpCodes.Brfalse, done);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Stfld, Access.CodeWritten);
            _il.Emit(OpCodes.Br, ExitTo(_instructions[index].NextOffset, _remainingInBlock[index] - 1));
            _il.MarkLabel(done);
        }

        _coldCode.Add(() =>
        {
            _il.MarkLabel(fault);
            EmitFault(index);
        });
    }

    /// <summary>Stores a register's local to the state, for code that reads registers there.</summary>
    private void SpillRegister(int register)
    {
        if (register is > 0 and < 32)
        {
            EmitStatePointer(register * sizeof(ulong));
            _il.Emit(OpCodes.Ldloc, _registers[register]!);
            _il.Emit(OpCodes.Stind_I8);
        }
    }

    // ------------------------------------------------------------------ operands

    private void LoadRegister(int register)
    {
        if (register == 0)
        {
            _il.Emit(OpCodes.Ldc_I8, 0L);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, _registers[register]!);
        }
    }

    private void StoreRegister(int register)
    {
        if (register is 0 or Instruction.ZeroSink)
        {
            _il.Emit(OpCodes.Pop);
        }
        else
        {
            _il.Emit(OpCodes.Stloc, _registers[register]!);
        }
    }

    /// <summary>Pushes the virtual address at <paramref name="offset"/> from the page base.</summary>
    private void EmitPc(long offset)
    {
        _il.Emit(OpCodes.Ldloc, _pageBase);
        _il.Emit(OpCodes.Ldc_I8, offset);
        _il.Emit(OpCodes.Add);
    }

    private void EmitAddImmediate(int immediate)
    {
        if (immediate != 0)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)immediate);
            _il.Emit(OpCodes.Add);
        }
    }

    private void EmitInt(int value) => _il.Emit(OpCodes.Ldc_I4, value);
}
