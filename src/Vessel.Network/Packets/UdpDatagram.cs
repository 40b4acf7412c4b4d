using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>A UDP header and its data (RFC 768).</summary>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    private readonly Span<byte> _bytes;

    private UdpDatagram(Span<byte> bytes) => _bytes = bytes;

    /// <summary>Checks the length field against the IP payload and, unless it is zero (none sent), the checksum.</summary>
    public static bool TryParse(Span<byte> payload, Ipv4Address source, Ipv4Address destination, out UdpDatagram datagram)
    {
        datagram = default;
        if (payload.Length < HeaderLength)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(payload[4..]);
        if (length < HeaderLength || length > payload.Length)
        {
            return false;
        }

        Span<byte> bytes = payload[..length];
        if (BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]) != 0)
        {
            uint sum = InternetChecksum.PseudoHeader(source, destination, IpProtocol.Udp, length);
            if (!InternetChecksum.IsValid(InternetChecksum.Add(sum, bytes)))
            {
                return false;
            }
        }

        datagram = new UdpDatagram(bytes);
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);

    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    public Span<byte> Data => _bytes[HeaderLength..];

    /// <summary>Writes the header and checksum; the data must already follow the header in <paramref name="datagram"/>.</summary>
    public static void Write(Span<byte> datagram, ushort sourcePort, ushort destinationPort, Ipv4Address source, Ipv4Address destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(datagram, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[4..], (ushort)datagram.Length);
        datagram[6] = 0;
        datagram[7] = 0;
        uint sum = InternetChecksum.PseudoHeader(source, destination, IpProtocol.Udp, datagram.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, datagram));
        // A computed zero is sent as all ones: zero means "no checksum" in UDP.
        BinaryPrimitives.WriteUInt16BigEndian(datagram[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
    }
}
