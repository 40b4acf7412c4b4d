using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>An Ethernet II header (no VLAN tag, no FCS) over the frame's bytes.</summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;

    /// <summary>The largest frame accepted from a guest: a 64 KiB IP packet plus the header.</summary>
    public const int MaxFrameLength = HeaderLength + 65535;

    private readonly Span<byte> _bytes;

    public EthernetFrame(Span<byte> bytes) => _bytes = bytes;

    public static bool TryParse(Span<byte> frame, out EthernetFrame ethernet)
    {
        ethernet = default;
        if (frame.Length < HeaderLength || frame.Length > MaxFrameLength)
        {
            return false;
        }

        ethernet = new EthernetFrame(frame);
        return true;
    }

    public MacAddress Destination
    {
        get => MacAddress.Read(_bytes);
        set => value.Write(_bytes);
    }

    public MacAddress Source
    {
        get => MacAddress.Read(_bytes[6..]);
        set => value.Write(_bytes[6..]);
    }

    public ushort EtherType
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_bytes[12..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_bytes[12..], value);
    }

    public Span<byte> Payload => _bytes[HeaderLength..];

    public static void Write(Span<byte> frame, MacAddress destination, MacAddress source, ushort etherType)
    {
        destination.Write(frame);
        source.Write(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
    }
}
