namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// A tiny assembler for test programs: appends encoded instructions (see <see cref="Rv"/>) at a
/// known address and resolves branches and jumps to labels.
/// </summary>
public sealed class Code
{
    private readonly List<byte> _bytes = [];
    private readonly List<(int Position, Label Target, Func<int, uint> Encode)> _fixups = [];
    private readonly List<(int Position, Label Target, Func<int, ushort> Encode)> _fixups16 = [];

    public Code(ulong baseAddress)
    {
        Base = baseAddress;
    }

    /// <summary>Address of the first byte.</summary>
    public ulong Base { get; }

    /// <summary>Address of the next instruction.</summary>
    public ulong Here => Base + (ulong)_bytes.Count;

    public int Length => _bytes.Count;

    public sealed class Label
    {
        public int Position { get; internal set; } = -1;
    }

    public Label NewLabel() => new();

    /// <summary>Binds <paramref name="label"/> to the current position.</summary>
    public Code Bind(Label label)
    {
        label.Position = _bytes.Count;
        return this;
    }

    public Code Emit(uint instruction)
    {
        _bytes.Add((byte)instruction);
        _bytes.Add((byte)(instruction >> 8));
        _bytes.Add((byte)(instruction >> 16));
        _bytes.Add((byte)(instruction >> 24));
        return this;
    }

    public Code Emit(ushort instruction)
    {
        _bytes.Add((byte)instruction);
        _bytes.Add((byte)(instruction >> 8));
        return this;
    }

    /// <summary>Emits a 32-bit instruction whose pc-relative offset to <paramref name="target"/> is filled in later.</summary>
    public Code Emit(Label target, Func<int, uint> encode)
    {
        _fixups.Add((_bytes.Count, target, encode));
        return Emit(0u);
    }

    /// <summary>Emits a compressed instruction whose pc-relative offset to <paramref name="target"/> is filled in later.</summary>
    public Code Emit(Label target, Func<int, ushort> encode)
    {
        _fixups16.Add((_bytes.Count, target, encode));
        return Emit((ushort)0);
    }

    /// <summary>Pads with <c>c.nop</c>s (or one 32-bit nop) up to <paramref name="address"/>.</summary>
    public Code PadTo(ulong address)
    {
        while (Here + 4 <= address)
        {
            Emit(Rv.Addi(0, 0, 0));
        }

        if (Here < address)
        {
            Emit(Rv.CAddi(0, 0));
        }

        if (Here != address)
        {
            throw new InvalidOperationException($"Cannot pad from {Here:x} to {address:x}.");
        }

        return this;
    }

    /// <summary>Loads the 64-bit <paramref name="value"/> into <paramref name="rd"/> (lui/addiw, then shifts and adds).</summary>
    public Code Li(int rd, long value)
    {
        if (value >= int.MinValue && value <= int.MaxValue)
        {
            int low = (int)(value << 52 >> 52);
            int high = (int)((value - low) >> 12) & 0xfffff;
            if (high != 0)
            {
                Emit(Rv.Lui(rd, high));
                if (low != 0)
                {
                    Emit(Rv.Addiw(rd, rd, low)); // in 32 bits, so the sum is sign-extended as value is
                }
            }
            else
            {
                Emit(Rv.Addi(rd, 0, low));
            }

            return this;
        }

        long lo12 = value << 52 >> 52;
        Li(rd, (value - lo12) >> 12);
        Emit(Rv.Slli(rd, rd, 12));
        if (lo12 != 0)
        {
            Emit(Rv.Addi(rd, rd, (int)lo12));
        }

        return this;
    }

    /// <summary>The bytes, with every label reference resolved.</summary>
    public byte[] ToArray()
    {
        byte[] bytes = [.. _bytes];
        foreach ((int position, Label target, Func<int, uint> encode) in _fixups)
        {
            uint instruction = encode(Resolve(target) - position);
            BitConverter.TryWriteBytes(bytes.AsSpan(position), instruction);
        }

        foreach ((int position, Label target, Func<int, ushort> encode) in _fixups16)
        {
            ushort instruction = encode(Resolve(target) - position);
            BitConverter.TryWriteBytes(bytes.AsSpan(position), instruction);
        }

        return bytes;
    }

    private static int Resolve(Label label) =>
        label.Position >= 0 ? label.Position : throw new InvalidOperationException("A label was used but never bound.");
}
