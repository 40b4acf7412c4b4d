using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>The 12-byte DNS message header (RFC 1035, 4.1.1).</summary>
public readonly ref struct DnsHeader
{
    public const int Length = 12;
    public const ushort Port = 53;

    private readonly Span<byte> _bytes;

    private DnsHeader(Span<byte> bytes) => _bytes = bytes;

    public static bool TryParse(Span<byte> message, out DnsHeader header)
    {
        header = default;
        if (message.Length < Length)
        {
            return false;
        }

        header = new DnsHeader(message);
        return true;
    }

    public ushort Id
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_bytes);
        set => BinaryPrimitives.WriteUInt16BigEndian(_bytes, value);
    }

    /// <summary>True for a response, false for a query.</summary>
    public bool IsResponse => (_bytes[2] & 0x80) != 0;

    public int Opcode => (_bytes[2] >> 3) & 0xF;

    public int ResponseCode => _bytes[3] & 0xF;

    public ushort QuestionCount => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);

    public ushort AnswerCount => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);
}
