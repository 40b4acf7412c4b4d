namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// One hart's cached successor for one direct exit of a translated block (a jal, branch or
/// fall-through that leaves the region towards a pc known at translation time): the block
/// that the exit's target pc led to the last time, and the conditions under which that
/// lookup is still the answer.
/// </summary>
/// <remarks>
/// A link is exactly a jump-cache entry that needs no hashing and cannot be evicted by a
/// conflict: it holds when the pc the block left with is <see cref="Pc"/>, the hart fetches
/// in the same translation context (<see cref="MmuIndex"/>), its TLB was not flushed since
/// (<see cref="Generation"/>, bumped by every full or one-page flush, so a remapped virtual
/// page is looked up afresh) and <see cref="Target"/> was not invalidated (its page written,
/// or the cache flushed). Each hart has its own slot per exit and only the hart's own thread
/// reads or writes it, so a slot is never seen half written.
/// </remarks>
internal struct ExitLink
{
    public ulong Pc;
    public ulong Generation; // 0 never matches: a fresh slot is empty; 64 bits never wrap
    public TranslatedBlock? Target;
    public int MmuIndex;
}
