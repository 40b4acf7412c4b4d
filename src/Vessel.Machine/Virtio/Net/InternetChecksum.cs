using System.Buffers.Binary;

namespace Vessel.Machine.Virtio.Net;

/// <summary>The 16-bit ones' complement checksum of RFC 1071, as VIRTIO_NET_F_CSUM asks the device to complete it.</summary>
public static class InternetChecksum
{
    /// <summary>The ones' complement sum of <paramref name="data"/> as big-endian 16-bit words, folded to 16 bits.</summary>
    public static ushort Sum(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (word >> 48) + ((word >> 32) & 0xffff) + ((word >> 16) & 0xffff) + (word & 0xffff);
        }

        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>
    /// Completes a partially checksummed frame: sums from <paramref name="start"/> to the end
    /// (the checksum field holds the pseudo-header sum) and stores the complement at
    /// <paramref name="start"/> + <paramref name="offset"/>. Returns false when the offsets do not fit the frame.
    /// </summary>
    public static bool TryComplete(Span<byte> frame, int start, int offset)
    {
        if (start > frame.Length || offset > frame.Length - start - 2)
        {
            return false;
        }

        ushort result = (ushort)~Sum(frame[start..]);

        // 0 and 0xffff are the same number in ones' complement; UDP reserves 0 for "no checksum".
        BinaryPrimitives.WriteUInt16BigEndian(frame[(start + offset)..], result == 0 ? (ushort)0xffff : result);
        return true;
    }
}
