using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>An ICMP message (RFC 792); echo request and reply share the identifier/sequence layout.</summary>
public readonly ref struct IcmpMessage
{
    public const int HeaderLength = 8;
    public const byte TypeEchoReply = 0;
    public const byte TypeDestinationUnreachable = 3;
    public const byte TypeEchoRequest = 8;

    private readonly Span<byte> _bytes;

    private IcmpMessage(Span<byte> bytes) => _bytes = bytes;

    public static bool TryParse(Span<byte> payload, out IcmpMessage message)
    {
        message = default;
        if (payload.Length < HeaderLength || !InternetChecksum.IsValid(InternetChecksum.Add(0, payload)))
        {
            return false;
        }

        message = new IcmpMessage(payload);
        return true;
    }

    public byte Type => _bytes[0];

    public byte Code => _bytes[1];

    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);

    public Span<byte> Data => _bytes[HeaderLength..];

    public Span<byte> Bytes => _bytes;

    /// <summary>Writes an echo header and the checksum over the whole message (data already in place).</summary>
    public static void WriteEcho(Span<byte> message, byte type, ushort identifier, ushort sequence)
    {
        message[0] = type;
        message[1] = 0;
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], InternetChecksum.Compute(message));
    }
}
