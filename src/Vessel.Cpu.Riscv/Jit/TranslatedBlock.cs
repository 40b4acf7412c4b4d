namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// Everything known about one block entry, keyed by its guest physical address: first a
/// counter of executions, then, once it has run a few times, its first-tier form
/// (<see cref="FirstTierBlock"/>), and once hot and compiled, the optimised code. A block
/// is dropped (made invalid, never revived) when its page is written or the cache is flushed;
/// harts check <see cref="IsValid"/> before running it.
/// </summary>
internal sealed class TranslatedBlock
{
    private volatile BlockFunction? _function;
    private FirstTierBlock? _firstTier;
    private bool _firstTierTried;
    private readonly object _publishGate = new();
    private volatile ExitLink[]? _links;
    private volatile bool _invalid;
    private int _state;

    public TranslatedBlock(ulong physicalAddress)
    {
        PhysicalAddress = physicalAddress;
    }

    private enum BlockState
    {
        Cold,
        Queued,
        Compiled,
        Untranslatable,
    }

    /// <summary>Guest physical address of the first instruction.</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>The translated code, or null while the block is interpreted.</summary>
    public BlockFunction? Function => _function;

    /// <summary>
    /// The first tier's form of the block, or null. Only the hart threads set it (a hart that
    /// reads null builds its own), so it needs no ordering beyond the reference write.
    /// </summary>
    public FirstTierBlock? FirstTier => Volatile.Read(ref _firstTier);

    /// <summary>Whether a first-tier form was built or found impossible (so it is not tried at every dispatch).</summary>
    public bool FirstTierTried => _firstTierTried;

    /// <summary>Executions before the optimising tier's code (racy across harts on purpose: it only needs to be roughly right).</summary>
    public int Executions;

    public bool IsValid => !_invalid;

    /// <summary>Guest instructions in the translated region (statistics).</summary>
    public int InstructionCount { get; private set; }

    /// <summary>Direct exits of the translated region (the number of link slots per hart).</summary>
    public int ExitCount { get; private set; }

    /// <summary>
    /// The link slot of exit <paramref name="exit"/> for the hart at <paramref name="hartIndex"/>,
    /// or a null reference when the block has no such exit (the exit number comes from the
    /// hart and may be stale) or was dropped. Only that hart's thread may use the slot.
    /// </summary>
    public ref ExitLink LinkSlot(int hartIndex, int exit)
    {
        ExitLink[]? links = _links;
        int exits = ExitCount;
        int index = (hartIndex * exits) + exit;
        if (links is null || (uint)exit >= (uint)exits || (uint)index >= (uint)links.Length)
        {
            return ref System.Runtime.CompilerServices.Unsafe.NullRef<ExitLink>();
        }

        return ref links[index];
    }

    /// <summary>
    /// Publishes the first tier's form (on a hart's thread), with room for its exits' link slots.
    /// A block that already has optimised code keeps it and its links.
    /// </summary>
    public void PublishFirstTier(FirstTierBlock? block, int hartCount)
    {
        _firstTierTried = true;
        lock (_publishGate)
        {
            // Under the gate: optimised code published meanwhile keeps its own links.
            if (block is null || _function is not null || _invalid)
            {
                return;
            }

            InstructionCount = block.Instructions.Length;
            _links = block.ExitCount > 0 ? new ExitLink[block.ExitCount * hartCount] : null;
            ExitCount = block.ExitCount;
            Volatile.Write(ref _firstTier, block);
        }
    }

    /// <summary>
    /// Claims the block for translation; false when another request is already under way, it
    /// was translated, or it cannot be.
    /// </summary>
    public bool TryMarkQueued() => Interlocked.CompareExchange(ref _state, (int)BlockState.Queued, (int)BlockState.Cold) == (int)BlockState.Cold;

    /// <summary>Gives a queued block back to the interpreter (request dropped); it may be requested again later.</summary>
    public void ReturnToCold()
    {
        Executions = 0;
        Volatile.Write(ref _state, (int)BlockState.Cold);
    }

    /// <summary>Marks a block whose first instruction cannot be translated: it stays interpreted.</summary>
    public void MarkUntranslatable() => Volatile.Write(ref _state, (int)BlockState.Untranslatable);

    /// <summary>
    /// Publishes the compiled code (from any thread), with room for <paramref name="exitCount"/>
    /// link slots per hart. The slots are written before the volatile write of the function,
    /// so a hart that has run the function sees them.
    /// </summary>
    public void Publish(BlockFunction function, int instructionCount, int exitCount, int hartCount)
    {
        // The first tier's links (if any) number other exits: they go. A hart reading the old
        // array with the new count only finds slots it validates in full (or none).
        lock (_publishGate)
        {
            InstructionCount = instructionCount;
            _links = exitCount > 0 ? new ExitLink[exitCount * hartCount] : null;
            ExitCount = exitCount;
            Volatile.Write(ref _state, (int)BlockState.Compiled);
            _function = function;
        }
    }

    /// <summary>
    /// Drops the block for good. Its links go too, so that a chain of dropped blocks linked to
    /// each other does not keep their code alive (a hart that still holds the array only
    /// writes slots nobody reads again).
    /// </summary>
    public void Invalidate()
    {
        _invalid = true;
        _links = null;
    }
}
