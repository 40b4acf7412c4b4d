using System.Buffers;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// Puts fragmented IPv4 packets from the guest back together (RFC 791, 3.2), within bounds a
/// hostile guest cannot stretch: at most 8 packets in progress (the oldest is dropped for a
/// new one), at most 64 KiB each, 15 seconds to complete. Overlapping fragments simply
/// overwrite; coverage is tracked per 8-byte block.
/// </summary>
internal sealed class Ipv4Reassembler
{
    private const int MaxInProgress = 8;
    private const long TimeoutMs = 15_000;
    private const int MaxPayload = 65535 - Ipv4Packet.MinHeaderLength;

    private readonly List<Entry> _entries = [];

    /// <summary>
    /// Adds a fragment. When it completes a packet, returns true with the whole packet (a 20-byte
    /// header without options, then the payload) in <paramref name="buffer"/>, which the caller
    /// gives back with <see cref="Return"/>.
    /// </summary>
    public bool TryAdd(Ipv4Packet fragment, long now, out byte[]? buffer, out int length)
    {
        buffer = null;
        length = 0;
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            if (now >= _entries[i].Expires)
            {
                _entries[i].Dispose();
                _entries.RemoveAt(i);
            }
        }

        int offset = fragment.FragmentOffset;
        Span<byte> data = fragment.Payload;
        int end = offset + data.Length;
        Entry? entry = Find(fragment);
        if (end > MaxPayload || (fragment.MoreFragments && (data.Length == 0 || data.Length % 8 != 0)))
        {
            if (entry is not null)
            {
                Drop(entry);
            }

            return false;
        }

        if (entry is null)
        {
            if (_entries.Count >= MaxInProgress)
            {
                Drop(_entries[0]);
            }

            entry = new Entry(fragment.Source, fragment.Destination, fragment.Protocol, fragment.Identification, now + TimeoutMs);
            _entries.Add(entry);
        }

        if (!fragment.MoreFragments)
        {
            if (entry.PayloadLength >= 0 && entry.PayloadLength != end)
            {
                Drop(entry); // two different ends: nonsense
                return false;
            }

            entry.PayloadLength = end;
        }

        if (entry.PayloadLength >= 0 && end > entry.PayloadLength)
        {
            Drop(entry);
            return false;
        }

        data.CopyTo(entry.Buffer.AsSpan(Ipv4Packet.MinHeaderLength + offset));
        for (int block = offset / 8; block < (end + 7) / 8; block++)
        {
            entry.Blocks[block >> 6] |= 1UL << (block & 63);
        }

        if (entry.PayloadLength < 0 || !entry.IsComplete())
        {
            return false;
        }

        _entries.Remove(entry);
        Ipv4Packet.WriteHeader(entry.Buffer, entry.Protocol, entry.Source, entry.Destination, entry.PayloadLength, entry.Identification);
        buffer = entry.Buffer;
        length = Ipv4Packet.MinHeaderLength + entry.PayloadLength;
        return true;
    }

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    public void Clear()
    {
        foreach (Entry entry in _entries)
        {
            entry.Dispose();
        }

        _entries.Clear();
    }

    private Entry? Find(Ipv4Packet fragment)
    {
        foreach (Entry entry in _entries)
        {
            if (entry.Identification == fragment.Identification && entry.Source == fragment.Source
                && entry.Destination == fragment.Destination && entry.Protocol == fragment.Protocol)
            {
                return entry;
            }
        }

        return null;
    }

    private void Drop(Entry entry)
    {
        _entries.Remove(entry);
        entry.Dispose();
    }

    private sealed class Entry(Ipv4Address source, Ipv4Address destination, byte protocol, ushort identification, long expires)
    {
        public Ipv4Address Source { get; } = source;

        public Ipv4Address Destination { get; } = destination;

        public byte Protocol { get; } = protocol;

        public ushort Identification { get; } = identification;

        public long Expires { get; } = expires;

        public byte[] Buffer { get; } = ArrayPool<byte>.Shared.Rent(65536);

        /// <summary>One bit per 8-byte block of payload received.</summary>
        public ulong[] Blocks { get; } = new ulong[65536 / 8 / 64];

        public int PayloadLength { get; set; } = -1;

        public bool IsComplete()
        {
            int blocks = (PayloadLength + 7) / 8;
            for (int i = 0; i < blocks; i++)
            {
                if ((Blocks[i >> 6] & (1UL << (i & 63))) == 0)
                {
                    return false;
                }
            }

            return true;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(Buffer);
    }
}
