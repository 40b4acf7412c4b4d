using System.Runtime.CompilerServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Mmu;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// Loads, stores and instruction fetch through the software TLB. A TLB hit turns a guest
/// virtual address into a host pointer with one compare and one add; a miss walks the page
/// table (<c>Hart.PageWalk.cs</c>), and accesses to MMIO, to pages holding decoded code, and
/// accesses that cross a page all take the slow path.
/// </summary>
public sealed unsafe partial class Hart
{
    // The TLB has one table per "MMU index" (translation context) and access kind, so that
    // switching privilege or toggling SUM selects another table instead of flushing.
    private const int TlbBits = 8;
    private const int TlbSize = 1 << TlbBits;
    private const int TlbMask = TlbSize - 1;
    private const int MmuIndexCount = 4;
    private const int AccessKinds = 3;
    private const int TlbTotalEntries = TlbSize * MmuIndexCount * AccessKinds;

    private const int MmuIndexMachine = 0;      // M-mode (no translation)
    private const int MmuIndexSupervisor = 1;   // S-mode, SUM clear
    private const int MmuIndexSupervisorSum = 2; // S-mode, SUM set (may touch user pages)
    private const int MmuIndexUser = 3;

    private const ulong PageOffsetMask = GuestMemory.PageSize - 1;

    // Address-space contexts kept at once. Linux tags every process with its own ASID and
    // switches satp on each context switch without a fence; keeping the entries of the last few
    // address spaces (each in its own bank, keyed by the whole satp value) lets a switch back
    // find its translations, as a hardware TLB tagged with ASIDs does (privileged spec 1.12,
    // 4.1.11: a satp write need not flush; entries of other ASIDs may stay cached).
    private const int TlbBanks = 8;
    private const ulong BankFree = ulong.MaxValue; // no satp value has all bits set (mode 15 is never legal)

    private TlbEntry* _tlbBanks; // TlbBanks consecutive banks of TlbTotalEntries entries each
    private TlbEntry* _tlb;      // the bank of the current satp
    private int _tlbBank;
    private readonly ulong[] _bankSatp = new ulong[TlbBanks];

    // Whether each entry (meaningful for fetch entries) was made from a global mapping, beside
    // the entries so that the translator's inline lookup keeps its 16-byte layout.
    private readonly bool[] _tlbGlobal = new bool[TlbBanks * TlbTotalEntries];

    // Whether the last successful translation came from a global mapping.
    private bool _translatedGlobal;
    private readonly ulong[] _bankLastUse = new ulong[TlbBanks];
    private ulong _bankUseClock;

    // Why the TLB was flushed or kept (VESSEL_STATS=1): written by the hart's thread only.
    internal long TlbContextSwitches;   // satp writes that changed its value
    internal long TlbContextHits;       // ... that found the new address space still cached
    internal long FencesAll;            // sfence.vma x0, x0
    internal long FencesAsid;           // sfence.vma x0, asid
    internal long FencesPage;           // sfence.vma address, x0
    internal long FencesPageAsid;       // sfence.vma address, asid
    private TlbEntry* _tlbLoad;
    private TlbEntry* _tlbStore;
    private TlbEntry* _tlbFetch;
    private int _dataMmuIndex;
    private int _fetchMmuIndex;

    // Virtual address range covered by entries made from superpages, so that an address-specific
    // sfence.vma knows when a single-page flush is not enough.
    private ulong _superpageLow = ulong.MaxValue;
    private ulong _superpageHigh;

    // The page of code being executed: its decoded slots and the guest virtual page they map.
    private Instruction[]?[]? _fetchSlots;
    private ulong _fetchVirtualPage = TlbEntry.Invalid;
    private byte* _fetchHostPage;
    private ulong _fetchPhysicalPage;
    private bool _fetchPageGlobal; // the fetch page's mapping is global (the same in every address space)

    // Why the last slow-path access failed.
    private ExceptionCause _faultCause;
    private ulong _faultValue;

    private enum AccessKind
    {
        Load = 0,
        Store = 1,
        Fetch = 2,
    }

    private static int TableOffset(int mmuIndex, AccessKind kind) => ((mmuIndex * AccessKinds) + (int)kind) * TlbSize;

    /// <summary>Recomputes which TLB tables loads, stores and fetches use after a change of privilege or mstatus.</summary>
    private void UpdateMmuContext()
    {
        _fetchMmuIndex = MmuIndexFor(_privilege);
        PrivilegeLevel dataPrivilege = _privilege;
        if (_privilege == PrivilegeLevel.Machine && (_mstatus & MstatusMprv) != 0)
        {
            dataPrivilege = (PrivilegeLevel)((_mstatus >> 11) & 3);
        }

        _dataMmuIndex = MmuIndexFor(dataPrivilege);
        _tlbLoad = _tlb + TableOffset(_dataMmuIndex, AccessKind.Load);
        _tlbStore = _tlb + TableOffset(_dataMmuIndex, AccessKind.Store);
        _tlbFetch = _tlb + TableOffset(_fetchMmuIndex, AccessKind.Fetch);
        InvalidateFetchPage();
    }

    private int MmuIndexFor(PrivilegeLevel privilege) => privilege switch
    {
        PrivilegeLevel.Machine => MmuIndexMachine,
        PrivilegeLevel.Supervisor => (_mstatus & MstatusSum) != 0 ? MmuIndexSupervisorSum : MmuIndexSupervisor,
        PrivilegeLevel.User => MmuIndexUser,
        _ => MmuIndexUser, // reserved MPP values are treated as U by the mstatus write path
    };

    /// <summary>
    /// Forgets every cached translation and the TLB banks' use history, so the hart goes on as a
    /// freshly restored one would (the deterministic mode resets both sides of a save this way).
    /// </summary>
    internal void ForgetCachedTranslations()
    {
        Array.Clear(_bankLastUse);
        _bankUseClock = 0;
        FlushTlb();
        UpdateMmuContext();
    }

    /// <summary>Drops every TLB entry of every bank (reset, remote fences).</summary>
    public void FlushTlb()
    {
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            // Free banks are empty already (and banks start out in use, zero-initialised
            // _bankSatp, so the first flush clears all of the fresh allocation).
            if (_bankSatp[bank] != BankFree)
            {
                ClearEntries(_tlbBanks + (bank * TlbTotalEntries), TlbTotalEntries);
            }
        }

        _superpageLow = ulong.MaxValue;
        _superpageHigh = 0;
        Array.Fill(_bankSatp, BankFree);
        _translation?.FlushAllContexts();
        AssignBank(0);
    }

    /// <summary>
    /// Makes the bank of the current satp the one loads, stores and fetches use: the bank that
    /// already caches that address space if there is one, otherwise the least recently used one,
    /// emptied. Entries of other address spaces stay in their banks.
    /// </summary>
    private void SelectBankForSatp()
    {
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            if (_bankSatp[bank] == _satp)
            {
                TlbContextHits++;
                UseBank(bank);
                _translation?.SelectContext(bank);
                return;
            }
        }

        // A free bank is empty already; otherwise the least recently used one is emptied.
        int victim = Array.IndexOf(_bankSatp, BankFree);
        if (victim < 0)
        {
            victim = 0;
            for (int bank = 1; bank < TlbBanks; bank++)
            {
                if (_bankLastUse[bank] < _bankLastUse[victim])
                {
                    victim = bank;
                }
            }

            ClearBank(victim);
        }

        AssignBank(victim);
    }

    /// <summary>Gives the (empty) bank <paramref name="bank"/> to the current satp and makes it current.</summary>
    private void AssignBank(int bank)
    {
        _bankSatp[bank] = _satp;
        _translation?.FlushContext(bank);
        UseBank(bank);
        _translation?.SelectContext(bank);
    }

    private void UseBank(int bank)
    {
        _tlbBank = bank;
        _bankLastUse[bank] = ++_bankUseClock;
        _tlb = _tlbBanks + (bank * TlbTotalEntries);
        UpdateMmuContext();
    }

    /// <summary>Empties one bank's translated contexts (S and U); M-mode's identity entries do not depend on satp.</summary>
    private void ClearBank(int bank)
    {
        int first = TableOffset(MmuIndexSupervisor, AccessKind.Load);
        ClearEntries(_tlbBanks + (bank * TlbTotalEntries) + first, TlbTotalEntries - first);
        _translation?.FlushContext(bank);
        if (bank == _tlbBank)
        {
            InvalidateFetchPage();
        }
    }

    private static void ClearEntries(TlbEntry* entries, int count)
    {
        for (int i = 0; i < count; i++)
        {
            entries[i].Tag = TlbEntry.Invalid;
        }
    }

    /// <summary>Whether the bank caches an address space with ASID <paramref name="asid"/> (any ASID when null).</summary>
    private bool BankMatches(int bank, ulong? asid) =>
        _bankSatp[bank] != BankFree && (asid is null || ((_bankSatp[bank] >> SatpAsidShift) & SatpAsidMask) == asid.Value);

    /// <summary>
    /// <c>sfence.vma</c> without an address: drops the translations of the address spaces with
    /// ASID <paramref name="asid"/>, or of all address spaces when null (rs2 = x0). Other banks
    /// are released so that they need no clearing when reused.
    /// </summary>
    private void FlushTranslatedTlb(ulong? asid)
    {
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            if (BankMatches(bank, asid))
            {
                ClearBank(bank);
                if (bank != _tlbBank)
                {
                    _bankSatp[bank] = BankFree;
                }
            }
        }

        if (asid is null)
        {
            // Only a fence for all address spaces orders global mappings (an ASID fence leaves them).
            _superpageLow = ulong.MaxValue;
            _superpageHigh = 0;
            _translation?.FlushGlobalContext();
        }
    }

    /// <summary>Drops the load entries of translated contexts in every bank (mstatus.MXR changed).</summary>
    private void FlushTranslatedLoadTlb()
    {
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            for (int index = MmuIndexSupervisor; index < MmuIndexCount; index++)
            {
                ClearEntries(_tlbBanks + (bank * TlbTotalEntries) + TableOffset(index, AccessKind.Load), TlbSize);
            }
        }
    }

    /// <summary>
    /// Drops every fast store path from another thread while the hart is parked (the machine
    /// paused): dirty logging was turned on or its bits were taken, so the next store to each page
    /// must go through the slow path again and be logged.
    /// </summary>
    internal void FlushStoreTlbWhileParked() => FlushStoreTlb();

    /// <summary>Drops every store entry of every bank (dirty logging turned on or reset).</summary>
    private void FlushStoreTlb()
    {
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            for (int index = 0; index < MmuIndexCount; index++)
            {
                ClearEntries(_tlbBanks + (bank * TlbTotalEntries) + TableOffset(index, AccessKind.Store), TlbSize);
            }
        }
    }

    /// <summary>
    /// Drops the entries for one virtual page (<c>sfence.vma</c> with an address) in the address
    /// spaces with ASID <paramref name="asid"/>, or in all of them when null (rs2 = x0).
    /// </summary>
    private void FlushTlbPage(ulong virtualAddress, ulong? asid)
    {
        if (virtualAddress >= _superpageLow && virtualAddress <= _superpageHigh)
        {
            // Part of a superpage may be cached under any of its 4 KiB pages.
            FlushTranslatedTlb(asid);
            return;
        }

        ulong page = virtualAddress & ~PageOffsetMask;
        int slot = (int)(virtualAddress >> GuestMemory.PageShift) & TlbMask;
        for (int bank = 0; bank < TlbBanks; bank++)
        {
            if (!BankMatches(bank, asid))
            {
                continue;
            }

            TlbEntry* entries = _tlbBanks + (bank * TlbTotalEntries);
            for (int table = MmuIndexSupervisor * AccessKinds; table < MmuIndexCount * AccessKinds; table++)
            {
                ref TlbEntry entry = ref entries[(table * TlbSize) + slot];
                if (entry.Tag == page)
                {
                    entry.Tag = TlbEntry.Invalid;
                }
            }
        }

        if (page == _fetchVirtualPage)
        {
            InvalidateFetchPage();
        }

        _translation?.FlushJumpCachePage(page);
    }

    /// <summary>
    /// Drops store entries that point at the physical page <paramref name="physicalPage"/>: the
    /// page now holds decoded code and its stores must go through the slow path. Called on the
    /// thread that decoded the page; for harts on other threads the processor posts a
    /// <see cref="RemoteRequest.FlushWriteTlb"/> instead.
    /// </summary>
    internal void DropStoreEntriesFor(ulong physicalPage)
    {
        long hostPage = (long)(_memory.HostPointer + (physicalPage - _memory.Base));
        for (int table0 = 0; table0 < TlbBanks * MmuIndexCount; table0++)
        {
            // Every bank: a store entry of an address space not current now is used again on a switch back.
            TlbEntry* table = _tlbBanks + ((table0 / MmuIndexCount) * TlbTotalEntries) + TableOffset(table0 % MmuIndexCount, AccessKind.Store);
            for (int i = 0; i < TlbSize; i++)
            {
                if (table[i].Tag != TlbEntry.Invalid && (long)table[i].Tag + table[i].Addend == hostPage)
                {
                    table[i].Tag = TlbEntry.Invalid;
                }
            }
        }
    }

    private void InvalidateFetchPage()
    {
        _fetchVirtualPage = TlbEntry.Invalid;
        _fetchSlots = null;
    }

    // ------------------------------------------------------------------ data accesses

    /// <summary>
    /// Looks up a host pointer for an aligned access of <paramref name="size"/> bytes. The tag
    /// compare includes the low address bits so that a misaligned address misses.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Lookup(TlbEntry* table, ulong address, int size)
    {
        TlbEntry* entry = table + ((int)(address >> GuestMemory.PageShift) & TlbMask);
        if ((address & (~PageOffsetMask | (ulong)(size - 1))) == entry->Tag)
        {
            return (byte*)(long)(address + (ulong)entry->Addend);
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLoad8(ulong address, out ulong value)
    {
        byte* host = Lookup(_tlbLoad, address, 1);
        if (host != null)
        {
            // Safe: a TLB entry only exists for a whole RAM page inside the guest mapping.
            value = *host;
            return true;
        }

        return LoadSlow(address, 1, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLoad16(ulong address, out ulong value)
    {
        byte* host = Lookup(_tlbLoad, address, 2);
        if (host != null)
        {
            value = *(ushort*)host;
            return true;
        }

        return LoadSlow(address, 2, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLoad32(ulong address, out ulong value)
    {
        byte* host = Lookup(_tlbLoad, address, 4);
        if (host != null)
        {
            value = *(uint*)host;
            return true;
        }

        return LoadSlow(address, 4, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLoad64(ulong address, out ulong value)
    {
        byte* host = Lookup(_tlbLoad, address, 8);
        if (host != null)
        {
            value = *(ulong*)host;
            return true;
        }

        return LoadSlow(address, 8, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStore8(ulong address, ulong value)
    {
        byte* host = Lookup(_tlbStore, address, 1);
        if (host != null)
        {
            *host = (byte)value;
            return true;
        }

        return StoreSlow(address, 1, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStore16(ulong address, ulong value)
    {
        byte* host = Lookup(_tlbStore, address, 2);
        if (host != null)
        {
            *(ushort*)host = (ushort)value;
            return true;
        }

        return StoreSlow(address, 2, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStore32(ulong address, ulong value)
    {
        byte* host = Lookup(_tlbStore, address, 4);
        if (host != null)
        {
            *(uint*)host = (uint)value;
            return true;
        }

        return StoreSlow(address, 4, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStore64(ulong address, ulong value)
    {
        byte* host = Lookup(_tlbStore, address, 8);
        if (host != null)
        {
            *(ulong*)host = value;
            return true;
        }

        return StoreSlow(address, 8, value);
    }

    /// <summary>
    /// A load that missed the TLB: translates, fills the TLB for RAM, reads MMIO through the bus,
    /// and splits accesses that are misaligned (misaligned loads are performed, not trapped,
    /// as QEMU does).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool LoadSlow(ulong address, int size, out ulong value)
    {
        value = 0;
        if ((address & (ulong)(size - 1)) != 0)
        {
            if ((address & PageOffsetMask) + (ulong)size > GuestMemory.PageSize)
            {
                // Crosses a page: two translations, byte by byte (rare).
                for (int i = 0; i < size; i++)
                {
                    if (!LoadSlow(address + (ulong)i, 1, out ulong part))
                    {
                        return false;
                    }

                    value |= part << (8 * i);
                }

                return true;
            }
        }

        if (!Translate(address, AccessKind.Load, _dataMmuIndex, out ulong physical))
        {
            return false;
        }

        if (_memory.Contains(physical, (ulong)size))
        {
            byte* host = _memory.HostPointer + (physical - _memory.Base);
            value = size switch
            {
                1 => *host,
                2 => Unsafe.ReadUnaligned<ushort>(host),
                4 => Unsafe.ReadUnaligned<uint>(host),
                _ => Unsafe.ReadUnaligned<ulong>(host),
            };
            return true;
        }

        if (!_bus.TryRead(physical, size, out value))
        {
            return Fault(ExceptionCause.LoadAccessFault, address);
        }

        return true;
    }

    /// <summary>A store that missed the TLB: the counterpart of <see cref="LoadSlow"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool StoreSlow(ulong address, int size, ulong value)
    {
        if ((address & (ulong)(size - 1)) != 0 && (address & PageOffsetMask) + (ulong)size > GuestMemory.PageSize)
        {
            // Crosses a page: check both pages before writing anything, so a fault on the
            // second page leaves memory untouched.
            ulong secondPage = (address + (ulong)size - 1) & ~PageOffsetMask;
            if (!Translate(address, AccessKind.Store, _dataMmuIndex, out _) ||
                !Translate(secondPage, AccessKind.Store, _dataMmuIndex, out _))
            {
                return false;
            }

            for (int i = 0; i < size; i++)
            {
                if (!StoreSlow(address + (ulong)i, 1, value >> (8 * i)))
                {
                    return false;
                }
            }

            return true;
        }

        if (!Translate(address, AccessKind.Store, _dataMmuIndex, out ulong physical))
        {
            return false;
        }

        if (_memory.Contains(physical, (ulong)size))
        {
            _memory.NoteWrite(physical, (ulong)size);
            byte* host = _memory.HostPointer + (physical - _memory.Base);
            switch (size)
            {
                case 1: *host = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(host, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(host, (uint)value); break;
                default: Unsafe.WriteUnaligned(host, value); break;
            }

            return true;
        }

        if (!_bus.TryWrite(physical, size, value))
        {
            return Fault(ExceptionCause.StoreAccessFault, address);
        }

        return true;
    }

    /// <summary>Records a fault for the trap path; always returns false so callers can return it.</summary>
    private bool Fault(ExceptionCause cause, ulong value)
    {
        _faultCause = cause;
        _faultValue = value;
        return false;
    }

    /// <summary>
    /// Translates <paramref name="address"/> for an access of the given kind in the context
    /// <paramref name="mmuIndex"/>, checking permissions and updating A/D bits, and fills the
    /// TLB when the target is an ordinary RAM page.
    /// </summary>
    private bool Translate(ulong address, AccessKind kind, int mmuIndex, out ulong physical)
    {
        ulong pageSize = GuestMemory.PageSize;
        bool global = false;
        if (mmuIndex == MmuIndexMachine || (_satp >> 60) == SatpModeBare)
        {
            physical = address;
        }
        else if (!WalkPageTable(address, kind, mmuIndex, out physical, out pageSize, out global))
        {
            return false;
        }

        _translatedGlobal = global;

        ulong physicalPage = physical & ~PageOffsetMask;
        if (!_memory.Contains(physicalPage, GuestMemory.PageSize))
        {
            return true; // MMIO or a hole: no TLB entry, the caller goes to the bus.
        }

        if (kind == AccessKind.Store)
        {
            PageFlags flags = _memory.GetPageFlags(physicalPage);
            if ((flags & PageFlags.Code) != 0 || (_memory.DirtyLogging && !_memory.IsDirty(physicalPage)))
            {
                return true; // Stores must be seen by the code cache or the dirty log.
            }
        }

        ulong virtualPage = address & ~PageOffsetMask;
        TlbEntry* entry = _tlb + TableOffset(mmuIndex, kind) + ((int)(address >> GuestMemory.PageShift) & TlbMask);
        entry->Tag = virtualPage;
        entry->Addend = (long)(_memory.HostPointer + (physicalPage - _memory.Base)) - (long)virtualPage;
        _tlbGlobal[entry - _tlbBanks] = global;
        if (pageSize > GuestMemory.PageSize)
        {
            ulong superpage = address & ~(pageSize - 1);
            _superpageLow = Math.Min(_superpageLow, superpage);
            _superpageHigh = Math.Max(_superpageHigh, superpage + pageSize - 1);
        }

        return true;
    }

    // ------------------------------------------------------------------ instruction fetch

    /// <summary>
    /// Makes the page holding <paramref name="pc"/> the current fetch page: translates it for
    /// execution and finds its decoded slots. False (with the fault recorded) on a fetch fault.
    /// </summary>
    private bool SetFetchPage(ulong pc)
    {
        ulong virtualPage = pc & ~PageOffsetMask;
        TlbEntry* entry = _tlbFetch + ((int)(pc >> GuestMemory.PageShift) & TlbMask);
        ulong physicalPage;
        if (entry->Tag == virtualPage)
        {
            physicalPage = (ulong)((long)virtualPage + entry->Addend - (long)_memory.HostPointer) + _memory.Base;
            _fetchPageGlobal = _tlbGlobal[entry - _tlbBanks];
        }
        else
        {
            if (!Translate(pc, AccessKind.Fetch, _fetchMmuIndex, out ulong physical))
            {
                return false;
            }

            physicalPage = physical & ~PageOffsetMask;
            if (!_memory.Contains(physicalPage, GuestMemory.PageSize))
            {
                return Fault(ExceptionCause.InstructionAccessFault, pc);
            }

            _fetchPageGlobal = _translatedGlobal;
        }

        _fetchVirtualPage = virtualPage;
        _fetchPhysicalPage = physicalPage;
        _fetchHostPage = _memory.HostPointer + (physicalPage - _memory.Base);
        _fetchSlots = _decodeCache.GetPage(physicalPage);
        return true;
    }

    /// <summary>
    /// Decodes the instruction at <paramref name="pc"/> (inside the current fetch page) into its
    /// slot. An instruction that straddles two pages is not cached: it is fetched through both
    /// translations into <paramref name="uncached"/> and the method returns false in
    /// <paramref name="cached"/>.
    /// </summary>
    private bool DecodeAt(ulong pc, out bool cached, out Instruction uncached)
    {
        uint offset = (uint)(pc & PageOffsetMask);
        ushort low = *(ushort*)(_fetchHostPage + offset);
        uncached = default;
        if ((low & 3) == 3 && offset == GuestMemory.PageSize - 2)
        {
            // The upper half lives in the next page, which may fault on its own.
            cached = false;
            ulong next = pc + 2;
            if (!Translate(next, AccessKind.Fetch, _fetchMmuIndex, out ulong physical))
            {
                return false;
            }

            if (!_memory.TryRead(physical, out ushort high))
            {
                return Fault(ExceptionCause.InstructionAccessFault, next);
            }

            uncached = Decoder.Decode(low | ((uint)high << 16));
            return true;
        }

        cached = true;
        uint bits = (low & 3) == 3 ? *(uint*)(_fetchHostPage + offset) : low;
        _decodeCache.EnsureCodePage(_fetchPhysicalPage);
        DecodeCache.Publish(ref DecodeCache.Slot(_fetchSlots!, (int)(offset >> 1)), Decoder.Decode(bits));
        return true;
    }

    /// <summary>Reads a doubleword at a virtual address in the current data context (legacy SBI calls).</summary>
    internal bool TryReadVirtual64(ulong address, out ulong value) => TryLoad64(address, out value);
}
