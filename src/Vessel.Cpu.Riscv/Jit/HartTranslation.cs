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
/// address, so it is flushed whenever the hart's TLB bank is (sfence.vma, a bank reused for
/// another address space) and entries of one bank never match in another; the entries
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

    // Each TLB bank (one cached address space, see Hart.Memory.cs) has its own jump-cache and
    // link generations, drawn from hart-wide counters so that no two banks, nor two lives of one
    // bank, ever share a number: an entry or link made in one address space never matches in
    // another, and one made before a flush never matches after it. Entries of all banks share
    // the table (a switch back finds what the other spaces did not overwrite).
    private readonly uint[] _bankGeneration;
    private readonly ulong[] _bankLinkGeneration;
    private uint _lastGeneration;
    private ulong _lastLinkGeneration;
    private int _bank;

    /// <summary>Generation of the current bank's entries: older or other banks' entries are stale.</summary>
    private uint _generation;

    /// <summary>
    /// Generation of the entries for code in global pages, valid in every bank: a global mapping
    /// is the same in all address spaces, and only a fence for all of them (or one of its page)
    /// may change it, so kernel code keeps its entries across address-space switches.
    /// </summary>
    private uint _globalGeneration;

    public HartTranslation(Translator translator, int hartIndex, int banks, int currentBank)
    {
        Translator = translator;
        HartIndex = hartIndex;
        _bankGeneration = new uint[banks];
        _bankLinkGeneration = new ulong[banks];
        FlushAllContexts();
        SelectContext(currentBank);
    }

    public Translator Translator { get; }

    /// <summary>The hart's position among the translator's harts: which link slots of a block are its own.</summary>
    public int HartIndex { get; }

    /// <summary>
    /// Generation of this hart's exit links (<see cref="ExitLink"/>) in the current address
    /// space: renewed by every flush of the jump cache, whole or one page, since a link caches a
    /// virtual-to-physical lookup too, and different in every bank.
    /// </summary>
    public ulong LinkGeneration { get; private set; }

    // Statistics, written by the hart's thread only.
    public long Dispatches;
    public long JumpCacheMisses;
    public long TranslatedInstructions;
    public long InterpretedInstructions;
    public long ChainedDispatches;
    public long FirstTierInstructions;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslatedBlock? Lookup(int mmuIndex, ulong pc)
    {
        ref Entry entry = ref EntryFor(mmuIndex, pc);
        return entry.Pc == pc && (entry.Generation == _generation || entry.Generation == _globalGeneration) ? entry.Block : null;
    }

    /// <param name="global">Whether <paramref name="pc"/> was translated through a global mapping.</param>
    public void Remember(int mmuIndex, ulong pc, TranslatedBlock block, bool global)
    {
        ref Entry entry = ref EntryFor(mmuIndex, pc);
        entry.Pc = pc;
        entry.Generation = global ? _globalGeneration : _generation;
        entry.Block = block;
    }

    /// <summary>Drops the entries made for global pages (a fence for all address spaces, a change of satp mode).</summary>
    public void FlushGlobalContext()
    {
        if (_lastGeneration == uint.MaxValue)
        {
            FlushAllContexts();
            return;
        }

        _globalGeneration = ++_lastGeneration;
    }

    /// <summary>Makes the entries and links of TLB bank <paramref name="bank"/> the live ones (satp now selects it).</summary>
    public void SelectContext(int bank)
    {
        _bank = bank;
        _generation = _bankGeneration[bank];
        LinkGeneration = _bankLinkGeneration[bank];
    }

    /// <summary>Drops the entries and links of TLB bank <paramref name="bank"/> (its translations were flushed).</summary>
    public void FlushContext(int bank)
    {
        if (_lastGeneration == uint.MaxValue)
        {
            FlushAllContexts();
            return;
        }

        _bankGeneration[bank] = ++_lastGeneration;
        _bankLinkGeneration[bank] = ++_lastLinkGeneration;
        if (bank == _bank)
        {
            SelectContext(bank);
        }
    }

    /// <summary>Drops the entries and links of every bank (the whole TLB was flushed).</summary>
    public void FlushAllContexts()
    {
        // New generations are enough (remote fences come often with several harts); only when
        // the counter would wrap, after 2^32 flushes, could old entries come back to life:
        // then the table is cleared (cleared entries have generation 0, which never matches).
        if (_lastGeneration > uint.MaxValue - (uint)_bankGeneration.Length - 1)
        {
            Array.Clear(_entries);
            _lastGeneration = 0;
        }

        for (int bank = 0; bank < _bankGeneration.Length; bank++)
        {
            _bankGeneration[bank] = ++_lastGeneration;
            _bankLinkGeneration[bank] = ++_lastLinkGeneration;
        }

        _globalGeneration = ++_lastGeneration;
        SelectContext(_bank);
    }

    /// <summary>Drops the entries that may hold pcs of the virtual page <paramref name="virtualPage"/>.</summary>
    public void FlushJumpCachePage(ulong virtualPage)
    {
        // Links are not indexed by page: one-page flushes drop them all, in every bank (cheap,
        // and rare enough that relinking through the jump cache costs little). The entries of
        // the page are dropped whatever their bank.
        for (int bank = 0; bank < _bankLinkGeneration.Length; bank++)
        {
            _bankLinkGeneration[bank] = ++_lastLinkGeneration;
        }

        LinkGeneration = _bankLinkGeneration[_bank];
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
