using System.Runtime.CompilerServices;
using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;

namespace Vessel.Vmm.State;

/// <summary>Where saved RAM pages go: page records on a stream, or their place in a file's RAM region.</summary>
internal interface IRamSink
{
    /// <summary>Takes whole pages of data starting at guest address <paramref name="address"/>.</summary>
    void WritePages(ulong address, ReadOnlySpan<byte> data);

    /// <summary>Takes <paramref name="count"/> pages that are now zero but may not have been before.</summary>
    void WriteZeroPages(ulong address, int count);
}

/// <summary>Page records on a state stream (files without a RAM region, sockets, qcow2 VM state).</summary>
/// <remarks>
/// Pages are copied before they are checksummed and written: while a live migration runs, the
/// guest may write a page between the two, and the record must carry the bytes its checksum
/// covers (a page written meanwhile is dirty and goes out again in the next round).
/// </remarks>
internal sealed class StreamRamSink(StateWriter writer) : IRamSink
{
    private readonly byte[] _copy = new byte[StateFormat.MaxPagesPerRecord * StateFormat.PageSize];

    /// <summary>Set once the guest is stopped (a migration's last round): nothing writes its pages any more, so they go without the copy.</summary>
    public bool GuestStopped { get; set; }

    public void WritePages(ulong address, ReadOnlySpan<byte> data)
    {
        if (GuestStopped)
        {
            writer.WritePages(address, data);
            return;
        }

        Span<byte> copy = _copy.AsSpan(0, data.Length);
        data.CopyTo(copy);
        writer.WritePages(address, copy);
    }

    public void WriteZeroPages(ulong address, int count) => writer.WriteZeroPages(address, (uint)count);
}

/// <summary>Pages written in place into a file's RAM region (so a restore can map it).</summary>
internal sealed class RegionRamSink(MappedRamRegion region) : IRamSink
{
    private static readonly byte[] s_zeroes = new byte[StateFormat.MaxPagesPerRecord * StateFormat.PageSize];

    public void WritePages(ulong address, ReadOnlySpan<byte> data) => StateWriter.WriteRegionPages(region, address, data);

    public void WriteZeroPages(ulong address, int count) =>
        StateWriter.WriteRegionPages(region, address, s_zeroes.AsSpan(0, count * StateFormat.PageSize));
}

/// <summary>
/// Finds the guest RAM pages to save and hands them to a sink in runs of up to
/// <see cref="StateFormat.MaxPagesPerRecord"/> pages, straight from guest RAM (no copy).
/// </summary>
internal static class RamTransfer
{
    private const int PageSize = (int)GuestMemory.PageSize;

    /// <summary>
    /// Sends every page that is not zero (for a destination whose RAM starts zero). Returns the
    /// pages sent. Pages the host knows to be zero are skipped without being read: reading an
    /// untouched page would fault it in.
    /// </summary>
    public static long SendNonZero(GuestMemory memory, IRamSink sink)
    {
        var mayHoldData = new ulong[memory.DirtyBitmapWords];
        memory.FindPagesThatMayHoldData(mayHoldData);
        long sent = 0;
        SendNonZero(memory, mayHoldData, sink, ref sent, stopBefore: null);
        return sent;
    }

    /// <summary>
    /// Sends the pages of <paramref name="mayHoldData"/> that are not zero, asking
    /// <paramref name="stopBefore"/> (when given) after each record whether to stop before the
    /// page it names. Returns the page it stopped before (the pages from there on are not
    /// sent), or the page count when it sent them all; <paramref name="sent"/> counts the pages.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its loop runs over every page: no slow first compilation
    public static ulong SendNonZero(GuestMemory memory, ReadOnlySpan<ulong> mayHoldData, IRamSink sink, ref long sent, Func<ulong, bool>? stopBefore)
    {
        ulong pages = memory.PageCount;
        ulong page = 0;
        while (page < pages)
        {
            if (mayHoldData[(int)(page >> 6)] == 0)
            {
                page = (page | 63) + 1;
                continue;
            }

            if ((mayHoldData[(int)(page >> 6)] & (1UL << (int)(page & 63))) == 0 || IsZero(memory, page))
            {
                page++;
                continue;
            }

            ulong first = page;
            while (page < pages && page - first < StateFormat.MaxPagesPerRecord
                && (mayHoldData[(int)(page >> 6)] & (1UL << (int)(page & 63))) != 0 && !IsZero(memory, page))
            {
                page++;
            }

            sink.WritePages(memory.Base + (first * GuestMemory.PageSize), Span(memory, first, page - first));
            sent += (long)(page - first);
            if (stopBefore is not null && page < pages && stopBefore(page))
            {
                return page;
            }
        }

        return pages;
    }

    /// <summary>
    /// Sends the pages whose bit is set in <paramref name="bitmap"/> (dirty pages): non-zero ones
    /// with their data, zero ones as zero records. Returns the pages sent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its loop runs over every page: no slow first compilation
    public static long SendBitmap(GuestMemory memory, ReadOnlySpan<ulong> bitmap, IRamSink sink)
    {
        long sent = 0;
        ulong pages = memory.PageCount;
        ulong page = 0;
        while (page < pages)
        {
            ulong word = bitmap[(int)(page >> 6)];
            if (word == 0)
            {
                page = (page | 63) + 1;
                continue;
            }

            if ((word & (1UL << (int)(page & 63))) == 0)
            {
                page++;
                continue;
            }

            bool zero = IsZero(memory, page);
            ulong first = page;
            page++;
            while (page < pages && page - first < StateFormat.MaxPagesPerRecord
                && (bitmap[(int)(page >> 6)] & (1UL << (int)(page & 63))) != 0 && IsZero(memory, page) == zero)
            {
                page++;
            }

            ulong address = memory.Base + (first * GuestMemory.PageSize);
            if (zero)
            {
                sink.WriteZeroPages(address, (int)(page - first));
            }
            else
            {
                sink.WritePages(address, Span(memory, first, page - first));
            }

            sent += (long)(page - first);
        }

        return sent;
    }

    private static bool IsZero(GuestMemory memory, ulong page) => !Span(memory, page, 1).ContainsAnyExcept((byte)0);

    private static ReadOnlySpan<byte> Span(GuestMemory memory, ulong page, ulong count) =>
        memory.GetReadSpan(memory.Base + (page * GuestMemory.PageSize), (int)(count * GuestMemory.PageSize));
}
