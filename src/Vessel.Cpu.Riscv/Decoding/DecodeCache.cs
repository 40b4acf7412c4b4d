using System.Runtime.CompilerServices;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Decoding;

/// <summary>
/// Decoded instructions per physical page of guest RAM, shared by all harts: a page's slots
/// (one per halfword, since instructions may start at any even address) are decoded lazily on
/// first execution and kept until something writes to the page. A page's slots come in chunks
/// of <see cref="SlotsPerChunk"/> (128 bytes of code, 1 KiB of slots), made when code in them
/// first runs: a boot runs scattered pieces of most kernel pages, and whole pages of slots
/// (32 KiB each) held 16 MiB of a booted 1-hart VM's idle memory. The page is then marked as
/// code in <see cref="GuestMemory"/>, so every write to it — by a hart's slow store path or a
/// device's DMA — reaches <see cref="OnCodePageWritten"/>, which clears the slots in place.
/// </summary>
public sealed class DecodeCache : ICodeWriteObserver
{
    public const int SlotsPerPage = (int)(GuestMemory.PageSize / 2);

    /// <summary>Slots per chunk (a power of two).</summary>
    public const int SlotsPerChunk = 64;

    private const int ChunkShift = 6;
    private const int ChunksPerPage = SlotsPerPage / SlotsPerChunk;

    private readonly GuestMemory _memory;
    private readonly Instruction[]?[]?[] _pages;
    private readonly Action<ulong> _onPageBecameCode;

    /// <param name="memory">Guest RAM.</param>
    /// <param name="onPageBecameCode">
    /// Called with a physical page address when the page starts holding decoded code, so that
    /// harts drop fast-path write entries for it (stores must then go through the slow path).
    /// </param>
    public DecodeCache(GuestMemory memory, Action<ulong> onPageBecameCode)
    {
        _memory = memory;
        _pages = new Instruction[]?[]?[memory.Size >> GuestMemory.PageShift];
        _onPageBecameCode = onPageBecameCode;
        memory.CodeWriteObserver = this;
    }

    /// <summary>
    /// Told, with the page address, whenever a code page's decoded instructions are dropped
    /// (a write to the page, or <see cref="Clear"/>): the translator drops its translations of it.
    /// </summary>
    public Action<ulong>? PageInvalidated { get; set; }

    private long _invalidations;

    /// <summary>Number of code-page invalidations so far (statistics).</summary>
    public long Invalidations => Interlocked.Read(ref _invalidations);

    /// <summary>Chunks of slots made so far (diagnostics: each costs <see cref="BytesPerChunk"/> of managed heap).</summary>
    public int ChunkCount
    {
        get
        {
            int count = 0;
            foreach (Instruction[]?[]? page in _pages)
            {
                if (page is not null)
                {
                    foreach (Instruction[]? chunk in page)
                    {
                        count += chunk is null ? 0 : 1;
                    }
                }
            }

            return count;
        }
    }

    /// <summary>Pages that hold decoded code (diagnostics).</summary>
    public int PageCount => _pages.Count(page => page is not null);

    /// <summary>The managed memory one chunk of slots takes.</summary>
    public static int BytesPerChunk => SlotsPerChunk * Unsafe.SizeOf<Instruction>();

    /// <summary>
    /// The chunk directory of the RAM page that holds <paramref name="physicalAddress"/>; its
    /// slots are reached through <see cref="Slot"/>.
    /// </summary>
    public Instruction[]?[] GetPage(ulong physicalAddress)
    {
        ulong index = (physicalAddress - _memory.Base) >> GuestMemory.PageShift;
        return Volatile.Read(ref _pages[index]) ?? CreatePage(index);
    }

    private Instruction[]?[] CreatePage(ulong index)
    {
        // Harts on other threads may create the same page or chunk at once: all must use one
        // array, or an invalidation would miss the copies the losers decode into. Once made, a
        // page's directory and chunks are never replaced (an invalidation clears them in place).
        var page = new Instruction[]?[ChunksPerPage];
        return Interlocked.CompareExchange(ref _pages[index], page, null) ?? page;
    }

    /// <summary>The slot of halfword <paramref name="halfword"/> (0 to <see cref="SlotsPerPage"/> - 1) of a page from <see cref="GetPage"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref Instruction Slot(Instruction[]?[] page, int halfword)
    {
        // The chunk reference is read before its elements (a dependent load), and chunks are
        // published by an interlocked exchange, so a chunk made on another thread is seen whole.
        Instruction[] chunk = page[halfword >> ChunkShift] ?? CreateChunk(page, halfword >> ChunkShift);
        return ref chunk[halfword & (SlotsPerChunk - 1)];
    }

    private static Instruction[] CreateChunk(Instruction[]?[] page, int index)
    {
        var chunk = new Instruction[SlotsPerChunk];
        return Interlocked.CompareExchange(ref page[index], chunk, null) ?? chunk;
    }

    /// <summary>
    /// Stores a decoded instruction into its slot so that a hart reading the slot on another
    /// thread at the same time (<see cref="TryRead"/>) sees either "not decoded" or the whole
    /// instruction: the second half is written first, then the half with the opcode, with
    /// release semantics.
    /// </summary>
    public static void Publish(ref Instruction slot, in Instruction instruction)
    {
        ref ulong target = ref Unsafe.As<Instruction, ulong>(ref slot);
        ref ulong source = ref Unsafe.As<Instruction, ulong>(ref Unsafe.AsRef(in instruction));
        Unsafe.Add(ref target, 1) = Unsafe.Add(ref source, 1);
        Volatile.Write(ref target, source);
    }

    /// <summary>Reads a slot written by <see cref="Publish"/>; false when it is not decoded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ref Instruction slot, out Instruction instruction)
    {
        ref ulong words = ref Unsafe.As<Instruction, ulong>(ref slot);
        ulong head = Volatile.Read(ref words); // acquire: the second half is read after
        instruction = default;
        if ((ushort)head == (ushort)Opcode.NotDecoded)
        {
            return false; // Op is the first field of Instruction
        }

        ref ulong copy = ref Unsafe.As<Instruction, ulong>(ref instruction);
        copy = head;
        Unsafe.Add(ref copy, 1) = Unsafe.Add(ref words, 1);
        return true;
    }

    /// <summary>
    /// Called before a slot of the page holding <paramref name="physicalAddress"/> is filled:
    /// makes sure the page is marked as code so that later writes invalidate it.
    /// </summary>
    public void EnsureCodePage(ulong physicalAddress)
    {
        if ((_memory.GetPageFlags(physicalAddress) & PageFlags.Code) == 0)
        {
            ulong page = physicalAddress & ~(GuestMemory.PageSize - 1);
            _memory.MarkCodePage(page);
            _onPageBecameCode(page);
        }
    }

    public void OnCodePageWritten(ulong pageAddress)
    {
        ulong index = (pageAddress - _memory.Base) >> GuestMemory.PageShift;
        Instruction[]?[]? page = _pages[index];
        _memory.ClearCodePage(pageAddress);
        if (page is not null)
        {
            ClearSlots(page);
            Interlocked.Increment(ref _invalidations);
        }

        PageInvalidated?.Invoke(pageAddress);
    }

    /// <summary>Forgets every decoded instruction (fence.i on a system without coherent tracking, reset).</summary>
    public void Clear()
    {
        for (int i = 0; i < _pages.Length; i++)
        {
            if (_pages[i] is { } page)
            {
                ulong pageAddress = _memory.Base + ((ulong)i << GuestMemory.PageShift);
                ClearSlots(page);
                _memory.ClearCodePage(pageAddress);
                PageInvalidated?.Invoke(pageAddress);
            }
        }
    }

    private static void ClearSlots(Instruction[]?[] page)
    {
        foreach (Instruction[]? chunk in page)
        {
            if (chunk is not null)
            {
                Array.Clear(chunk);
            }
        }
    }
}
