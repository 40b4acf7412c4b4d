using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Builds Sv39 page tables in a test machine's RAM: 4 KiB leaves, tables taken from a bump
/// allocator. Tests write the same tables into both machines they compare.
/// </summary>
public sealed class PageTables
{
    public const ulong Valid = 1, Read = 2, Write = 4, Execute = 8, User = 16, Global = 32, Accessed = 64, Dirty = 128;
    public const ulong Rwx = Read | Write | Execute | Accessed | Dirty;

    private readonly Dictionary<ulong, ulong> _entries = [];
    private ulong _next;

    /// <param name="tableArea">Physical address of a free, page-aligned area for the tables.</param>
    public PageTables(ulong tableArea)
    {
        Root = tableArea;
        _next = tableArea + 4096;
    }

    public ulong Root { get; }

    /// <summary>The satp value that selects these tables (Sv39, ASID 0).</summary>
    public ulong Satp => (8UL << 60) | (Root >> 12);

    /// <summary>The satp value that selects these tables as address space <paramref name="asid"/>.</summary>
    public ulong SatpWithAsid(ulong asid) => Satp | (asid << 44);

    /// <summary>Maps the 4 KiB page at <paramref name="virtualAddress"/> to <paramref name="physicalAddress"/>.</summary>
    public void Map(ulong virtualAddress, ulong physicalAddress, ulong flags = Rwx) =>
        _entries[LeafAddress(virtualAddress)] = ((physicalAddress >> 12) << 10) | flags | Valid;

    /// <summary>Physical address of the level-0 PTE that maps <paramref name="virtualAddress"/> (creating tables as needed).</summary>
    public ulong LeafAddress(ulong virtualAddress)
    {
        ulong table = Root;
        for (int level = 2; level > 0; level--)
        {
            ulong pteAddress = table + (((virtualAddress >> (12 + (9 * level))) & 0x1ff) * 8);
            if (!_entries.TryGetValue(pteAddress, out ulong pte))
            {
                pte = ((_next >> 12) << 10) | Valid;
                _next += 4096;
                _entries[pteAddress] = pte;
            }

            table = (pte >> 10) << 12;
        }

        return table + (((virtualAddress >> 12) & 0x1ff) * 8);
    }

    /// <summary>The PTE value that maps a page to <paramref name="physicalAddress"/>.</summary>
    public static ulong Leaf(ulong physicalAddress, ulong flags = Rwx) => ((physicalAddress >> 12) << 10) | flags | Valid;

    public void WriteTo(TestMachine machine)
    {
        foreach ((ulong address, ulong pte) in _entries)
        {
            machine.Memory.Write(address, pte);
        }
    }
}
