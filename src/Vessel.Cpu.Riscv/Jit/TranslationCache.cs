using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The processor's blocks, keyed by guest physical address and shared by all harts (the code
/// is position independent: it takes its virtual page from the pc, so every mapping of a page
/// runs the same translation). Blocks are also listed per physical page so that a write to a
/// page drops exactly the blocks translated from it. The cache is bounded by the IL it holds;
/// past the bound everything is dropped at once.
/// </summary>
internal sealed class TranslationCache
{
    private readonly object _gate = new();
    private readonly Dictionary<ulong, TranslatedBlock> _blocks = [];
    private readonly Dictionary<ulong, List<TranslatedBlock>> _pages = [];
    private readonly long _capacityBytes;
    private long _bytes;

    public TranslationCache(long capacityBytes)
    {
        _capacityBytes = capacityBytes;
    }

    /// <summary>Blocks invalidated by writes to their page (statistics).</summary>
    public long BlocksInvalidated { get; private set; }

    /// <summary>Times the whole cache was dropped because it was full (statistics).</summary>
    public long Flushes { get; private set; }

    /// <summary>Bytes of IL held by live translations.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The block that starts at <paramref name="physicalAddress"/>, created cold if new.</summary>
    public TranslatedBlock GetOrCreate(ulong physicalAddress)
    {
        lock (_gate)
        {
            if (_blocks.TryGetValue(physicalAddress, out TranslatedBlock? block))
            {
                return block;
            }

            block = new TranslatedBlock(physicalAddress);
            _blocks.Add(physicalAddress, block);
            ulong page = physicalAddress & ~(GuestMemory.PageSize - 1);
            if (!_pages.TryGetValue(page, out List<TranslatedBlock>? list))
            {
                list = [];
                _pages.Add(page, list);
            }

            list.Add(block);
            return block;
        }
    }

    /// <summary>Drops every block of the physical page <paramref name="page"/> (it was written).</summary>
    public void InvalidatePage(ulong page)
    {
        lock (_gate)
        {
            if (!_pages.Remove(page, out List<TranslatedBlock>? list))
            {
                return;
            }

            foreach (TranslatedBlock block in list)
            {
                block.Invalidate();
                _blocks.Remove(block.PhysicalAddress);
                if (block.Function is not null)
                {
                    BlocksInvalidated++;
                }
            }
        }
    }

    /// <summary>
    /// Records the size of a newly compiled block. Returns false when the cache is over its
    /// bound; the caller then flushes it.
    /// </summary>
    public bool Account(int bytes) => Interlocked.Add(ref _bytes, bytes) <= _capacityBytes;

    /// <summary>Drops every block (the cache is full, or the guest's code changed wholesale).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            foreach (TranslatedBlock block in _blocks.Values)
            {
                block.Invalidate();
            }

            _blocks.Clear();
            _pages.Clear();
            Interlocked.Exchange(ref _bytes, 0);
            Flushes++;
        }
    }
}
