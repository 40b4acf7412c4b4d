using System.Numerics;
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

    /// <summary>Takes the page at <paramref name="address"/> as a copy of the destination's page at <paramref name="source"/> (only where <see cref="StreamRamSink.Hashes"/> are kept).</summary>
    void WriteCopiedPage(ulong address, ulong source);
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

    /// <summary>
    /// The hashes of the pages sent, kept while the guest runs (a live migration), so that the
    /// rounds after can leave out the pages the destination holds already; null: not kept.
    /// Not kept once the guest is stopped: its round compares all its pages before it sends any.
    /// </summary>
    public SentPageHashes? Hashes { get; init; }

    public void WritePages(ulong address, ReadOnlySpan<byte> data)
    {
        if (GuestStopped)
        {
            writer.WritePages(address, data);
            return;
        }

        Span<byte> copy = _copy.AsSpan(0, data.Length);
        data.CopyTo(copy);
        Hashes?.Sent(address, copy);
        writer.WritePages(address, copy);
    }

    public void WriteZeroPages(ulong address, int count)
    {
        if (!GuestStopped)
        {
            Hashes?.SentZero(address, count);
        }

        writer.WriteZeroPages(address, (uint)count);
    }

    public void WriteCopiedPage(ulong address, ulong source) => writer.WriteCopiedPages(address, 1, source);
}

/// <summary>Pages written in place into a file's RAM region (so a restore can map it).</summary>
internal sealed class RegionRamSink(MappedRamRegion region) : IRamSink
{
    private static readonly byte[] s_zeroes = new byte[StateFormat.MaxPagesPerRecord * StateFormat.PageSize];

    public void WritePages(ulong address, ReadOnlySpan<byte> data) => StateWriter.WriteRegionPages(region, address, data);

    public void WriteZeroPages(ulong address, int count) =>
        StateWriter.WriteRegionPages(region, address, s_zeroes.AsSpan(0, count * StateFormat.PageSize));

    public void WriteCopiedPage(ulong address, ulong source) =>
        throw new NotSupportedException("A RAM region takes pages, not copies (no page hashes are kept for it).");
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
        SendNonZero(memory, mayHoldData, sink, ref sent, afterRecord: null);
        return sent;
    }

    /// <summary>
    /// Sends the pages of <paramref name="mayHoldData"/> that are not zero, calling
    /// <paramref name="afterRecord"/> (when given) after each record with the page it goes on
    /// from; <paramref name="sent"/> counts the pages.
    /// </summary>
    /// <remarks>
    /// No copy records here (<see cref="DropHeld"/>): hashing every page before it goes cost
    /// the busy 256 MiB guest's first pass more CPU time than its 40 % fewer bytes saved, and
    /// made the first pass's rest (counted in pages) a poor guess of its bytes.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its loop runs over every page: no slow first compilation
    public static void SendNonZero(GuestMemory memory, ReadOnlySpan<ulong> mayHoldData, IRamSink sink, ref long sent, Action<ulong>? afterRecord)
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
            if (page < pages)
            {
                afterRecord?.Invoke(page);
            }
        }
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

    /// <summary>
    /// Leaves out of <paramref name="bitmap"/> (dirty pages) those whose bytes the destination
    /// holds already, as <paramref name="sent"/> knows it: in the page itself (rewritten with the
    /// same bytes), or in another page, which it is told to copy (one small record instead of
    /// the page). Returns how many pages are left to send. A page the guest writes after this
    /// is dirty again, so a page it writes while being hashed goes in a later round.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its loop runs over every page: no slow first compilation
    public static long DropHeld(GuestMemory memory, Span<ulong> bitmap, SentPageHashes sent, IRamSink sink)
    {
        long left = 0;
        for (int i = 0; i < bitmap.Length; i++)
        {
            ulong word = bitmap[i];
            for (ulong bits = word; bits != 0; bits &= bits - 1)
            {
                ulong page = ((ulong)i << 6) + (ulong)BitOperations.TrailingZeroCount(bits);
                UInt128 hash = SentPageHashes.Hash(Span(memory, page, 1));
                if (sent.Holds(page, hash))
                {
                    word &= ~(1UL << (int)(page & 63));
                }
                else if (sent.TryFindCopy(page, hash, out ulong source))
                {
                    SendCopy(memory, sent, sink, page, source);
                    word &= ~(1UL << (int)(page & 63));
                }
            }

            bitmap[i] = word;
            left += BitOperations.PopCount(word);
        }

        return left;
    }

    /// <summary>Sends page <paramref name="page"/> as a copy of <paramref name="source"/>, whose bytes it had when hashed (a write since makes it dirty again).</summary>
    private static void SendCopy(GuestMemory memory, SentPageHashes copies, IRamSink sink, ulong page, ulong source)
    {
        sink.WriteCopiedPage(memory.Base + (page * GuestMemory.PageSize), memory.Base + (source * GuestMemory.PageSize));
        copies.Copied(page, copies.HashOf(source));
    }

    private static bool IsZero(GuestMemory memory, ulong page) => !Span(memory, page, 1).ContainsAnyExcept((byte)0);

    private static ReadOnlySpan<byte> Span(GuestMemory memory, ulong page, ulong count) =>
        memory.GetReadSpan(memory.Base + (page * GuestMemory.PageSize), (int)(count * GuestMemory.PageSize));
}
