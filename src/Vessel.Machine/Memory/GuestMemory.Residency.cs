using Microsoft.Win32.SafeHandles;
using Vessel.Machine.Native;

namespace Vessel.Machine.Memory;

/// <summary>
/// Which pages of guest RAM can hold data, found without touching them: a saver that read
/// every page would fault in each untouched one (tens of microseconds each on a virtualized
/// host: seconds for a few GiB of a mostly idle guest).
/// </summary>
/// <remarks>
/// An anonymous page the guest never touched is not in the process's page tables and not in
/// swap (<c>/proc/self/pagemap</c> says so for each page), so it is zero. When RAM maps a saved
/// state (<see cref="GuestMemory.MapFile"/>), an untouched page reads from the file instead: it
/// holds data only where the file's RAM region is not a hole (<c>SEEK_DATA</c>).
/// </remarks>
public sealed unsafe partial class GuestMemory
{
    private const ulong PagemapPresent = 1UL << 63;
    private const ulong PagemapSwapped = 1UL << 62;

    // The file RAM maps since the last restore, kept open to ask where its data is.
    private SafeFileHandle? _mappedFile;
    private long _mappedOffset;

    /// <summary>
    /// Sets in <paramref name="bitmap"/> (one bit a page, <see cref="DirtyBitmapWords"/> words) the
    /// pages that may hold data; a clear bit is a page known to read as zero. When the host cannot
    /// tell, every bit is set.
    /// </summary>
    public void FindPagesThatMayHoldData(Span<ulong> bitmap)
    {
        bitmap[..DirtyBitmapWords].Clear();
        if (!TryMarkMappedPages(bitmap))
        {
            bitmap[..DirtyBitmapWords].Fill(ulong.MaxValue);
            return;
        }

        SafeFileHandle? file = _mappedFile;
        if (file is not null && !TryMarkFileData(file, bitmap))
        {
            bitmap[..DirtyBitmapWords].Fill(ulong.MaxValue);
        }
    }

    /// <summary>Marks the pages present in the page tables or in swap; false when pagemap cannot be read.</summary>
    private bool TryMarkMappedPages(Span<ulong> bitmap)
    {
        const int Batch = 4096;
        SafeFileHandle pagemap;
        try
        {
            pagemap = File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        using (pagemap)
        {
            ulong[] entries = new ulong[Batch];
            long firstHostPage = (long)((ulong)_host >> PageShift);
            for (ulong page = 0; page < PageCount; page += Batch)
            {
                int count = (int)Math.Min(Batch, PageCount - page);
                Span<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries.AsSpan(0, count));
                if (RandomAccess.Read(pagemap, bytes, (firstHostPage + (long)page) * sizeof(ulong)) != bytes.Length)
                {
                    return false;
                }

                for (int i = 0; i < count; i++)
                {
                    if ((entries[i] & (PagemapPresent | PagemapSwapped)) != 0)
                    {
                        ulong index = page + (ulong)i;
                        bitmap[(int)(index >> 6)] |= 1UL << (int)(index & 63);
                    }
                }
            }
        }

        return true;
    }

    /// <summary>Marks the pages whose bytes in the mapped file are data, not a hole; false when the host cannot tell.</summary>
    private bool TryMarkFileData(SafeFileHandle file, Span<ulong> bitmap)
    {
        long end = _mappedOffset + (long)Size;
        long position = _mappedOffset;
        while (position < end)
        {
            long data = LibC.Seek(file, position, LibC.SeekData);
            if (data < 0)
            {
                return LibC.LastErrorIsNoMoreData(); // ENXIO: only a hole up to the end of the file
            }

            if (data >= end)
            {
                return true;
            }

            long hole = LibC.Seek(file, data, LibC.SeekHole);
            if (hole < 0)
            {
                return false;
            }

            ulong first = (ulong)(data - _mappedOffset) >> PageShift;
            ulong last = ((ulong)(Math.Min(hole, end) - _mappedOffset) + PageSize - 1) >> PageShift;
            for (ulong page = first; page < last && page < PageCount; page++)
            {
                bitmap[(int)(page >> 6)] |= 1UL << (int)(page & 63);
            }

            position = hole;
        }

        return true;
    }
}
