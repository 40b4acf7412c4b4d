using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Generates a random but terminating M-mode program for differential testing: integer, M, A,
/// F/D and compressed instructions, loads and stores (aligned, misaligned, across pages, to a
/// device, and faulting), forward branches, counted loops, indirect jumps, CSR accesses
/// (including <c>instret</c>), <c>ecall</c>, fences and self-modifying stores. A trap handler
/// skips every faulting instruction, so faults happen in the middle of translated blocks.
/// </summary>
/// <remarks>
/// Register use: x1..x25 are written by the random instructions; x26 and x27 are scratch for
/// the trap handler and the generated sequences; x28 counts loops; x29 points at the device,
/// x30 at a hole in the address space, x31 into the data area. Everything reads any register.
/// </remarks>
public sealed class RandomProgram
{
    public const ulong EntryAddress = TestMachine.RamBase;
    private const ulong HandlerAddress = TestMachine.RamBase + 0x800;
    private const ulong BodyPage = TestMachine.RamBase + 0x1000;
    private const ulong DataBase = TestMachine.RamBase + 0x8_0000;
    private const int DataPointerBias = 2048;

    private readonly Random _random;
    private readonly Code _code;
    private readonly Code _prologue = new(EntryAddress);
    private readonly Code _handler = new(HandlerAddress);
    private readonly byte[] _data = new byte[8192];

    public RandomProgram(int seed, int items)
    {
        _random = new Random(seed);
        _code = new Code(BodyPage + (ulong)(_random.Next(0, 1024) * 2));
        BuildPrologue();
        BuildHandler();
        BuildBody(items);
        _random.NextBytes(_data);
    }

    /// <summary>Writes the program and its data into a machine's RAM.</summary>
    public void LoadInto(TestMachine machine)
    {
        machine.Load(_prologue.Base, _prologue.ToArray());
        machine.Load(_handler.Base, _handler.ToArray());
        machine.Load(_code.Base, _code.ToArray());
        machine.Load(DataBase, _data);
    }

    private void BuildPrologue()
    {
        _prologue.Li(5, (long)HandlerAddress);
        _prologue.Emit(Rv.Csrw(0x305, 5)); // mtvec
        _prologue.Li(5, 1L << 13);
        _prologue.Emit(Rv.Csrrs(0, 0x300, 5)); // mstatus.FS = initial: F and D usable
        for (int f = 0; f < 8; f++)
        {
            _prologue.Li(5, _random.NextInt64());
            _prologue.Emit(Rv.FmvDX(f, 5));
        }

        for (int r = 1; r <= 28; r++)
        {
            _prologue.Li(r, RandomValue());
        }

        _prologue.Li(29, (long)TestMachine.RecorderBase);
        _prologue.Li(30, (long)TestMachine.HoleAddress);
        _prologue.Li(31, (long)DataBase + DataPointerBias);
        _prologue.Li(26, (long)_code.Base);
        _prologue.Emit(Rv.Jalr(0, 26, 0));
    }

    private void BuildHandler()
    {
        // Skip the instruction that trapped, whatever its length.
        Code.Label compressed = _handler.NewLabel();
        _handler.Emit(Rv.Csrr(27, 0x341)); // mepc
        _handler.Emit(Rv.Lhu(26, 27, 0));
        _handler.Emit(Rv.Andi(26, 26, 3));
        _handler.Emit(Rv.Addi(26, 26, -3));
        _handler.Emit(compressed, offset => Rv.Bne(26, 0, offset));
        _handler.Emit(Rv.Addi(27, 27, 2));
        _handler.Bind(compressed);
        _handler.Emit(Rv.Addi(27, 27, 2));
        _handler.Emit(Rv.Csrw(0x341, 27));
        _handler.Emit(Rv.Csrr(26, 0x342)); // mcause
        _handler.Emit(Rv.Mret());
    }

    private long RandomValue() => _random.Next(4) switch
    {
        0 => _random.Next(-16, 16),
        1 => _random.Next(),
        2 => _random.NextInt64() >> _random.Next(64),
        _ => _random.NextInt64() | long.MinValue,
    };

    private int Destination() => _random.Next(1, 26);

    private int Source() => _random.Next(0, 32);

    private int CompressedRegister() => _random.Next(8, 16);

    private void BuildBody(int items)
    {
        for (int i = 0; i < items; i++)
        {
            int kind = _random.Next(100);
            switch (kind)
            {
                case < 30: EmitArithmetic(); break;
                case < 40: EmitCompressed(); break;
                case < 52: EmitDataAccess(); break;
                case < 55: EmitDeviceAccess(); break;
                case < 58: EmitFaultingAccess(); break;
                case < 66: EmitForwardBranch(); break;
                case < 70: EmitLoop(); break;
                case < 73: EmitIndirectJump(); break;
                case < 78: EmitSystem(); break;
                case < 83: EmitFloat(); break;
                case < 88: EmitAtomic(); break;
                case < 90: EmitSelfModification(); break;
                default: EmitImmediate(); break;
            }
        }

        _code.Emit(Rv.Wfi());
    }

    private void EmitArithmetic()
    {
        int rd = Destination(), rs1 = Source(), rs2 = Source();
        uint instruction = _random.Next(24) switch
        {
            0 => Rv.Add(rd, rs1, rs2),
            1 => Rv.Sub(rd, rs1, rs2),
            2 => Rv.Sll(rd, rs1, rs2),
            3 => Rv.Slt(rd, rs1, rs2),
            4 => Rv.Sltu(rd, rs1, rs2),
            5 => Rv.Xor(rd, rs1, rs2),
            6 => Rv.Srl(rd, rs1, rs2),
            7 => Rv.Sra(rd, rs1, rs2),
            8 => Rv.Or(rd, rs1, rs2),
            9 => Rv.And(rd, rs1, rs2),
            10 => Rv.Addw(rd, rs1, rs2),
            11 => Rv.Subw(rd, rs1, rs2),
            12 => Rv.Sllw(rd, rs1, rs2),
            13 => Rv.Srlw(rd, rs1, rs2),
            14 => Rv.Sraw(rd, rs1, rs2),
            15 or 16 or 17 => Rv.MulDiv(_random.Next(8), rd, rs1, rs2),
            18 or 19 => Rv.MulDivWord(new[] { 0, 4, 5, 6, 7 }[_random.Next(5)], rd, rs1, rs2),
            20 => Rv.Lui(rd, _random.Next(1 << 20)),
            21 => Rv.Auipc(rd, _random.Next(1 << 20)),
            22 => Rv.Add(0, rs1, rs2), // writes x0
            _ => Rv.MulDiv(4, rd, rs1, 0), // division by zero
        };
        _code.Emit(instruction);
    }

    private void EmitImmediate()
    {
        int rd = Destination(), rs1 = Source();
        int imm = _random.Next(-2048, 2048);
        uint instruction = _random.Next(13) switch
        {
            0 => Rv.Addi(rd, rs1, imm),
            1 => Rv.Slti(rd, rs1, imm),
            2 => Rv.Sltiu(rd, rs1, imm),
            3 => Rv.Xori(rd, rs1, imm),
            4 => Rv.Ori(rd, rs1, imm),
            5 => Rv.Andi(rd, rs1, imm),
            6 => Rv.Slli(rd, rs1, _random.Next(64)),
            7 => Rv.Srli(rd, rs1, _random.Next(64)),
            8 => Rv.Srai(rd, rs1, _random.Next(64)),
            9 => Rv.Addiw(rd, rs1, imm),
            10 => Rv.Slliw(rd, rs1, _random.Next(32)),
            11 => Rv.Srliw(rd, rs1, _random.Next(32)),
            _ => Rv.Sraiw(rd, rs1, _random.Next(32)),
        };
        _code.Emit(instruction);
    }

    private void EmitCompressed()
    {
        int rd = CompressedRegister(), rs2 = CompressedRegister();
        ushort instruction = _random.Next(16) switch
        {
            0 => Rv.CAddi(rd, _random.Next(-32, 32)),
            1 => Rv.CAddiw(rd, _random.Next(-32, 32)),
            2 => Rv.CLi(rd, _random.Next(-32, 32)),
            3 => Rv.CLui(rd, _random.Next(1, 32)),
            4 => Rv.CSlli(rd, _random.Next(1, 64)),
            5 => Rv.CSrli(rd, _random.Next(1, 64)),
            6 => Rv.CSrai(rd, _random.Next(1, 64)),
            7 => Rv.CAndi(rd, _random.Next(-32, 32)),
            8 => Rv.CSub(rd, rs2),
            9 => Rv.CXor(rd, rs2),
            10 => Rv.COr(rd, rs2),
            11 => Rv.CAnd(rd, rs2),
            12 => Rv.CSubw(rd, rs2),
            13 => Rv.CAddw(rd, rs2),
            14 => Rv.CMv(rd, _random.Next(1, 32)),
            _ => Rv.CAdd(rd, _random.Next(1, 32)),
        };
        _code.Emit(instruction);
    }

    private void EmitDataAccess()
    {
        // Offsets around the data pointer; a quarter misaligned, some crossing a page boundary
        // of the data area (which starts page aligned, so DataBase + 4096 is one).
        int size = 1 << _random.Next(4);
        int offset = _random.Next(-DataPointerBias + 16, DataPointerBias - 8);
        if (_random.Next(4) != 0)
        {
            offset &= ~(size - 1);
        }

        if (_random.Next(10) == 0)
        {
            offset = 4096 - DataPointerBias - _random.Next(1, size + 1); // straddles DataBase + 4096
        }

        int funct3 = size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
        bool load = _random.Next(2) == 0;
        if (load)
        {
            if (size < 8 && _random.Next(2) == 0)
            {
                funct3 += 4; // unsigned variant
            }

            if (_random.Next(8) == 0 && size >= 4)
            {
                _code.Emit(size == 4 ? Rv.CLw(CompressedRegister(), 15, 0) : Rv.CLd(CompressedRegister(), 15, 0));
                return;
            }

            _code.Emit(Rv.Load(funct3, Destination(), 31, offset));
        }
        else
        {
            _code.Emit(Rv.Store(funct3, Source(), 31, offset));
        }
    }

    private void EmitDeviceAccess()
    {
        int size = 1 << _random.Next(4);
        int offset = _random.Next(0, 0x800) & ~(size - 1);
        int funct3 = size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
        _code.Emit(_random.Next(2) == 0 ? Rv.Load(funct3, Destination(), 29, offset) : Rv.Store(funct3, Source(), 29, offset));
    }

    private void EmitFaultingAccess()
    {
        int funct3 = _random.Next(4);
        int offset = _random.Next(-2048, 2048);
        _code.Emit(_random.Next(5) switch
        {
            0 or 1 => Rv.Load(funct3, Destination(), 30, offset),
            2 => Rv.Store(funct3, Source(), 30, offset),
            3 => _random.Next(2) == 0 ? Rv.Fld(_random.Next(8), 30, offset) : Rv.Fsw(_random.Next(8), 30, offset),
            _ => Rv.Amo(new[] { 0, 1, 2, 3 }[_random.Next(4)], _random.Next(2) == 0, Destination(), 30, Source()),
        });
    }

    private void EmitForwardBranch()
    {
        Code.Label skip = _code.NewLabel();
        int funct3 = new[] { 0, 1, 4, 5, 6, 7 }[_random.Next(6)];
        int rs1 = Source(), rs2 = _random.Next(3) == 0 ? 0 : Source();
        if (_random.Next(4) == 0)
        {
            int compressed = CompressedRegister();
            _code.Emit(skip, offset => Rv.CBnez(compressed, offset));
        }
        else
        {
            _code.Emit(skip, offset => Rv.Branch(funct3, rs1, rs2, offset));
        }

        int count = _random.Next(1, 6);
        for (int i = 0; i < count; i++)
        {
            EmitStraightLine();
        }

        _code.Bind(skip);
    }

    private void EmitLoop()
    {
        Code.Label top = _code.NewLabel();
        _code.Emit(Rv.Addi(28, 0, _random.Next(1, 6)));
        _code.Bind(top);
        int count = _random.Next(1, 8);
        for (int i = 0; i < count; i++)
        {
            EmitStraightLine();
        }

        _code.Emit(Rv.Addi(28, 28, -1));
        _code.Emit(top, offset => Rv.Bne(28, 0, offset));
    }

    /// <summary>An instruction without control flow of its own (loop bodies, branch shadows).</summary>
    private void EmitStraightLine()
    {
        switch (_random.Next(6))
        {
            case 0: EmitImmediate(); break;
            case 1: EmitCompressed(); break;
            case 2: EmitDataAccess(); break;
            case 3: if (_random.Next(4) == 0) { EmitFaultingAccess(); } else { EmitArithmetic(); } break;
            case 4: if (_random.Next(3) == 0) { EmitSystem(); } else { EmitArithmetic(); } break;
            default: EmitArithmetic(); break;
        }
    }

    private void EmitIndirectJump()
    {
        if (_random.Next(2) == 0)
        {
            // auipc; jalr over one 4-byte instruction.
            _code.Emit(Rv.Auipc(27, 0));
            _code.Emit(Rv.Jalr(Destination(), 27, 12));
            _code.Emit(Rv.Addi(Destination(), 0, 99));
        }
        else
        {
            Code.Label over = _code.NewLabel();
            int link = Destination();
            _code.Emit(over, offset => Rv.Jal(link, offset));
            EmitArithmetic();
            _code.Bind(over);
        }
    }

    private void EmitSystem()
    {
        switch (_random.Next(7))
        {
            case 0: _code.Emit(Rv.Csrr(Destination(), 0xc02)); break; // instret
            case 1: _code.Emit(Rv.Csrr(Destination(), 0xb00)); break; // mcycle
            case 2: _code.Emit(Rv.Csrw(0x340, Source())); break; // mscratch
            case 3: _code.Emit(Rv.Csrr(Destination(), 0x340)); break;
            case 4: _code.Emit(Rv.Ecall()); break;
            case 5: _code.Emit(Rv.Fence()); break;
            default: _code.Emit(Rv.FenceI()); break;
        }
    }

    private void EmitFloat()
    {
        int fd = _random.Next(8), fs1 = _random.Next(8), fs2 = _random.Next(8);
        switch (_random.Next(7))
        {
            case 0: _code.Emit(Rv.FmvDX(fd, Source())); break;
            case 1: _code.Emit(Rv.FmvXD(Destination(), fs1)); break;
            case 2: _code.Emit(Rv.FaddD(fd, fs1, fs2)); break;
            case 3: _code.Emit(Rv.FmulD(fd, fs1, fs2, _random.Next(5))); break;
            case 4: _code.Emit(Rv.FcvtLD(Destination(), fs1)); break;
            case 5: _code.Emit(Rv.Fld(fd, 31, _random.Next(-256, 256) * 8)); break;
            default: _code.Emit(Rv.Fsd(fs1, 31, _random.Next(-256, 256) * 8)); break;
        }
    }

    private void EmitAtomic()
    {
        bool doubleword = _random.Next(2) == 0;
        int offset = _random.Next(-200, 200) * 8;
        _code.Emit(Rv.Addi(27, 31, offset));
        switch (_random.Next(3))
        {
            case 0:
                int[] functions = [0, 1, 4, 8, 12, 16, 20, 24, 28];
                _code.Emit(Rv.Amo(functions[_random.Next(functions.Length)], doubleword, Destination(), 27, Source()));
                break;
            case 1:
                _code.Emit(Rv.Amo(2, doubleword, Destination(), 27, 0));
                if (_random.Next(2) == 0)
                {
                    EmitArithmetic();
                }

                _code.Emit(Rv.Amo(3, doubleword, Destination(), 27, Source()));
                break;
            default:
                _code.Emit(Rv.Amo(3, doubleword, Destination(), 27, Source())); // sc without reservation
                break;
        }
    }

    private void EmitSelfModification()
    {
        // auipc x26, 0; lui x27, hi; addiw x27, x27, lo; sw x27, 16(x26); <slot>
        // The slot starts as a nop and is overwritten with a random arithmetic instruction just
        // before it executes.
        int rd = Destination(), rs1 = Source(), rs2 = Source();
        uint patched = _random.Next(3) switch
        {
            0 => Rv.Add(rd, rs1, rs2),
            1 => Rv.Xori(rd, rs1, _random.Next(-2048, 2048)),
            _ => Rv.MulDiv(0, rd, rs1, rs2),
        };
        int low = (int)patched << 20 >> 20;
        int high = (int)(((long)(int)patched - low) >> 12) & 0xfffff;
        _code.Emit(Rv.Auipc(26, 0));
        _code.Emit(Rv.Lui(27, high));
        _code.Emit(Rv.Addiw(27, 27, low));
        _code.Emit(Rv.Sw(27, 26, 16));
        _code.Emit(Rv.Addi(0, 0, 0));
    }
}
