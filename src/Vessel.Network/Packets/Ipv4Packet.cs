using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>
/// An IPv4 header and its payload (RFC 791). <see cref="TryParse"/> checks everything a hostile
/// sender could get wrong: version, header length, total length against the bytes present, and
/// the header checksum.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;
    public const byte DefaultTtl = 64;

    private readonly Span<byte> _bytes;

    private Ipv4Packet(Span<byte> bytes) => _bytes = bytes;

    /// <summary>Parses a packet, trimming Ethernet padding after the IP total length.</summary>
    public static bool TryParse(Span<byte> bytes, out Ipv4Packet packet)
    {
        packet = default;
        if (bytes.Length < MinHeaderLength || (bytes[0] >> 4) != 4)
        {
            return false;
        }

        int headerLength = (bytes[0] & 0xF) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        if (headerLength < MinHeaderLength || totalLength < headerLength || totalLength > bytes.Length)
        {
            return false;
        }

        if (!InternetChecksum.IsValid(InternetChecksum.Add(0, bytes[..headerLength])))
        {
            return false;
        }

        packet = new Ipv4Packet(bytes[..totalLength]);
        return true;
    }

    /// <summary>Wraps bytes that are known to hold a valid header (built or checked by the stack).</summary>
    public static Ipv4Packet Wrap(Span<byte> bytes) => new(bytes);

    public int HeaderLength => (_bytes[0] & 0xF) * 4;

    public int TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    public bool DontFragment => (_bytes[6] & 0x40) != 0;

    public bool MoreFragments => (_bytes[6] & 0x20) != 0;

    /// <summary>The fragment offset in bytes.</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]) & 0x1FFF) * 8;

    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    public byte Ttl => _bytes[8];

    public byte Protocol => _bytes[9];

    public Ipv4Address Source => Ipv4Address.Read(_bytes[12..]);

    public Ipv4Address Destination => Ipv4Address.Read(_bytes[16..]);

    public Span<byte> Header => _bytes[..HeaderLength];

    public Span<byte> Payload => _bytes[HeaderLength..];

    public Span<byte> Bytes => _bytes;

    /// <summary>Writes a 20-byte header (no options) with its checksum.</summary>
    public static void WriteHeader(Span<byte> packet, byte protocol, Ipv4Address source, Ipv4Address destination, int payloadLength, ushort identification, bool dontFragment = false, int fragmentOffset = 0, bool moreFragments = false, byte ttl = DefaultTtl)
    {
        packet[0] = 0x45;
        packet[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)(MinHeaderLength + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], identification);
        ushort flags = (ushort)((fragmentOffset / 8) | (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], flags);
        packet[8] = ttl;
        packet[9] = protocol;
        packet[10] = 0;
        packet[11] = 0;
        source.Write(packet[12..]);
        destination.Write(packet[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Compute(packet[..MinHeaderLength]));
    }
}
