using System.Buffers.Binary;

namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>
/// A small RISC-V (RV64GC) assembler for tests: one method per instruction, named after the
/// mnemonic, with operands in assembly order (<c>Sd(A0, 8, Sp)</c> is <c>sd a0, 8(sp)</c>,
/// <c>AmoaddW(A0, A1, A2)</c> is <c>amoadd.w a0, a1, (a2)</c>). Branch and jump targets are
/// labels (<c>Label("loop")</c> ... <c>Bne(A0, A1, "loop")</c>), resolved when the program is
/// built, or raw byte offsets. Every instruction has a fixed size, so a label's address is
/// known as soon as it is defined.
/// </summary>
/// <remarks>
/// The encoders are split by extension: <c>RiscvAssembler.Base.cs</c> (RV64I),
/// <c>.MulDiv.cs</c>, <c>.Atomic.cs</c>, <c>.Float.cs</c>, <c>.Compressed.cs</c>,
/// <c>.System.cs</c> (Zicsr, Zifencei, privileged) and <c>.Pseudo.cs</c> (li, la, j, ret...).
/// </remarks>
public sealed partial class RiscvAssembler
{
    private readonly List<byte> _bytes = [];
    private readonly Dictionary<string, int> _labels = [];
    private readonly List<Fixup> _fixups = [];

    /// <param name="origin">The address the first byte is placed at (where the program is loaded).</param>
    public RiscvAssembler(ulong origin = 0x8000_0000)
    {
        Origin = origin;
    }

    /// <summary>The address of the first byte.</summary>
    public ulong Origin { get; }

    /// <summary>The address the next instruction or datum is emitted at.</summary>
    public ulong Here => Origin + (ulong)_bytes.Count;

    /// <summary>Bytes emitted so far.</summary>
    public int Size => _bytes.Count;

    /// <summary>Defines <paramref name="name"/> at the current address.</summary>
    public RiscvAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _bytes.Count))
        {
            throw new InvalidOperationException($"label '{name}' is defined twice");
        }

        return this;
    }

    /// <summary>The address of a defined label.</summary>
    public ulong AddressOf(string label) =>
        _labels.TryGetValue(label, out int position) ? Origin + (ulong)position : throw new KeyNotFoundException($"label '{label}' is not defined");

    public bool HasLabel(string label) => _labels.ContainsKey(label);

    /// <summary>Resolves every label reference and returns the program bytes (may be called again after more code is added).</summary>
    public byte[] Build()
    {
        byte[] image = [.. _bytes];
        foreach (Fixup fixup in _fixups)
        {
            if (!_labels.TryGetValue(fixup.Label, out int target))
            {
                throw new InvalidOperationException($"label '{fixup.Label}' is used but never defined");
            }

            int offset = target - fixup.Position;
            Span<byte> at = image.AsSpan(fixup.Position);
            try
            {
                switch (fixup.Kind)
                {
                    case FixupKind.Branch:
                        Patch32(at, InstructionEncoding.B(fixup.Funct3, fixup.Rs1, fixup.Rs2, offset));
                        break;
                    case FixupKind.Jal:
                        Patch32(at, InstructionEncoding.J(fixup.Rd, offset));
                        break;
                    case FixupKind.PcRelativePair:
                    {
                        (int upper, int lower) = SplitPcRelative(offset);
                        Patch32(at, InstructionEncoding.U(0x17, fixup.Rd, upper));
                        Patch32(at[4..], InstructionEncoding.I(fixup.Opcode, fixup.Funct3, fixup.Rd2, fixup.Rd, lower));
                        break;
                    }

                    case FixupKind.CompressedBranch:
                        Patch16(at, CompressedBranch(fixup.Funct3, fixup.Rs1, offset));
                        break;
                    case FixupKind.CompressedJump:
                        Patch16(at, CompressedJump(offset));
                        break;
                    case FixupKind.Absolute64:
                        BinaryPrimitives.WriteUInt64LittleEndian(at, Origin + (ulong)target);
                        break;
                    case FixupKind.Absolute32:
                        BinaryPrimitives.WriteUInt32LittleEndian(at, checked((uint)(Origin + (ulong)target)));
                        break;
                }
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new InvalidOperationException($"label '{fixup.Label}' is out of reach of the instruction at 0x{Origin + (ulong)fixup.Position:x}: {e.Message}", e);
            }
        }

        return image;
    }

    // ------------------------------------------------------------------ raw data

    /// <summary>Emits 32 raw instruction bits (e.g. a reserved encoding).</summary>
    public RiscvAssembler Emit32(uint bits)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, bits);
        _bytes.AddRange(buffer);
        return this;
    }

    /// <summary>Emits 16 raw instruction bits (e.g. a reserved compressed encoding).</summary>
    public RiscvAssembler Emit16(ushort bits)
    {
        _bytes.Add((byte)bits);
        _bytes.Add((byte)(bits >> 8));
        return this;
    }

    public RiscvAssembler Byte(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public RiscvAssembler Half(ushort value) => Emit16(value);

    public RiscvAssembler Word(uint value) => Emit32(value);

    public RiscvAssembler Dword(ulong value)
    {
        Emit32((uint)value);
        return Emit32((uint)(value >> 32));
    }

    /// <summary>Emits the 64-bit address of <paramref name="label"/>.</summary>
    public RiscvAssembler Dword(string label)
    {
        _fixups.Add(new Fixup(FixupKind.Absolute64, _bytes.Count, label));
        return Dword(0UL);
    }

    /// <summary>Emits the 32-bit address of <paramref name="label"/>.</summary>
    public RiscvAssembler Word(string label)
    {
        _fixups.Add(new Fixup(FixupKind.Absolute32, _bytes.Count, label));
        return Emit32(0);
    }

    public RiscvAssembler Bytes(ReadOnlySpan<byte> data)
    {
        _bytes.AddRange(data);
        return this;
    }

    /// <summary>Emits <paramref name="count"/> zero bytes.</summary>
    public RiscvAssembler Zero(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _bytes.AddRange(new byte[count]);
        return this;
    }

    /// <summary>Pads with zero bytes up to a multiple of <paramref name="alignment"/> (a power of two).</summary>
    public RiscvAssembler Align(int alignment)
    {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        }

        int padding = (int)((ulong)alignment - (Here % (ulong)alignment)) % alignment;
        return Zero(padding);
    }

    /// <summary>Pads with zero bytes up to the absolute address <paramref name="address"/>.</summary>
    public RiscvAssembler Org(ulong address)
    {
        if (address < Here)
        {
            throw new InvalidOperationException($"cannot move back from 0x{Here:x} to 0x{address:x}");
        }

        return Zero(checked((int)(address - Here)));
    }

    // ------------------------------------------------------------------ helpers

    private RiscvAssembler Emit(uint bits) => Emit32(bits);

    private RiscvAssembler Emit(ushort bits) => Emit16(bits);

    private static void Patch32(Span<byte> at, uint bits) => BinaryPrimitives.WriteUInt32LittleEndian(at, bits);

    private static void Patch16(Span<byte> at, ushort bits) => BinaryPrimitives.WriteUInt16LittleEndian(at, bits);

    /// <summary>Splits a pc-relative offset into the auipc upper part and the signed low 12 bits.</summary>
    internal static (int Upper, int Lower) SplitPcRelative(long offset)
    {
        InstructionEncoding.CheckSigned(offset, 32, "pc-relative offset");
        int lower = (int)(offset << 52 >> 52);
        int upper = (int)((offset - lower) >> 12);
        return (upper, lower);
    }

    private enum FixupKind
    {
        Branch,
        Jal,
        PcRelativePair,
        CompressedBranch,
        CompressedJump,
        Absolute64,
        Absolute32,
    }

    /// <summary>A label reference to patch at build time, with the fields of the instruction it lives in.</summary>
    private readonly record struct Fixup(FixupKind Kind, int Position, string Label)
    {
        public uint Funct3 { get; init; }

        public uint Opcode { get; init; }

        public int Rd { get; init; }

        public int Rd2 { get; init; }

        public int Rs1 { get; init; }

        public int Rs2 { get; init; }
    }
}
