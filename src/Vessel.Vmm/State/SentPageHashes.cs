using System.IO.Hashing;
using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;

namespace Vessel.Vmm.State;

/// <summary>
/// What a migration's destination holds in each guest page, as the 128-bit XxHash128 of the
/// bytes last sent for it, so that a page need not go with its bytes when the destination holds
/// them already: in the same page (dirty, but rewritten with the same bytes, as a guest copying
/// a file over again does) or in another one (a copy record). Every page starts as the hash of
/// a zero page, because a destination's RAM starts zero and the first pass sends only the pages
/// that are not.
/// </summary>
/// <remarks>
/// Only sound for a destination that applies the records in order to RAM that started zero (an
/// incoming migration, a stream replayed into a fresh machine), and only with hashes of the
/// bytes really sent (<see cref="StreamRamSink"/> hashes its copy, not guest RAM the guest may
/// be writing). Two different pages with one 128-bit hash happen by chance with a probability
/// of about 2^-128 per comparison; XxHash128 is not built against a guest that crafts a
/// collision, but such a guest could only corrupt its own memory, which it may write anyway.
/// </remarks>
internal sealed class SentPageHashes
{
    private static readonly UInt128 s_zeroPage = XxHash128.HashToUInt128(new byte[StateFormat.PageSize]);
    private static int s_warmUpStarted;

    private readonly UInt128[] _hashes;

    /// <summary>
    /// A page that held each content when it was sent (the last one sent with it); it may have
    /// been sent other bytes since, so <see cref="TryFindCopy"/> checks <see cref="_hashes"/>.
    /// Sized for every page at once: it never grows, so sending allocates nothing.
    /// </summary>
    private readonly Dictionary<UInt128, uint> _pageWith;
    private readonly ulong _base;

    public SentPageHashes(GuestMemory memory)
    {
        _base = memory.Base;
        _hashes = new UInt128[memory.PageCount];
        _hashes.AsSpan().Fill(s_zeroPage);
        _pageWith = new Dictionary<UInt128, uint>((int)memory.PageCount);
    }

    public static UInt128 Hash(ReadOnlySpan<byte> page) => XxHash128.HashToUInt128(page);

    /// <summary>
    /// Starts (once per process, on a background thread of low priority) hashing and indexing
    /// pages in a few bursts a tenth of a second apart, so that a migration's first pass finds
    /// the hash compiled at its best: XxHash128's vector code is not precompiled, and its
    /// unoptimised first form hashed 64 MiB in 240 ms instead of 8; the runtime recompiles a
    /// method only for calls made after a delay, hence the pauses. For the warm-ups that run
    /// before a migration, off the guest's way.
    /// </summary>
    public static void StartWarmUp()
    {
        if (Interlocked.Exchange(ref s_warmUpStarted, 1) != 0)
        {
            return;
        }

        new Thread(static () =>
        {
            byte[] page = new byte[StateFormat.PageSize];
            var index = new Dictionary<UInt128, uint>(1);
            for (int burst = 0; burst < 10; burst++)
            {
                for (uint i = 0; i < 200; i++)
                {
                    page[0] = (byte)i;
                    UInt128 hash = Hash(page);
                    index.TryGetValue(hash, out _);
                    index[hash] = i;
                    index.Remove(hash);
                }

                Thread.Sleep(100);
            }
        })
        { IsBackground = true, Priority = ThreadPriority.Lowest, Name = "page hash warm-up" }.Start();
    }

    /// <summary>Whether the destination's page <paramref name="page"/> (an index from the start of RAM) holds the bytes whose hash is <paramref name="hash"/>.</summary>
    public bool Holds(ulong page, UInt128 hash) => _hashes[page] == hash;

    /// <summary>Another page than <paramref name="page"/> whose copy at the destination holds the bytes whose hash is <paramref name="hash"/> (not zero pages: those go as zero records).</summary>
    public bool TryFindCopy(ulong page, UInt128 hash, out ulong source)
    {
        if (_pageWith.TryGetValue(hash, out uint found) && found != page && _hashes[found] == hash)
        {
            source = found;
            return true;
        }

        source = 0;
        return false;
    }

    /// <summary>The hash of what the destination holds in page <paramref name="page"/>.</summary>
    public UInt128 HashOf(ulong page) => _hashes[page];

    /// <summary>Page <paramref name="page"/> went out (as a copy) with the bytes whose hash is <paramref name="hash"/>.</summary>
    public void Copied(ulong page, UInt128 hash)
    {
        Forget(page);
        _hashes[page] = hash;
    }

    /// <summary>The pages from guest address <paramref name="address"/> went out as <paramref name="data"/> (whole pages).</summary>
    public void Sent(ulong address, ReadOnlySpan<byte> data)
    {
        ulong page = (address - _base) / StateFormat.PageSize;
        for (int offset = 0; offset < data.Length; offset += StateFormat.PageSize, page++)
        {
            UInt128 hash = Hash(data.Slice(offset, StateFormat.PageSize));
            Forget(page);
            _hashes[page] = hash;
            _pageWith[hash] = (uint)page;
        }
    }

    /// <summary>The <paramref name="count"/> pages from guest address <paramref name="address"/> went out as zero pages.</summary>
    public void SentZero(ulong address, int count)
    {
        ulong first = (address - _base) / StateFormat.PageSize;
        for (ulong page = first; page < first + (ulong)count; page++)
        {
            Forget(page);
            _hashes[page] = s_zeroPage;
        }
    }

    /// <summary>The page's old bytes are no longer found in it: so the index keeps at most one entry per page, and never grows.</summary>
    private void Forget(ulong page)
    {
        UInt128 old = _hashes[page];
        if (_pageWith.TryGetValue(old, out uint found) && found == page)
        {
            _pageWith.Remove(old);
        }
    }
}
