using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Vessel.Network;

/// <summary>A 48-bit Ethernet address, a plain value.</summary>
public readonly struct MacAddress : IEquatable<MacAddress>
{
    /// <summary>QEMU's prefix for generated NIC addresses (locally administered, unicast).</summary>
    private const ulong QemuPrefix = 0x5254_00UL << 24;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFF;

    public static MacAddress Broadcast { get; } = new(0xFFFF_FFFF_FFFF);

    public static MacAddress Zero { get; } = default;

    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFF;

    /// <summary>True for group addresses (multicast and broadcast): the low bit of the first byte.</summary>
    public bool IsMulticast => (_value & (1UL << 40)) != 0;

    public bool IsZero => _value == 0;

    public static MacAddress FromUInt64(ulong value) => new(value);

    public ulong ToUInt64() => _value;

    public static MacAddress Read(ReadOnlySpan<byte> source) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)_value);
    }

    /// <summary>A new address the way QEMU makes them: 52:54:00 followed by three random bytes.</summary>
    public static MacAddress Generate()
    {
        Span<byte> random = stackalloc byte[3];
        RandomNumberGenerator.Fill(random);
        return new(QemuPrefix | ((ulong)random[0] << 16) | ((ulong)random[1] << 8) | random[2]);
    }

    /// <summary>Parses <c>52:54:00:12:34:56</c> (or with dashes); a group address is refused.</summary>
    public static MacAddress Parse(string text)
    {
        if (!TryParse(text, out MacAddress address))
        {
            throw new NetworkOptionsException($"'{text}' is not a MAC address (expected six hexadecimal bytes like 52:54:00:12:34:56)");
        }

        if (address.IsMulticast)
        {
            throw new NetworkOptionsException($"MAC address {text} is a multicast address and cannot be given to a network card");
        }

        return address;
    }

    public static bool TryParse(string? text, out MacAddress address)
    {
        address = default;
        if (text is null || text.Length != 17)
        {
            return false;
        }

        char separator = text[2];
        if (separator is not (':' or '-'))
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[(i * 3) - 1] != separator)
            {
                return false;
            }

            if (!byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return false;
            }

            value = (value << 8) | b;
        }

        address = new MacAddress(value);
        return true;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(byte)(_value >> 40):x2}:{(byte)(_value >> 32):x2}:{(byte)(_value >> 24):x2}:{(byte)(_value >> 16):x2}:{(byte)(_value >> 8):x2}:{(byte)_value:x2}");

    public bool Equals(MacAddress other) => _value == other._value;

    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    public override int GetHashCode() => _value.GetHashCode();

    public static bool operator ==(MacAddress left, MacAddress right) => left.Equals(right);

    public static bool operator !=(MacAddress left, MacAddress right) => !left.Equals(right);
}
