using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Vessel.Network.Packets;

/// <summary>
/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
/// big-endian words. Sums are kept as unfolded 32-bit partial values so that a pseudo-header,
/// a header and a payload can be added separately (each part but the last of even length).
/// </summary>
public static class InternetChecksum
{
    /// <summary>Adds the bytes to a partial sum. Only the last part of a message may have an odd length.</summary>
    public static uint Add(uint partial, ReadOnlySpan<byte> data)
    {
        // Eight bytes at a time into a 64-bit accumulator with end-around carry. The ones'
        // complement sum does not depend on byte order (RFC 1071, 2.B), so native-order loads
        // are summed and the folded result swapped once at the end on little-endian hosts.
        ulong sum = 0;
        while (data.Length >= 8)
        {
            ulong word = MemoryMarshal.Read<ulong>(data);
            sum += word;
            if (sum < word)
            {
                sum++;
            }

            data = data[8..];
        }

        if (data.Length >= 4)
        {
            sum += MemoryMarshal.Read<uint>(data);
            data = data[4..];
        }

        if (data.Length >= 2)
        {
            sum += MemoryMarshal.Read<ushort>(data);
            data = data[2..];
        }

        if (data.Length == 1)
        {
            // The odd byte is the high half of a big-endian word padded with zero.
            sum += BitConverter.IsLittleEndian ? data[0] : (ulong)data[0] << 8;
        }

        uint folded = Fold64(sum);
        if (BitConverter.IsLittleEndian)
        {
            folded = BinaryPrimitives.ReverseEndianness((ushort)folded);
        }

        return Fold32(partial + folded);
    }

    /// <summary>The partial sum of the TCP/UDP pseudo-header.</summary>
    public static uint PseudoHeader(Ipv4Address source, Ipv4Address destination, byte protocol, int length)
    {
        ulong sum = (source.Value >> 16) + (source.Value & 0xFFFF)
            + (destination.Value >> 16) + (destination.Value & 0xFFFF)
            + protocol + (uint)length;
        return Fold64(sum);
    }

    /// <summary>The value to store in a checksum field: ~sum.</summary>
    public static ushort Finish(uint partial) => (ushort)~Fold32(partial);

    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>
    /// Completes a partially checksummed frame, as a device offering VIRTIO_NET_F_CSUM must: sums
    /// from <paramref name="start"/> to the end (the checksum field holds the pseudo-header sum)
    /// and stores the result at <paramref name="start"/> + <paramref name="offset"/>. Returns
    /// false when the offsets do not fit the frame.
    /// </summary>
    public static bool TryComplete(Span<byte> frame, int start, int offset)
    {
        if (start < 0 || offset < 0 || start > frame.Length || offset > frame.Length - start - 2)
        {
            return false;
        }

        ushort result = Finish(Add(0, frame[start..]));

        // 0 and 0xffff are the same number in ones' complement; UDP reserves 0 for "no checksum".
        BinaryPrimitives.WriteUInt16BigEndian(frame[(start + offset)..], result == 0 ? (ushort)0xffff : result);
        return true;
    }

    /// <summary>True when data that includes its own checksum field sums to all ones.</summary>
    public static bool IsValid(uint partial) => Fold32(partial) == 0xFFFF;

    private static uint Fold64(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        return Fold32((uint)sum + 0);
    }

    private static uint Fold32(uint sum)
    {
        ulong s = sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return (uint)s;
    }
}
