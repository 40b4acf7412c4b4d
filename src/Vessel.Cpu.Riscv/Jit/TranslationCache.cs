using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The processor's blocks, keyed by guest physical address and shared by all harts (the code
/// is position independent: it takes its virtual page from the pc, so every mapping of a page
/// runs the same translation). Blocks live in one small hash table per physical page of RAM
/// (<see cref="PageBlocks"/>), so that a lookup takes no lock and a write to a page drops exactly
/// the blocks translated from it. The cache is bounded by the IL it holds; past the bound
/// everything is dropped at once.
/// </summary>
/// <remarks>
/// A page's table starts with room for a few blocks and doubles as it fills. A boot of the
/// reference guest puts ~30 blocks on each of ~530 code pages: one slot per halfword (2,048
/// references, 16 KiB a page) held 8 MiB of a 1-hart VM's idle memory; the tables hold a
/// few hundred KiB.
/// </remarks>
internal sealed class TranslationCache
{
    private readonly object _gate = new();
    private readonly ulong _ramBase;
    private readonly PageBlocks?[] _pages;
    private readonly long _capacityBytes;
    private long _bytes;
    private long _blocksInvalidated;
    private long _flushes;

    public TranslationCache(GuestMemory memory, long capacityBytes)
    {
        _ramBase = memory.Base;
        _pages = new PageBlocks?[memory.Size >> GuestMemory.PageShift];
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
        int pageIndex = (int)((physicalAddress - _ramBase) >> GuestMemory.PageShift);
        if (Volatile.Read(ref _pages[pageIndex])?.Find(physicalAddress) is { } existing)
        {
            return existing;
        }

        lock (_gate)
        {
            PageBlocks page = _pages[pageIndex] ?? new PageBlocks();
            TranslatedBlock? block = page.Find(physicalAddress);
            if (block is null)
            {
                block = new TranslatedBlock(physicalAddress);
                page = page.Add(block);
            }

            Volatile.Write(ref _pages[pageIndex], page);
            return block;
        }
    }

    /// <summary>Drops every block of the physical page <paramref name="page"/> (it was written).</summary>
    public void InvalidatePage(ulong page)
    {
        lock (_gate)
        {
            int pageIndex = (int)((page - _ramBase) >> GuestMemory.PageShift);
            PageBlocks? blocks = _pages[pageIndex];
            if (blocks is null)
            {
                return;
            }

            Volatile.Write(ref _pages[pageIndex], null);
            foreach (TranslatedBlock? block in blocks.Slots)
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
                    foreach (TranslatedBlock? block in blocks.Slots)
                    {
                        block?.Invalidate();
                    }
                }
            }

            Interlocked.Exchange(ref _bytes, 0);
            Interlocked.Increment(ref _flushes);
        }
    }

    /// <summary>
    /// The blocks of one page: an open-addressing table keyed by the block's address (linear
    /// probing from its halfword index). Readers probe without a lock: slots are only ever
    /// filled, each with one release write, and a full table is replaced by a larger copy; a
    /// reader holding the old copy that misses a block takes the lock and looks again.
    /// </summary>
    private sealed class PageBlocks
    {
        private const int InitialCapacity = 8;

        private readonly int _mask;
        private int _count;

        public PageBlocks(int capacity = InitialCapacity)
        {
            Slots = new TranslatedBlock?[capacity];
            _mask = capacity - 1;
        }

        public TranslatedBlock?[] Slots { get; }

        public TranslatedBlock? Find(ulong physicalAddress)
        {
            TranslatedBlock?[] slots = Slots;
            for (int i = Home(physicalAddress); ; i = (i + 1) & _mask)
            {
                TranslatedBlock? block = Volatile.Read(ref slots[i]);
                if (block is null || block.PhysicalAddress == physicalAddress)
                {
                    return block;
                }
            }
        }

        /// <summary>Adds a block (under the cache's lock); returns the table that now holds it, this one or a larger copy.</summary>
        public PageBlocks Add(TranslatedBlock block)
        {
            // At most three quarters full, so that a probe always ends at an empty slot soon.
            PageBlocks target = this;
            if ((_count + 1) * 4 > Slots.Length * 3)
            {
                target = new PageBlocks(Slots.Length * 2);
                foreach (TranslatedBlock? existing in Slots)
                {
                    if (existing is not null)
                    {
                        target.Insert(existing);
                    }
                }
            }

            target.Insert(block);
            return target;
        }

        private void Insert(TranslatedBlock block)
        {
            int i = Home(block.PhysicalAddress);
            while (Slots[i] is not null)
            {
                i = (i + 1) & _mask;
            }

            Volatile.Write(ref Slots[i], block);
            _count++;
        }

        private int Home(ulong physicalAddress) => (int)(physicalAddress >> 1) & _mask;
    }
}
