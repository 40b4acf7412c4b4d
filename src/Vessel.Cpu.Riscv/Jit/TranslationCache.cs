using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The processor's blocks, keyed by guest physical address and shared by all harts (the code
/// is position independent: it takes its virtual page from the pc, so every mapping of a page
/// runs the same translation). Blocks live in one array per physical page of RAM, one slot per
/// halfword, so that a lookup takes no lock and a write to a page drops exactly the blocks
/// translated from it. The cache is bounded by the IL it holds; past the bound everything is
/// dropped at once.
/// </summary>
internal sealed class TranslationCache
{
    private const int SlotsPerPage = (int)(GuestMemory.PageSize / 2);

    private readonly object _gate = new();
    private readonly ulong _ramBase;
    private readonly TranslatedBlock?[]?[] _pages;
    private readonly long _capacityBytes;
    private long _bytes;
    private long _blocksInvalidated;
    private long _flushes;

    public TranslationCache(GuestMemory memory, long capacityBytes)
    {
        _ramBase = memory.Base;
        _pages = new TranslatedBlock?[]?[memory.Size >> GuestMemory.PageShift];
        _capacityBytes = capacityBytes;
    }

    /// <summary>Translated blocks invalidated by writes to their page (statistics).</summary>
    public long BlocksInvalidated => Interlocked.Read(ref _blocksInvalidated);

    /// <summary>Times the whole cache was dropped because it was full (statistics).</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>
    /// The block that starts at <paramref name="physicalAddress"/> (in RAM, even), created cold
    /// if new.
    /// </summary>
    public TranslatedBlock GetOrCreate(ulong physicalAddress)
    {
        ulong offset = physicalAddress - _ramBase;
        int pageIndex = (int)(offset >> GuestMemory.PageShift);
        int slot = (int)(offset & (GuestMemory.PageSize - 1)) >> 1;
        TranslatedBlock?[]? page = Volatile.Read(ref _pages[pageIndex]);
        if (page is not null && Volatile.Read(ref page[slot]) is { } existing)
        {
            return existing;
        }

        lock (_gate)
        {
            page = _pages[pageIndex] ??= new TranslatedBlock?[SlotsPerPage];
            TranslatedBlock? block = page[slot];
            if (block is null)
            {
                block = new TranslatedBlock(physicalAddress);
                Volatile.Write(ref page[slot], block);
            }

            return block;
        }
    }

    /// <summary>Drops every block of the physical page <paramref name="page"/> (it was written).</summary>
    public void InvalidatePage(ulong page)
    {
        lock (_gate)
        {
            int pageIndex = (int)((page - _ramBase) >> GuestMemory.PageShift);
            TranslatedBlock?[]? blocks = _pages[pageIndex];
            if (blocks is null)
            {
                return;
            }

            Volatile.Write(ref _pages[pageIndex], null);
            foreach (TranslatedBlock? block in blocks)
            {
                if (block is not null)
                {
                    block.Invalidate();
                    if (block.Function is not null)
                    {
                        Interlocked.Increment(ref _blocksInvalidated);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Records the size of a newly compiled block. Returns false when the cache is over its
    /// bound; the caller then flushes it.
    /// </summary>
    public bool Account(int bytes) => Interlocked.Add(ref _bytes, bytes) <= _capacityBytes;

    /// <summary>Drops every block (the cache is full).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            for (int i = 0; i < _pages.Length; i++)
            {
                if (_pages[i] is { } blocks)
                {
                    Volatile.Write(ref _pages[i], null);
                    foreach (TranslatedBlock? block in blocks)
                    {
                        block?.Invalidate();
                    }
                }
            }

            Interlocked.Exchange(ref _bytes, 0);
            Interlocked.Increment(ref _flushes);
        }
    }
}
