using System.Runtime.CompilerServices;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Decoding;

/// <summary>
/// Decoded instructions per physical page of guest RAM, shared by all harts: a page's slots
/// (one per halfword, since instructions may start at any even address) are decoded lazily on
/// first execution and kept until something writes to the page. The page is then marked as
/// code in <see cref="GuestMemory"/>, so every write to it — by a hart's slow store path or a
/// device's DMA — reaches <see cref="OnCodePageWritten"/>, which clears the slots in place.
/// </summary>
public sealed class DecodeCache : ICodeWriteObserver
{
    public const int SlotsPerPage = (int)(GuestMemory.PageSize / 2);

    private readonly GuestMemory _memory;
    private readonly Instruction[]?[] _pages;
    private readonly Action<ulong> _onPageBecameCode;

    /// <param name="memory">Guest RAM.</param>
    /// <param name="onPageBecameCode">
    /// Called with a physical page address when the page starts holding decoded code, so that
    /// harts drop fast-path write entries for it (stores must then go through the slow path).
    /// </param>
    public DecodeCache(GuestMemory memory, Action<ulong> onPageBecameCode)
    {
        _memory = memory;
        _pages = new Instruction[]?[memory.Size >> GuestMemory.PageShift];
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

    /// <summary>Pages that hold a slot array now (diagnostics: each costs <see cref="BytesPerPage"/> of managed heap).</summary>
    public int PageCount
    {
        get
        {
            int count = 0;
            foreach (Instruction[]? page in _pages)
            {
                count += page is null ? 0 : 1;
            }

            return count;
        }
    }

    /// <summary>The managed memory one code page's slots take.</summary>
    public static int BytesPerPage => SlotsPerPage * Unsafe.SizeOf<Instruction>();

    /// <summary>The decoded slots of the RAM page that holds <paramref name="physicalAddress"/>.</summary>
    public Instruction[] GetPage(ulong physicalAddress)
    {
        ulong index = (physicalAddress - _memory.Base) >> GuestMemory.PageShift;
        return Volatile.Read(ref _pages[index]) ?? CreatePage(index);
    }

    private Instruction[] CreatePage(ulong index)
    {
        // Harts on other threads may create the same page at once: all must use one array, or
        // an invalidation would miss the copies the losers decode into.
        var page = new Instruction[SlotsPerPage];
        return Interlocked.CompareExchange(ref _pages[index], page, null) ?? page;
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
        Instruction[]? page = _pages[index];
        _memory.ClearCodePage(pageAddress);
        if (page is not null)
        {
            Array.Clear(page);
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
                Array.Clear(page);
                _memory.ClearCodePage(pageAddress);
                PageInvalidated?.Invoke(pageAddress);
            }
        }
    }
}
