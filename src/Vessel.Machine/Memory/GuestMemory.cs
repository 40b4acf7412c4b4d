using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Machine.Native;

namespace Vessel.Machine.Memory;

/// <summary>
/// Guest RAM: one contiguous, lazily committed host mapping (<c>mmap</c> with
/// <c>MAP_NORESERVE</c>) that starts at guest physical address <see cref="Base"/>.
/// Every access by a device goes through the checked methods here; only the CPU's software
/// TLB keeps raw host pointers, and it obtains them from <see cref="HostPointer"/> after the
/// same bounds check.
/// </summary>
/// <remarks>
/// Each 4 KiB page has a byte of flags. <see cref="PageFlags.Code"/> marks pages from which
/// the CPU has decoded or translated instructions; a write to such a page, by a hart or by a
/// device, is reported to <see cref="CodeWriteObserver"/> so the stale code is dropped.
/// <see cref="PageFlags.Dirty"/> records writes while dirty logging is on (snapshots and
/// migration).
/// </remarks>
public sealed unsafe class GuestMemory : IDisposable
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    private readonly byte[] _pageFlags;
    private byte* _host;
    private volatile bool _dirtyLogging;

    public GuestMemory(ulong baseAddress, ulong size)
    {
        if (size == 0 || (size & (PageSize - 1)) != 0)
        {
            throw new ArgumentException("Guest RAM size must be a non-zero multiple of 4 KiB.", nameof(size));
        }

        if ((baseAddress & (PageSize - 1)) != 0 || baseAddress + size < baseAddress)
        {
            throw new ArgumentException("Guest RAM base must be page aligned and the region must not wrap.", nameof(baseAddress));
        }

        nint mapping = LibC.Mmap(0, (nuint)size, LibC.ProtRead | LibC.ProtWrite,
            LibC.MapPrivate | LibC.MapAnonymous | LibC.MapNoReserve, -1, 0);
        if (mapping == LibC.MapFailed || mapping == 0)
        {
            throw new OutOfMemoryException(
                $"The host could not reserve {size / (1024 * 1024)} MiB of address space for guest RAM (errno {Marshal.GetLastSystemError()}).");
        }

        _host = (byte*)mapping;
        Base = baseAddress;
        Size = size;
        _pageFlags = new byte[size >> PageShift];
    }

    /// <summary>Guest physical address of the first byte of RAM.</summary>
    public ulong Base { get; }

    /// <summary>Size of RAM in bytes.</summary>
    public ulong Size { get; }

    /// <summary>Guest physical address one past the last byte of RAM.</summary>
    public ulong End => Base + Size;

    /// <summary>Told about writes to pages that hold decoded or translated code.</summary>
    public ICodeWriteObserver? CodeWriteObserver { get; set; }

    /// <summary>Whether writes are being recorded in the dirty flags (migration, snapshots).</summary>
    public bool DirtyLogging
    {
        get => _dirtyLogging;
        set => _dirtyLogging = value;
    }

    /// <summary>Host address of guest physical address <see cref="Base"/>. For the CPU's TLB only.</summary>
    public byte* HostPointer => _host;

    /// <summary>Whether [address, address + length) lies entirely in RAM.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong address, ulong length)
    {
        ulong offset = address - Base;
        return address >= Base && offset <= Size && length <= Size - offset;
    }

    /// <summary>A view of guest RAM for reading. Throws <see cref="GuestMemoryException"/> when out of range.</summary>
    public ReadOnlySpan<byte> GetReadSpan(ulong address, int length)
    {
        CheckRange(address, length);
        return new ReadOnlySpan<byte>(_host + (address - Base), length);
    }

    /// <summary>
    /// A view of guest RAM that the caller is about to write. Code pages in the range are
    /// invalidated and dirty pages recorded before the span is returned.
    /// </summary>
    public Span<byte> GetWriteSpan(ulong address, int length)
    {
        CheckRange(address, length);
        NoteWrite(address, (ulong)length);
        return new Span<byte>(_host + (address - Base), length);
    }

    public bool TryGetReadSpan(ulong address, int length, out ReadOnlySpan<byte> span)
    {
        if (length < 0 || !Contains(address, (ulong)length))
        {
            span = default;
            return false;
        }

        span = new ReadOnlySpan<byte>(_host + (address - Base), length);
        return true;
    }

    public bool TryGetWriteSpan(ulong address, int length, out Span<byte> span)
    {
        if (length < 0 || !Contains(address, (ulong)length))
        {
            span = default;
            return false;
        }

        NoteWrite(address, (ulong)length);
        span = new Span<byte>(_host + (address - Base), length);
        return true;
    }

    /// <summary>Reads a little-endian plain-data value. Throws when out of range.</summary>
    public T Read<T>(ulong address) where T : unmanaged
    {
        CheckRange(address, sizeof(T));
        return Unsafe.ReadUnaligned<T>(_host + (address - Base));
    }

    /// <summary>Writes a little-endian plain-data value. Throws when out of range.</summary>
    public void Write<T>(ulong address, T value) where T : unmanaged
    {
        CheckRange(address, sizeof(T));
        NoteWrite(address, (ulong)sizeof(T));
        Unsafe.WriteUnaligned(_host + (address - Base), value);
    }

    public bool TryRead<T>(ulong address, out T value) where T : unmanaged
    {
        if (!Contains(address, (ulong)sizeof(T)))
        {
            value = default;
            return false;
        }

        value = Unsafe.ReadUnaligned<T>(_host + (address - Base));
        return true;
    }

    public bool TryWrite<T>(ulong address, T value) where T : unmanaged
    {
        if (!Contains(address, (ulong)sizeof(T)))
        {
            return false;
        }

        NoteWrite(address, (ulong)sizeof(T));
        Unsafe.WriteUnaligned(_host + (address - Base), value);
        return true;
    }

    /// <summary>Copies bytes into guest RAM (used by boot loaders and DMA).</summary>
    public void WriteBytes(ulong address, ReadOnlySpan<byte> data) => data.CopyTo(GetWriteSpan(address, data.Length));

    /// <summary>Copies bytes out of guest RAM.</summary>
    public void ReadBytes(ulong address, Span<byte> destination) => GetReadSpan(address, destination.Length).CopyTo(destination);

    /// <summary>
    /// Gives the host pages backing [address, address + length) back to the host; they read as
    /// zero afterwards (virtio-balloon inflate, guest memory reset). Partial pages at the ends are
    /// left alone.
    /// </summary>
    public void Discard(ulong address, ulong length)
    {
        if (!Contains(address, length))
        {
            throw new GuestMemoryException(address, length);
        }

        ulong start = (address - Base + PageSize - 1) & ~(PageSize - 1);
        ulong end = (address - Base + length) & ~(PageSize - 1);
        if (end <= start)
        {
            return;
        }

        NoteWrite(Base + start, end - start);
        if (LibC.Madvise((nint)(_host + start), (nuint)(end - start), LibC.MadviseDontNeed) != 0)
        {
            // MADV_DONTNEED cannot fail on a private anonymous mapping we own except for bad
            // arguments, which the checks above exclude; fall back to zeroing to keep semantics.
            new Span<byte>(_host + start, checked((int)(end - start))).Clear();
        }
    }

    /// <summary>The flags of the page that holds <paramref name="address"/> (which must be in RAM).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PageFlags GetPageFlags(ulong address) => (PageFlags)_pageFlags[(address - Base) >> PageShift];

    /// <summary>Marks the page holding <paramref name="address"/> as containing decoded code.</summary>
    public void MarkCodePage(ulong address)
    {
        ref byte flags = ref _pageFlags[(address - Base) >> PageShift];
        flags |= (byte)PageFlags.Code;
    }

    /// <summary>Clears the code mark of the page holding <paramref name="address"/>.</summary>
    public void ClearCodePage(ulong address)
    {
        ref byte flags = ref _pageFlags[(address - Base) >> PageShift];
        flags &= unchecked((byte)~PageFlags.Code);
    }

    /// <summary>
    /// Records a write to RAM made without going through the checked methods (the CPU's slow
    /// store path): invalidates code in the range and sets the dirty flags when logging.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void NoteWrite(ulong address, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        ulong first = (address - Base) >> PageShift;
        ulong last = (address - Base + length - 1) >> PageShift;
        bool logging = _dirtyLogging;
        for (ulong page = first; page <= last; page++)
        {
            byte flags = _pageFlags[page];
            if ((flags & (byte)PageFlags.Code) != 0)
            {
                CodeWriteObserver?.OnCodePageWritten(Base + (page << PageShift));
            }

            if (logging)
            {
                _pageFlags[page] = (byte)(_pageFlags[page] | (byte)PageFlags.Dirty);
            }
        }
    }

    /// <summary>
    /// Returns the dirty pages (as guest physical page addresses) and clears their dirty flags.
    /// </summary>
    public List<ulong> TakeDirtyPages()
    {
        var pages = new List<ulong>();
        for (int i = 0; i < _pageFlags.Length; i++)
        {
            if ((_pageFlags[i] & (byte)PageFlags.Dirty) != 0)
            {
                _pageFlags[i] &= unchecked((byte)~PageFlags.Dirty);
                pages.Add(Base + ((ulong)i << PageShift));
            }
        }

        return pages;
    }

    private void CheckRange(ulong address, int length)
    {
        if (length < 0 || !Contains(address, (ulong)length))
        {
            throw new GuestMemoryException(address, (ulong)Math.Max(length, 0));
        }
    }

    public void Dispose()
    {
        if (_host != null)
        {
            LibC.Munmap((nint)_host, (nuint)Size);
            _host = null;
        }
    }
}

/// <summary>Per-page bookkeeping for guest RAM.</summary>
[Flags]
public enum PageFlags : byte
{
    None = 0,

    /// <summary>The CPU holds decoded or translated instructions from this page.</summary>
    Code = 1,

    /// <summary>Written since the dirty flags were last taken.</summary>
    Dirty = 2,
}

/// <summary>Receives notice of writes to pages marked <see cref="PageFlags.Code"/>.</summary>
public interface ICodeWriteObserver
{
    void OnCodePageWritten(ulong pageAddress);
}
