namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// Everything known about one block entry, keyed by its guest physical address: first a
/// counter of interpreted executions, then, once hot and compiled, the translated code. A block
/// is dropped (made invalid, never revived) when its page is written or the cache is flushed;
/// harts check <see cref="IsValid"/> before running it.
/// </summary>
internal sealed class TranslatedBlock
{
    private volatile BlockFunction? _function;
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

    /// <summary>Interpreted executions so far (racy across harts on purpose: it only needs to be roughly right).</summary>
    public int Executions;

    public bool IsValid => !_invalid;

    /// <summary>Guest instructions in the translated region (statistics).</summary>
    public int InstructionCount { get; private set; }

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

    /// <summary>Publishes the compiled code (from any thread).</summary>
    public void Publish(BlockFunction function, int instructionCount)
    {
        InstructionCount = instructionCount;
        Volatile.Write(ref _state, (int)BlockState.Compiled);
        _function = function;
    }

    public void Invalidate() => _invalid = true;
}
