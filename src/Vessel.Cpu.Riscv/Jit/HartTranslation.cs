using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// One hart's translator state: the jump cache, which maps a virtual pc to its block without
/// translating the address or taking the cache's lock, and counters for the statistics.
/// </summary>
/// <remarks>
/// The jump cache has one table per fetch MMU index (M, S, S with SUM, U), since the same
/// virtual pc means different code in different translation contexts. It is keyed by virtual
/// address, so it is flushed whenever the hart's TLB is (satp writes, sfence.vma); the entries
/// of one virtual page sit together so that a one-page flush is cheap, as in QEMU's
/// <c>tb_jmp_cache</c>. Only the hart's own thread touches it.
/// </remarks>
internal sealed class HartTranslation
{
    private const int PageHashBits = 6;
    private const int OffsetBits = 7;
    private const int TableBits = PageHashBits + OffsetBits;
    private const int TableSize = 1 << TableBits;
    private const int Tables = 4;
    private const int GroupSize = 1 << OffsetBits;

    private readonly Entry[] _entries = new Entry[Tables * TableSize];

    /// <summary>Entries of older generations are stale: flushing the whole cache is one increment.</summary>
    private uint _generation = 1;

    public HartTranslation(Translator translator, int hartIndex)
    {
        Translator = translator;
        HartIndex = hartIndex;
    }

    public Translator Translator { get; }

    /// <summary>The hart's position among the translator's harts: which link slots of a block are its own.</summary>
    public int HartIndex { get; }

    /// <summary>
    /// Generation of this hart's exit links (<see cref="ExitLink"/>): bumped by every flush of
    /// the jump cache, whole or one page, since a link caches a virtual-to-physical lookup too.
    /// </summary>
    public ulong LinkGeneration { get; private set; } = 1;

    // Statistics, written by the hart's thread only.
    public long Dispatches;
    public long JumpCacheMisses;
    public long TranslatedInstructions;
    public long InterpretedInstructions;
    public long ChainedDispatches;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslatedBlock? Lookup(int mmuIndex, ulong pc)
    {
        ref Entry entry = ref EntryFor(mmuIndex, pc);
        return entry.Pc == pc && entry.Generation == _generation ? entry.Block : null;
    }

    public void Remember(int mmuIndex, ulong pc, TranslatedBlock block)
    {
        ref Entry entry = ref EntryFor(mmuIndex, pc);
        entry.Pc = pc;
        entry.Generation = _generation;
        entry.Block = block;
    }

    /// <summary>Drops every entry (the hart's TLB was flushed: satp write, global sfence.vma).</summary>
    public void FlushJumpCache()
    {
        LinkGeneration++;
        if (++_generation == 0)
        {
            // Wrapped after 2^32 flushes: entries of generation 1 could come back to life.
            Array.Clear(_entries);
            _generation = 1;
        }
    }

    /// <summary>Drops the entries that may hold pcs of the virtual page <paramref name="virtualPage"/>.</summary>
    public void FlushJumpCachePage(ulong virtualPage)
    {
        // Links are not indexed by page: one-page flushes drop them all (cheap, and rare
        // enough that relinking through the jump cache costs little).
        LinkGeneration++;
        int group = PageHash(virtualPage) << OffsetBits;
        for (int table = 0; table < Tables; table++)
        {
            Array.Clear(_entries, (table * TableSize) + group, GroupSize);
        }
    }

    private static int PageHash(ulong pc) => (int)(pc >> GuestMemory.PageShift) & ((1 << PageHashBits) - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry EntryFor(int mmuIndex, ulong pc)
    {
        int index = (mmuIndex << TableBits) | (PageHash(pc) << OffsetBits) | ((int)(pc >> 1) & (GroupSize - 1));

        // Safe: mmuIndex is 0..3 and the rest of the index is masked to TableBits bits, so the
        // index is below Tables * TableSize, the array's length.
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), index);
    }

    private struct Entry
    {
        public ulong Pc;
        public TranslatedBlock? Block;
        public uint Generation; // 0 never matches: cleared entries are empty
    }
}
