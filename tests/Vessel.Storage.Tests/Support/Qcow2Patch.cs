using System.Buffers.Binary;

namespace Vessel.Storage.Tests.Support;

/// <summary>Direct edits of qcow2 metadata to build damaged images (16-bit refcounts, first refcount block).</summary>
public static class Qcow2Patch
{
    public static void SetRefcount(string image, int cluster, ushort value)
    {
        using FileStream file = File.Open(image, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[104];
        file.ReadExactly(header);
        long table = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(48));
        var entry = new byte[8];
        file.Position = table;
        file.ReadExactly(entry);
        long block = (long)BinaryPrimitives.ReadUInt64BigEndian(entry);
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        file.Position = block + (cluster * 2);
        file.Write(bytes);
    }

    public static void WriteBigEndian64(string image, long offset, ulong value)
    {
        using FileStream file = File.Open(image, FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        file.Position = offset;
        file.Write(bytes);
    }
}
