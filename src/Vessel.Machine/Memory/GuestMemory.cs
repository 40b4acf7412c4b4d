using System.Numerics;
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
/// <para>Each 4 KiB page has a byte of flags. <see cref="PageFlags.Code"/> marks pages from which
/// the CPU has decoded or translated instructions; a write to such a page, by a hart or by a
/// device, is reported to <see cref="CodeWriteObserver"/> so the stale code is dropped.</para>
/// <para>While dirty logging is on (live snapshots and migration), every write is recorded in a
/// bitmap with one bit a page, set atomically so that harts on several threads and device
/// threads never lose each other's bits.</para>
/// <para>The mapping can be replaced in place (the host address stays the same, so pointers held
/// by the CPU stay valid): by a copy-on-write mapping of a saved state's RAM image
/// (<see cref="MapFile"/>), which restores any size of RAM in one system call, or by fresh
/// zero pages (<see cref="Clear"/>).</para>
/// </remarks>
public sealed unsafe partial class GuestMemory : IDisposable
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    private readonly byte[] _pageFlags;
    private readonly ulong[] _dirtyBitmap;
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
        _dirtyBitmap = new ulong[((size >> PageShift) + 63) / 64];
    }

    /// <summary>Number of 4 KiB pages.</summary>
    public ulong PageCount => Size >> PageShift;

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
    /// Gives the host pages backing [address, address + length) back to the host (virtio-balloon
    /// inflate); they read as zero afterwards, or, when RAM maps a saved state
    /// (<see cref="MapFile"/>), as the saved contents, which the balloon protocol allows (a
    /// deflated page's contents are undefined). Partial pages at the ends are left alone.
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

    /// <summary>
    /// Makes the whole pages of [address, address + length) zero, as a restore's zero-page
    /// record asks: RAM that is not a file's mapping gives them back to the host, which costs
    /// nothing for a page never touched (a migration's destination starts with all of them),
    /// where writing zeroes would fault each one in; RAM that maps a saved state is cleared.
    /// </summary>
    public void ZeroPages(ulong address, ulong length)
    {
        CheckRange(address, checked((int)length));
        if (_mappedFile is null && ((address - Base) | length) % PageSize == 0)
        {
            Discard(address, length);
            return;
        }

        GetWriteSpan(address, (int)length).Clear();
    }

    /// <summary>
    /// Asks the host to back [address, address + length) with memory in one call before it is
    /// written whole (a restore's page record): faulting a fresh page in, one by one as the
    /// copy meets them, is what a restore into new RAM spends most of its time on. Only advice:
    /// a host that cannot (before Linux 5.14) leaves the faults to the copy.
    /// </summary>
    public void PrepareForWrite(ulong address, int length)
    {
        CheckRange(address, length);
        ulong start = (address - Base) & ~(PageSize - 1);
        ulong end = (address - Base + (ulong)length + PageSize - 1) & ~(PageSize - 1);
        _ = LibC.Madvise((nint)(_host + start), (nuint)(end - start), LibC.MadvisePopulateWrite);
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
                ref ulong word = ref _dirtyBitmap[page >> 6];
                ulong bit = 1UL << (int)(page & 63);
                if ((Volatile.Read(ref word) & bit) == 0)
                {
                    Interlocked.Or(ref word, bit);
                }
            }
        }
    }

    /// <summary>Whether the page holding <paramref name="address"/> was written since its dirty bit was last taken.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsDirty(ulong address)
    {
        ulong page = (address - Base) >> PageShift;
        return (Volatile.Read(ref _dirtyBitmap[page >> 6]) & (1UL << (int)(page & 63))) != 0;
    }

    /// <summary>
    /// Moves the dirty bits into <paramref name="destination"/> (one bit a page, as many words as
    /// <see cref="DirtyBitmapWords"/>), clearing them, and returns how many pages were dirty.
    /// Thread-safe against writers: a bit set during the call is either taken or kept.
    /// </summary>
    public long TakeDirtyBitmap(Span<ulong> destination)
    {
        if (destination.Length < _dirtyBitmap.Length)
        {
            throw new ArgumentException($"The bitmap needs {_dirtyBitmap.Length} words.", nameof(destination));
        }

        long count = 0;
        for (int i = 0; i < _dirtyBitmap.Length; i++)
        {
            ulong bits = Volatile.Read(ref _dirtyBitmap[i]) == 0 ? 0 : Interlocked.Exchange(ref _dirtyBitmap[i], 0);
            destination[i] = bits;
            count += BitOperations.PopCount(bits);
        }

        return count;
    }

    /// <summary>How many pages are marked dirty now, leaving them marked (while harts run, a lower bound of what the next take finds).</summary>
    public long CountDirtyPages()
    {
        long count = 0;
        for (int i = 0; i < _dirtyBitmap.Length; i++)
        {
            count += BitOperations.PopCount(Volatile.Read(ref _dirtyBitmap[i]));
        }

        return count;
    }

    /// <summary>Words of a dirty bitmap for <see cref="TakeDirtyBitmap"/>.</summary>
    public int DirtyBitmapWords => _dirtyBitmap.Length;

    /// <summary>Marks every page dirty (the first round of a live save sends everything).</summary>
    public void MarkAllDirty()
    {
        Array.Fill(_dirtyBitmap, ulong.MaxValue);
        int tail = (int)(PageCount & 63);
        if (tail != 0)
        {
            _dirtyBitmap[^1] = (1UL << tail) - 1;
        }
    }

    /// <summary>
    /// Replaces RAM with a private, copy-on-write mapping of <paramref name="file"/> from
    /// <paramref name="offset"/> (page aligned; <see cref="Size"/> bytes; holes read as zero). Pages
    /// are read from the file only when the guest touches them, and a write copies just that
    /// page, so a restore costs the same whatever the size of RAM. The caller stops every user of
    /// RAM first and drops what it cached about the old contents (decoded code).
    /// </summary>
    public void MapFile(string path, long offset)
    {
        if ((offset & (long)(PageSize - 1)) != 0)
        {
            throw new ArgumentException("The RAM image must start on a page boundary of its file.", nameof(offset));
        }

        // Kept open (read-only) while RAM maps it, to ask later which of its pages are holes.
        Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            Remap(LibC.MapPrivate | LibC.MapFixed | LibC.MapNoReserve, (int)file.DangerousGetHandle(), offset);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }

        Interlocked.Exchange(ref _mappedFile, file)?.Dispose();
        _mappedOffset = offset;
        Array.Clear(_pageFlags);
    }

    /// <summary>
    /// Replaces RAM with fresh zero pages (a power cycle, or before a restore that copies RAM in),
    /// giving every page back to the host. The caller stops every user of RAM first.
    /// </summary>
    public void Clear()
    {
        Remap(LibC.MapPrivate | LibC.MapAnonymous | LibC.MapFixed | LibC.MapNoReserve, -1, 0);
        Interlocked.Exchange(ref _mappedFile, null)?.Dispose();
        Array.Clear(_pageFlags);
    }

    private void Remap(int flags, int fd, long offset)
    {
        // MAP_FIXED over our own mapping replaces it atomically at the same address, so the
        // host pointer that TLB entries and translated code derive from stays valid.
        nint mapping = LibC.Mmap((nint)_host, (nuint)Size, LibC.ProtRead | LibC.ProtWrite, flags, fd, offset);
        if (mapping != (nint)_host)
        {
            throw new IOException($"The host could not map guest RAM (errno {Marshal.GetLastSystemError()}).");
        }
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
            Interlocked.Exchange(ref _mappedFile, null)?.Dispose();
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
}

/// <summary>Receives notice of writes to pages marked <see cref="PageFlags.Code"/>.</summary>
public interface ICodeWriteObserver
{
    void OnCodePageWritten(ulong pageAddress);
}
