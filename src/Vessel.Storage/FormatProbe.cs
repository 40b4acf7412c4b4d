using System.Buffers.Binary;

namespace Vessel.Storage;

/// <summary>
/// Recognises image formats from their first bytes. Only qcow2 is opened by Vessel; the other
/// signatures are recognised so that such an image is never silently treated as a raw disk.
/// </summary>
public static class FormatProbe
{
    /// <summary>Bytes of the image start the probe looks at.</summary>
    public const int ProbeLength = 512;

    public static bool HasQcowSignature(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == Qcow2.Qcow2Header.Magic;

    /// <summary>The name of a non-raw format the bytes belong to, or null when they look like raw data.</summary>
    public static string? RecogniseFormat(ReadOnlySpan<byte> head)
    {
        if (HasQcowSignature(head))
        {
            return head.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(head[4..]) == 1 ? "qcow" : "qcow2";
        }

        if (head.StartsWith("KDMV"u8) || head.StartsWith("# Disk DescriptorFile"u8))
        {
            return "vmdk";
        }

        if (head.StartsWith("conectix"u8))
        {
            return "vpc";
        }

        if (head.StartsWith("vhdxfile"u8))
        {
            return "vhdx";
        }

        if (head.StartsWith("QED\0"u8))
        {
            return "qed";
        }

        if (head.StartsWith("LUKS\xba\xbe"u8))
        {
            return "luks";
        }

        if (head.Length >= 0x44 && BinaryPrimitives.ReadUInt32LittleEndian(head[0x40..]) == 0xbeda107f)
        {
            return "vdi";
        }

        return null;
    }
}
