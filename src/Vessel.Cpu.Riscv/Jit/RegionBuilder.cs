using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// Finds the <see cref="Region"/> to translate from an entry point: decodes the page's bytes
/// and follows the control flow that stays inside the page.
/// </summary>
internal static unsafe class RegionBuilder
{
    private const int PageSize = (int)GuestMemory.PageSize;

    /// <summary>
    /// Builds the region that starts at <paramref name="entryOffset"/> of the page at
    /// <paramref name="hostPage"/>. The caller has marked the page as code, so that any write
    /// to it from now on invalidates what is built from these bytes.
    /// </summary>
    public static Region Build(byte* hostPage, int entryOffset, int maxInstructions)
    {
        var instructions = new List<RegionInstruction>();
        var interpreted = new HashSet<int>();
        var seen = new bool[PageSize / 2];
        var pending = new Stack<int>();
        pending.Push(entryOffset);

        while (pending.Count > 0)
        {
            int offset = pending.Pop();
            if (seen[offset >> 1])
            {
                continue;
            }

            seen[offset >> 1] = true;

            // Safe: offset is even and below the page size, so both halfwords read lie inside
            // the guest page (a 32-bit instruction at the last halfword is not read).
            ushort low = *(ushort*)(hostPage + offset);
            bool wide = (low & 3) == 3;
            if (wide && offset == PageSize - 2)
            {
                interpreted.Add(offset); // straddles into the next page
                continue;
            }

            Instruction instruction = Decoder.Decode(wide ? *(uint*)(hostPage + offset) : low);
            if (!BlockCompiler.CanTranslate(instruction.Op))
            {
                interpreted.Add(offset);
                continue;
            }

            if (instructions.Count >= maxInstructions)
            {
                continue; // reached as an ordinary exit
            }

            instructions.Add(new RegionInstruction(offset, instruction));
            int next = offset + instruction.Length;
            switch (instruction.Op)
            {
                case Opcode.Jalr:
                    break;
                case Opcode.Jal:
                    PushIfInPage(pending, offset + instruction.Imm);
                    break;
                case >= Opcode.Beq and <= Opcode.Bgeu:
                    PushIfInPage(pending, offset + instruction.Imm);
                    PushIfInPage(pending, next);
                    break;
                default:
                    PushIfInPage(pending, next);
                    break;
            }
        }

        instructions.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        return new Region(entryOffset, [.. instructions], interpreted);
    }

    private static void PushIfInPage(Stack<int> pending, long offset)
    {
        if (offset >= 0 && offset < PageSize)
        {
            pending.Push((int)offset);
        }
    }
}
