using Vessel.Cpu.Riscv.Decoding;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The guest code one translation covers: the instructions reachable from an entry point
/// without leaving its 4 KiB page, following both ways of every branch, up to a size limit.
/// Offsets are within the page, so the region is the same whatever virtual page maps it.
/// </summary>
internal sealed class Region
{
    public Region(int entryOffset, RegionInstruction[] instructions, HashSet<int> interpretedOffsets)
    {
        EntryOffset = entryOffset;
        Instructions = instructions;
        InterpretedOffsets = interpretedOffsets;
    }

    /// <summary>Page offset of the entry point.</summary>
    public int EntryOffset { get; }

    /// <summary>The instructions, sorted by offset.</summary>
    public RegionInstruction[] Instructions { get; }

    /// <summary>
    /// Offsets of instructions reachable from the region that it leaves to the interpreter
    /// (system instructions, instructions straddling the page end): leaving towards one of
    /// them asks the dispatcher to interpret it.
    /// </summary>
    public HashSet<int> InterpretedOffsets { get; }
}

/// <summary>One decoded instruction of a <see cref="Region"/>.</summary>
internal readonly record struct RegionInstruction(int Offset, Instruction Instruction)
{
    public int Length => Instruction.Length;

    public int NextOffset => Offset + Instruction.Length;
}
