using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>An ARP packet for IPv4 over Ethernet (RFC 826).</summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;
    public const ushort OperationRequest = 1;
    public const ushort OperationReply = 2;

    private readonly Span<byte> _bytes;

    private ArpPacket(Span<byte> bytes) => _bytes = bytes;

    /// <summary>Accepts only Ethernet/IPv4 ARP with the right address lengths.</summary>
    public static bool TryParse(Span<byte> payload, out ArpPacket arp)
    {
        arp = default;
        if (payload.Length < Length
            || BinaryPrimitives.ReadUInt16BigEndian(payload) != 1
            || BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) != EtherType.Ipv4
            || payload[4] != 6
            || payload[5] != 4)
        {
            return false;
        }

        arp = new ArpPacket(payload);
        return true;
    }

    public ushort Operation => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);

    public MacAddress SenderHardware => MacAddress.Read(_bytes[8..]);

    public Ipv4Address SenderProtocol => Ipv4Address.Read(_bytes[14..]);

    public MacAddress TargetHardware => MacAddress.Read(_bytes[18..]);

    public Ipv4Address TargetProtocol => Ipv4Address.Read(_bytes[24..]);

    public static void Write(Span<byte> payload, ushort operation, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp)
    {
        BinaryPrimitives.WriteUInt16BigEndian(payload, 1);
        BinaryPrimitives.WriteUInt16BigEndian(payload[2..], EtherType.Ipv4);
        payload[4] = 6;
        payload[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(payload[6..], operation);
        senderMac.Write(payload[8..]);
        senderIp.Write(payload[14..]);
        targetMac.Write(payload[18..]);
        targetIp.Write(payload[24..]);
    }
}
