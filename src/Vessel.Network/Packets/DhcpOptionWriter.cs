using System.Buffers.Binary;

namespace Vessel.Network.Packets;

/// <summary>Appends DHCP options to a reply's option area.</summary>
public ref struct DhcpOptionWriter
{
    private readonly Span<byte> _options;
    private int _length;

    public DhcpOptionWriter(Span<byte> options)
    {
        _options = options;
        _length = 0;
    }

    public readonly int Length => _length;

    public void WriteByte(byte code, byte value)
    {
        _options[_length] = code;
        _options[_length + 1] = 1;
        _options[_length + 2] = value;
        _length += 3;
    }

    public void WriteAddress(byte code, Ipv4Address address)
    {
        _options[_length] = code;
        _options[_length + 1] = 4;
        address.Write(_options[(_length + 2)..]);
        _length += 6;
    }

    public void WriteUInt32(byte code, uint value)
    {
        _options[_length] = code;
        _options[_length + 1] = 4;
        BinaryPrimitives.WriteUInt32BigEndian(_options[(_length + 2)..], value);
        _length += 6;
    }

    public void WriteBytes(byte code, ReadOnlySpan<byte> value)
    {
        _options[_length] = code;
        _options[_length + 1] = (byte)value.Length;
        value.CopyTo(_options[(_length + 2)..]);
        _length += 2 + value.Length;
    }

    public void WriteEnd()
    {
        _options[_length] = DhcpOption.End;
        _length++;
    }
}
