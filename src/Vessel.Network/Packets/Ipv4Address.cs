using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Vessel.Network.Packets;

/// <summary>An IPv4 address as a plain 32-bit value (a.b.c.d is a&lt;&lt;24 | ... | d).</summary>
public readonly struct Ipv4Address : IEquatable<Ipv4Address>, IComparable<Ipv4Address>
{
    public Ipv4Address(uint value) => Value = value;

    public Ipv4Address(byte a, byte b, byte c, byte d) => Value = ((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d;

    public uint Value { get; }

    public static Ipv4Address Any { get; } = new(0);

    public static Ipv4Address Broadcast { get; } = new(0xFFFF_FFFF);

    public static Ipv4Address Loopback { get; } = new(127, 0, 0, 1);

    public bool IsAny => Value == 0;

    public bool IsBroadcast => Value == 0xFFFF_FFFF;

    public bool IsMulticast => (Value >> 28) == 0xE;

    public bool IsLoopback => (Value >> 24) == 127;

    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    /// <summary>The network mask of a prefix length 0..32.</summary>
    public static Ipv4Address MaskOf(int prefixLength) =>
        new(prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength));

    public bool IsInSubnet(Ipv4Address network, Ipv4Address mask) => (Value & mask.Value) == (network.Value & mask.Value);

    public Ipv4Address Add(uint offset) => new(Value + offset);

    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint value = 0;
        int parts = 0;
        while (true)
        {
            int dot = text.IndexOf('.');
            ReadOnlySpan<char> part = dot < 0 ? text : text[..dot];
            if (part.Length is 0 or > 3 || !uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out uint b) || b > 255)
            {
                return false;
            }

            value = (value << 8) | b;
            parts++;
            if (dot < 0)
            {
                break;
            }

            text = text[(dot + 1)..];
        }

        if (parts != 4)
        {
            return false;
        }

        address = new Ipv4Address(value);
        return true;
    }

    public static Ipv4Address FromIPAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("Not an IPv4 address.", nameof(address));
        }

        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return Read(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[4];
        Write(bytes);
        return new IPAddress(bytes);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}");

    public bool Equals(Ipv4Address other) => Value == other.Value;

    public override bool Equals(object? obj) => obj is Ipv4Address other && Equals(other);

    public override int GetHashCode() => (int)Value;

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public static bool operator ==(Ipv4Address left, Ipv4Address right) => left.Value == right.Value;

    public static bool operator !=(Ipv4Address left, Ipv4Address right) => left.Value != right.Value;
}
