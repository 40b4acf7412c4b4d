using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>A TCP header and its data (RFC 9293) over the IP payload's bytes.</summary>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;

    private readonly Span<byte> _bytes;

    private TcpSegment(Span<byte> bytes) => _bytes = bytes;

    /// <summary>Checks lengths and the checksum over the pseudo-header.</summary>
    public static bool TryParse(Span<byte> payload, Ipv4Address source, Ipv4Address destination, out TcpSegment segment)
    {
        segment = default;
        if (payload.Length < MinHeaderLength)
        {
            return false;
        }

        int dataOffset = (payload[12] >> 4) * 4;
        if (dataOffset < MinHeaderLength || dataOffset > payload.Length)
        {
            return false;
        }

        uint sum = InternetChecksum.PseudoHeader(source, destination, IpProtocol.Tcp, payload.Length);
        if (!InternetChecksum.IsValid(InternetChecksum.Add(sum, payload)))
        {
            return false;
        }

        segment = new TcpSegment(payload);
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);

    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    public uint SequenceNumber => BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]);

    public uint AcknowledgmentNumber => BinaryPrimitives.ReadUInt32BigEndian(_bytes[8..]);

    public int HeaderLength => (_bytes[12] >> 4) * 4;

    public TcpFlags Flags => (TcpFlags)_bytes[13];

    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_bytes[14..]);

    public Span<byte> Options => _bytes[MinHeaderLength..HeaderLength];

    public Span<byte> Data => _bytes[HeaderLength..];

    /// <summary>
    /// Reads MSS and window scale from the options; malformed options end the scan (what was
    /// read so far is kept), never an exception.
    /// </summary>
    public TcpOptions ReadOptions()
    {
        int mss = TcpOptions.DefaultMaxSegmentSize;
        int scale = TcpOptions.NoWindowScale;
        bool sack = false;
        ReadOnlySpan<byte> options = Options;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                break;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                break;
            }

            if (kind == 2 && length == 4)
            {
                mss = BinaryPrimitives.ReadUInt16BigEndian(options[(i + 2)..]);
            }
            else if (kind == 3 && length == 3)
            {
                // RFC 7323: a shift above 14 is treated as 14.
                scale = Math.Min((int)options[i + 2], 14);
            }
            else if (kind == 4 && length == 2)
            {
                sack = true;
            }

            i += length;
        }

        return new TcpOptions(mss, scale, sack);
    }

    /// <summary>
    /// Writes a header; <paramref name="options"/> holds already encoded options (a multiple of
    /// four bytes). The checksum is computed by <see cref="WriteChecksum"/> once the data is in place.
    /// </summary>
    public static int WriteHeader(Span<byte> segment, ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgment, TcpFlags flags, ushort window, ReadOnlySpan<byte> options = default)
    {
        int headerLength = MinHeaderLength + options.Length;
        BinaryPrimitives.WriteUInt16BigEndian(segment, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], acknowledgment);
        segment[12] = (byte)((headerLength / 4) << 4);
        segment[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], window);
        BinaryPrimitives.WriteUInt32BigEndian(segment[16..], 0); // checksum and urgent pointer
        options.CopyTo(segment[MinHeaderLength..]);
        return headerLength;
    }

    /// <summary>Computes the checksum of a whole segment (header and data) in place.</summary>
    public static void WriteChecksum(Span<byte> segment, Ipv4Address source, Ipv4Address destination)
    {
        segment[16] = 0;
        segment[17] = 0;
        uint sum = InternetChecksum.PseudoHeader(source, destination, IpProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, segment)));
    }

    /// <summary>
    /// Encodes the options of a SYN: MSS; a window scale option when <paramref name="windowScale"/>
    /// is not negative; SACK permitted when asked. Up to 12 bytes, padded with NOPs to a
    /// multiple of four.
    /// </summary>
    public static int WriteSynOptions(Span<byte> options, int maxSegmentSize, int windowScale, bool sackPermitted = false)
    {
        options[0] = 2;
        options[1] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(options[2..], (ushort)maxSegmentSize);
        int length = 4;
        if (windowScale >= 0)
        {
            options[length] = 1;
            options[length + 1] = 3;
            options[length + 2] = 3;
            options[length + 3] = (byte)windowScale;
            length += 4;
        }

        if (sackPermitted)
        {
            options[length] = 1;
            options[length + 1] = 1;
            options[length + 2] = 4;
            options[length + 3] = 2;
            length += 4;
        }

        return length;
    }

    /// <summary>Encodes a SACK option (RFC 2018) with up to four blocks, after two NOPs; returns its length.</summary>
    public static int WriteSackOption(Span<byte> options, ReadOnlySpan<(uint Start, uint End)> blocks)
    {
        int count = Math.Min(blocks.Length, 4);
        options[0] = 1;
        options[1] = 1;
        options[2] = 5;
        options[3] = (byte)(2 + (8 * count));
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(options[(4 + (8 * i))..], blocks[i].Start);
            BinaryPrimitives.WriteUInt32BigEndian(options[(8 + (8 * i))..], blocks[i].End);
        }

        return 4 + (8 * count);
    }
}
