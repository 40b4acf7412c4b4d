using System.Buffers.Binary;

namespace Vessel.Machine.Virtio.Net;

/// <summary>struct virtio_net_hdr as used with VIRTIO_F_VERSION_1 and without hash reports: 12 bytes.</summary>
internal static class VirtioNetHeader
{
    public const int Size = 12;

    public const byte FlagNeedsChecksum = 1;
    public const byte GsoNone = 0;

    public static byte Flags(ReadOnlySpan<byte> header) => header[0];

    public static byte GsoType(ReadOnlySpan<byte> header) => header[1];

    public static ushort ChecksumStart(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);

    public static ushort ChecksumOffset(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);

    /// <summary>A receive header: nothing offloaded, the frame spread over <paramref name="buffers"/> buffers.</summary>
    public static void WriteReceive(Span<byte> header, ushort buffers)
    {
        header[..10].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], buffers);
    }
}
