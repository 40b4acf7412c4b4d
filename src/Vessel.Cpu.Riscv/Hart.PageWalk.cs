using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The Sv39/Sv48 page-table walker: permission checks (U, SUM, MXR), superpage alignment,
/// reserved bits, and hardware update of the A and D bits (as QEMU does: the PTE is updated
/// with a compare-and-swap so that concurrent harts and the guest's own updates are not lost).
/// </summary>
public sealed unsafe partial class Hart
{
    private const ulong SatpModeBare = 0;
    private const ulong SatpModeSv39 = 8;
    private const ulong SatpModeSv48 = 9;
    private const int SatpAsidShift = 44;
    private const ulong SatpAsidMask = 0xffff;

    private const ulong PteValid = 1 << 0;
    private const ulong PteRead = 1 << 1;
    private const ulong PteWrite = 1 << 2;
    private const ulong PteExecute = 1 << 3;
    private const ulong PteUser = 1 << 4;
    private const ulong PteGlobal = 1 << 5;
    private const ulong PteAccessed = 1 << 6;
    private const ulong PteDirty = 1 << 7;

    // Bits 63 (N), 62:61 (PBMT) and 60:54 (reserved): none of Svnapot/Svpbmt is implemented,
    // so a PTE with any of them set is invalid.
    private const ulong PteReservedMask = 0xffc0_0000_0000_0000;
    private const int PtePpnShift = 10;
    private const ulong PtePpnMask = (1UL << 44) - 1;

    /// <param name="global">
    /// Whether the mapping is global: G set in any PTE of the walk (a global non-leaf PTE makes
    /// every mapping below it global), so it is the same in all address spaces.
    /// </param>
    private bool WalkPageTable(ulong address, AccessKind kind, int mmuIndex, out ulong physical, out ulong pageSize, out bool global)
    {
        physical = 0;
        pageSize = GuestMemory.PageSize;
        global = false;
        ExceptionCause pageFault = kind switch
        {
            AccessKind.Load => ExceptionCause.LoadPageFault,
            AccessKind.Store => ExceptionCause.StorePageFault,
            _ => ExceptionCause.InstructionPageFault,
        };
        ExceptionCause accessFault = kind switch
        {
            AccessKind.Load => ExceptionCause.LoadAccessFault,
            AccessKind.Store => ExceptionCause.StoreAccessFault,
            _ => ExceptionCause.InstructionAccessFault,
        };

        int levels = (_satp >> 60) == SatpModeSv48 ? 4 : 3;
        int vaBits = 12 + (9 * levels);

        // The address must be the sign extension of its top valid bit.
        long signBits = (long)address >> (vaBits - 1);
        if (signBits != 0 && signBits != -1)
        {
            return Fault(pageFault, address);
        }

        ulong table = (_satp & PtePpnMask) << 12;
        for (int level = levels - 1; level >= 0; level--)
        {
            ulong vpn = (address >> (12 + (9 * level))) & 0x1ff;
            ulong pteAddress = table + (vpn * 8);
            if (!_memory.Contains(pteAddress, 8))
            {
                return Fault(accessFault, address);
            }

            ulong* ptePointer = (ulong*)(_memory.HostPointer + (pteAddress - _memory.Base));
            ulong pte = Volatile.Read(ref *ptePointer);

            if ((pte & PteValid) == 0 || ((pte & PteRead) == 0 && (pte & PteWrite) != 0) || (pte & PteReservedMask) != 0)
            {
                return Fault(pageFault, address);
            }

            global |= (pte & PteGlobal) != 0;
            if ((pte & (PteRead | PteExecute)) == 0)
            {
                // Pointer to the next level (A, D and U are reserved here; like QEMU we ignore them).
                if (level == 0)
                {
                    return Fault(pageFault, address);
                }

                table = ((pte >> PtePpnShift) & PtePpnMask) << 12;
                continue;
            }

            if (!LeafPermits(pte, kind, mmuIndex))
            {
                return Fault(pageFault, address);
            }

            ulong ppn = (pte >> PtePpnShift) & PtePpnMask;
            ulong lowerMask = (1UL << (9 * level)) - 1;
            if ((ppn & lowerMask) != 0)
            {
                return Fault(pageFault, address); // misaligned superpage
            }

            ulong wanted = PteAccessed | (kind == AccessKind.Store ? PteDirty : 0);
            if ((pte & wanted) != wanted)
            {
                // Set A (and D for stores) atomically; if the PTE changed meanwhile, walk again.
                ulong updated = pte | wanted;
                if (Interlocked.CompareExchange(ref *ptePointer, updated, pte) != pte)
                {
                    level = levels;
                    table = (_satp & PtePpnMask) << 12;
                    global = false;
                    continue;
                }

                _memory.NoteWrite(pteAddress, 8);
            }

            pageSize = 1UL << (12 + (9 * level));
            physical = ((ppn << 12) & ~(pageSize - 1)) | (address & (pageSize - 1));
            return true;
        }

        return Fault(pageFault, address);
    }

    private bool LeafPermits(ulong pte, AccessKind kind, int mmuIndex)
    {
        bool userPage = (pte & PteUser) != 0;
        switch (mmuIndex)
        {
            case MmuIndexUser:
                if (!userPage)
                {
                    return false;
                }

                break;
            case MmuIndexSupervisor:
                if (userPage)
                {
                    return false;
                }

                break;
            case MmuIndexSupervisorSum:
                // SUM lets S-mode load and store to user pages, but never execute them.
                if (userPage && kind == AccessKind.Fetch)
                {
                    return false;
                }

                break;
        }

        return kind switch
        {
            AccessKind.Load => (pte & PteRead) != 0 || ((_mstatus & MstatusMxr) != 0 && (pte & PteExecute) != 0),
            AccessKind.Store => (pte & PteWrite) != 0,
            _ => (pte & PteExecute) != 0,
        };
    }
}
