using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>
/// A BOOTP/DHCP message (RFC 2131): the fixed 236-byte part, the magic cookie and the options.
/// Options are read by scanning on demand; a malformed option list simply ends the scan.
/// </summary>
public readonly ref struct DhcpMessage
{
    public const int FixedLength = 236;
    public const int OptionsOffset = FixedLength + 4;
    public const byte OpRequest = 1;
    public const byte OpReply = 2;
    public const uint MagicCookie = 0x63825363;
    public const ushort ServerPort = 67;
    public const ushort ClientPort = 68;
    public const ushort BroadcastFlag = 0x8000;

    private readonly Span<byte> _bytes;

    private DhcpMessage(Span<byte> bytes) => _bytes = bytes;

    /// <summary>Accepts Ethernet BOOTP requests with the DHCP magic cookie.</summary>
    public static bool TryParse(Span<byte> bytes, out DhcpMessage message)
    {
        message = default;
        if (bytes.Length < OptionsOffset
            || bytes[0] != OpRequest
            || bytes[1] != 1
            || bytes[2] != 6
            || BinaryPrimitives.ReadUInt32BigEndian(bytes[FixedLength..]) != MagicCookie)
        {
            return false;
        }

        message = new DhcpMessage(bytes);
        return true;
    }

    public byte Operation => _bytes[0];

    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]);

    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_bytes[10..]);

    public Ipv4Address ClientAddress => Ipv4Address.Read(_bytes[12..]);

    public Ipv4Address RelayAgentAddress => Ipv4Address.Read(_bytes[24..]);

    public MacAddress ClientHardwareAddress => MacAddress.Read(_bytes[28..]);

    public Span<byte> Options => _bytes[OptionsOffset..];

    public DhcpMessageType MessageType =>
        TryGetOption(DhcpOption.MessageType, out ReadOnlySpan<byte> value) && value.Length == 1 ? (DhcpMessageType)value[0] : DhcpMessageType.None;

    public bool TryGetAddressOption(byte code, out Ipv4Address address)
    {
        address = default;
        if (!TryGetOption(code, out ReadOnlySpan<byte> value) || value.Length != 4)
        {
            return false;
        }

        address = Ipv4Address.Read(value);
        return true;
    }

    public bool TryGetOption(byte code, out ReadOnlySpan<byte> value)
    {
        value = default;
        ReadOnlySpan<byte> options = Options;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == DhcpOption.End)
            {
                return false;
            }

            if (kind == DhcpOption.Pad)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                return false;
            }

            int length = options[i + 1];
            if (i + 2 + length > options.Length)
            {
                return false;
            }

            if (kind == code)
            {
                value = options.Slice(i + 2, length);
                return true;
            }

            i += 2 + length;
        }

        return false;
    }

    /// <summary>
    /// Writes the fixed part and magic cookie of a reply to <paramref name="request"/>;
    /// options follow at <see cref="OptionsOffset"/>.
    /// </summary>
    public static void WriteReplyHeader(Span<byte> reply, DhcpMessage request, Ipv4Address yourAddress, Ipv4Address serverAddress)
    {
        reply[..OptionsOffset].Clear();
        reply[0] = OpReply;
        reply[1] = 1;
        reply[2] = 6;
        request._bytes.Slice(4, 4).CopyTo(reply[4..]); // transaction id
        request._bytes.Slice(10, 2).CopyTo(reply[10..]); // flags
        request._bytes.Slice(12, 4).CopyTo(reply[12..]); // ciaddr
        yourAddress.Write(reply[16..]);
        serverAddress.Write(reply[20..]);
        request._bytes.Slice(24, 4).CopyTo(reply[24..]); // giaddr
        request._bytes.Slice(28, 16).CopyTo(reply[28..]); // chaddr
        BinaryPrimitives.WriteUInt32BigEndian(reply[FixedLength..], MagicCookie);
    }
}
