using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// Builds Sv39 or Sv48 page tables directly in guest RAM, as a kernel would: tables are taken
/// from a pool of zeroed pages, and <see cref="Map"/> creates the intermediate levels on the way
/// to a leaf of the requested size.
/// </summary>
public sealed class PageTableBuilder
{
    public const ulong Page4K = 1UL << 12;
    public const ulong Page2M = 1UL << 21;
    public const ulong Page1G = 1UL << 30;
    public const ulong Page512G = 1UL << 39;

    private readonly GuestMemory _memory;
    private ulong _nextTable;

    /// <param name="memory">Guest RAM.</param>
    /// <param name="pool">Page-aligned RAM address where tables are allocated (must be zero).</param>
    /// <param name="levels">3 for Sv39, 4 for Sv48.</param>
    public PageTableBuilder(GuestMemory memory, ulong pool, int levels = 3)
    {
        if (levels is not (3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(levels), levels, "Sv39 has 3 levels, Sv48 has 4");
        }

        _memory = memory;
        _nextTable = pool;
        Levels = levels;
        Root = AllocateTable();
    }

    public int Levels { get; }

    /// <summary>Physical address of the root table.</summary>
    public ulong Root { get; }

    /// <summary>The satp value selecting these tables (MODE = 8 for Sv39, 9 for Sv48).</summary>
    public ulong Satp(ushort asid = 0) => ((Levels == 3 ? 8UL : 9UL) << 60) | ((ulong)asid << 44) | (Root >> 12);

    /// <summary>Maps [va, va + size) to [pa, pa + size) with a leaf of that size (4K, 2M, 1G or, in Sv48, 512G).</summary>
    public void Map(ulong va, ulong pa, ulong size, Pte flags)
    {
        int level = size switch
        {
            Page4K => 0,
            Page2M => 1,
            Page1G => 2,
            Page512G when Levels == 4 => 3,
            _ => throw new ArgumentOutOfRangeException(nameof(size), size, "not a page size of this mode"),
        };
        SetLeaf(va, level, ((pa >> 12) << 10) | (ulong)flags);
    }

    /// <summary>Maps a range page by page with 4 KiB leaves.</summary>
    public void MapRange(ulong va, ulong pa, ulong length, Pte flags)
    {
        for (ulong offset = 0; offset < length; offset += Page4K)
        {
            Map(va + offset, pa + offset, Page4K, flags);
        }
    }

    /// <summary>Writes a raw PTE at <paramref name="level"/> for <paramref name="va"/> (for malformed entries), creating the levels above.</summary>
    public void SetLeaf(ulong va, int level, ulong pte) => _memory.Write(EntryAddress(va, level, create: true), pte);

    /// <summary>The PTE currently at <paramref name="level"/> for <paramref name="va"/> (to check A/D updates).</summary>
    public ulong ReadEntry(ulong va, int level) => _memory.Read<ulong>(EntryAddress(va, level, create: false));

    /// <summary>Guest physical address of the PTE at <paramref name="level"/> for <paramref name="va"/>.</summary>
    public ulong EntryAddress(ulong va, int level, bool create = false)
    {
        ulong table = Root;
        for (int current = Levels - 1; current > level; current--)
        {
            ulong entryAddress = table + (Vpn(va, current) * 8);
            ulong entry = _memory.Read<ulong>(entryAddress);
            if ((entry & (ulong)Pte.V) == 0)
            {
                if (!create)
                {
                    throw new InvalidOperationException($"no table at level {current} for 0x{va:x}");
                }

                ulong next = AllocateTable();
                entry = ((next >> 12) << 10) | (ulong)Pte.V;
                _memory.Write(entryAddress, entry);
            }
            else if ((entry & (ulong)(Pte.R | Pte.W | Pte.X)) != 0)
            {
                throw new InvalidOperationException($"0x{va:x} is already covered by a leaf at level {current}");
            }

            table = ((entry >> 10) & ((1UL << 44) - 1)) << 12;
        }

        return table + (Vpn(va, level) * 8);
    }

    private static ulong Vpn(ulong va, int level) => (va >> (12 + (9 * level))) & 0x1ff;

    private ulong AllocateTable()
    {
        ulong table = _nextTable;
        _nextTable += Page4K;
        _memory.GetWriteSpan(table, (int)Page4K).Clear();
        return table;
    }
}
