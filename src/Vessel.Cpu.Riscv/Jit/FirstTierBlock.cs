using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The first tier's form of a block: its instructions decoded once into an array that
/// <see cref="Hart"/>'s first-tier executor runs with no fetch, no page check and no decode-cache
/// read per instruction (the interpreter's own handler for each instruction shape, compiled once
/// by .NET and shared by every block). Building one costs a decode per instruction, so code that
/// has run only a few times is worth it; the optimising tier takes over when the block is hot.
/// </summary>
/// <remarks>
/// A block is a superblock: straight-line code from its entry through not-taken conditional
/// branches up to the first jump, an instruction the translators leave to the interpreter, the
/// end of the page or <see cref="TranslatorOptions.FirstTierMaxInstructions"/>. Like the
/// optimising tier's regions it never spans pages (a write to its page drops it) and is position
/// independent (the pc comes from the hart on entry). Each direct exit (a taken branch, a
/// <c>jal</c>, the fall-through at the end) has a link slot, as in the optimising tier.
/// </remarks>
internal sealed class FirstTierBlock
{
    private const int PageSize = (int)GuestMemory.PageSize;

    private FirstTierBlock(Instruction[] instructions, int endOffset, bool interpretNext, int endSlot, int exitCount)
    {
        Instructions = instructions;
        EndOffset = endOffset;
        InterpretNext = interpretNext;
        EndSlot = endSlot;
        ExitCount = exitCount;
    }

    /// <summary>
    /// The instructions in order. For branches and <c>jal</c>, <see cref="Instruction.Rs3"/>
    /// holds the link slot of the exit they take (unused by those instructions otherwise).
    /// </summary>
    public Instruction[] Instructions { get; }

    /// <summary>Page offset just past the last instruction (where the fall-through goes).</summary>
    public int EndOffset { get; }

    /// <summary>Whether the block stops in front of an instruction the interpreter must run.</summary>
    public bool InterpretNext { get; }

    /// <summary>The link slot of the fall-through at the end (-1 when <see cref="InterpretNext"/>).</summary>
    public int EndSlot { get; }

    /// <summary>Direct exits (link slots per hart).</summary>
    public int ExitCount { get; }

    /// <summary>
    /// Builds the block that starts at <paramref name="entryOffset"/> of the page at
    /// <paramref name="hostPage"/>, whose page the caller has marked as code; null when its first
    /// instruction is one the interpreter must run.
    /// </summary>
    public static unsafe FirstTierBlock? Build(byte* hostPage, int entryOffset, int maxInstructions)
    {
        Span<Instruction> buffer = stackalloc Instruction[maxInstructions];
        Span<int> targets = stackalloc int[maxInstructions + 1];
        int count = 0;
        int exits = 0;
        int offset = entryOffset;
        bool interpretNext = false;
        while (count < maxInstructions && offset < PageSize)
        {
            // Safe: offset is even and below the page size; a 32-bit instruction is read only
            // when it does not straddle the page end.
            ushort low = *(ushort*)(hostPage + offset);
            bool wide = (low & 3) == 3;
            if (wide && offset == PageSize - 2)
            {
                interpretNext = true;
                break;
            }

            Instruction instruction = Decoder.Decode(wide ? *(uint*)(hostPage + offset) : low);
            if (!BlockCompiler.CanTranslate(instruction.Op))
            {
                interpretNext = true;
                break;
            }

            bool ends = instruction.Op is Opcode.Jal or Opcode.Jalr;
            if (instruction.Op is Opcode.Jal or (>= Opcode.Beq and <= Opcode.Bgeu))
            {
                instruction.Rs3 = (byte)SlotFor(targets, ref exits, offset + instruction.Imm);
            }

            buffer[count++] = instruction;
            offset += instruction.Length;
            if (ends)
            {
                break;
            }
        }

        if (count == 0)
        {
            return null;
        }

        Opcode last = buffer[count - 1].Op;
        int endSlot = interpretNext || last is Opcode.Jal or Opcode.Jalr ? -1 : SlotFor(targets, ref exits, offset);
        return new FirstTierBlock(buffer[..count].ToArray(), offset, interpretNext, endSlot, exits);
    }

    /// <summary>One slot per distinct target (relative to the page), shared by the exits that go there.</summary>
    private static int SlotFor(Span<int> targets, ref int exits, int target)
    {
        for (int i = 0; i < exits; i++)
        {
            if (targets[i] == target)
            {
                return i;
            }
        }

        targets[exits] = target;
        return exits++;
    }
}
