using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Jit;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// The per-page structures of the translation cache (a table that grows as blocks arrive) and
/// the decode cache (slots in chunks made on first use): whatever their layout, a lookup finds
/// what was stored, and a write to a page drops exactly that page's blocks and decoded slots.
/// </summary>
public sealed class CodeCacheTests
{
    private const ulong RamBase = 0x8000_0000;
    private const ulong Page = RamBase + 0x1000;

    [Fact]
    public void EveryBlockOfAFullPageIsFoundAgainAndDroppedWithItsPageOnly()
    {
        using var memory = new GuestMemory(RamBase, 64 * 1024);
        var cache = new TranslationCache(memory, long.MaxValue);

        // A block at every halfword: the page's table grows many times over.
        var blocks = new List<TranslatedBlock>();
        for (ulong offset = 0; offset < GuestMemory.PageSize; offset += 2)
        {
            blocks.Add(cache.GetOrCreate(Page + offset));
        }

        TranslatedBlock before = cache.GetOrCreate(Page - 2);
        TranslatedBlock after = cache.GetOrCreate(Page + GuestMemory.PageSize);
        for (int i = 0; i < blocks.Count; i++)
        {
            Assert.Same(blocks[i], cache.GetOrCreate(Page + ((ulong)i * 2)));
            Assert.Equal(Page + ((ulong)i * 2), blocks[i].PhysicalAddress);
        }

        cache.InvalidatePage(Page);

        Assert.All(blocks, block => Assert.False(block.IsValid));
        Assert.True(before.IsValid);
        Assert.True(after.IsValid);
        TranslatedBlock again = cache.GetOrCreate(Page + 0x10);
        Assert.NotSame(blocks[8], again);
        Assert.True(again.IsValid);
    }

    [Fact]
    public void DecodedSlotsLiveInChunksAndAWriteToTheirPageClearsEveryChunk()
    {
        using var memory = new GuestMemory(RamBase, 64 * 1024);
        var cache = new DecodeCache(memory, _ => { });
        Instruction[]?[] page = cache.GetPage(Page);
        Instruction[]?[] other = cache.GetPage(Page + GuestMemory.PageSize);
        var decoded = new Instruction { Op = Opcode.Addi, Rd = 1, Imm = 5, Length = 4 };

        // The first and last slot of the page, and one in the next page.
        cache.EnsureCodePage(Page);
        DecodeCache.Publish(ref DecodeCache.Slot(page, 0), decoded);
        DecodeCache.Publish(ref DecodeCache.Slot(page, DecodeCache.SlotsPerPage - 1), decoded);
        cache.EnsureCodePage(Page + GuestMemory.PageSize);
        DecodeCache.Publish(ref DecodeCache.Slot(other, 3), decoded);

        Assert.Equal(3, cache.ChunkCount); // two chunks of this page, one of the next: not whole pages
        Assert.Same(page, cache.GetPage(Page + 0x800));
        Assert.True(DecodeCache.TryRead(ref DecodeCache.Slot(page, DecodeCache.SlotsPerPage - 1), out Instruction read));
        Assert.Equal(decoded.Imm, read.Imm);
        Assert.False(DecodeCache.TryRead(ref DecodeCache.Slot(page, 1), out _));

        memory.Write(Page + 0x10, (uint)0x13); // a store to the code page (nop)

        Assert.False(DecodeCache.TryRead(ref DecodeCache.Slot(page, 0), out _));
        Assert.False(DecodeCache.TryRead(ref DecodeCache.Slot(page, DecodeCache.SlotsPerPage - 1), out _));
        Assert.True(DecodeCache.TryRead(ref DecodeCache.Slot(other, 3), out _));
    }
}
