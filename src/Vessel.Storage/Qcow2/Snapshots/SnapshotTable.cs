using System.Buffers.Binary;
using System.Text;
using Vessel.Storage.Host;

namespace Vessel.Storage.Qcow2.Snapshots;

/// <summary>Reads and writes the snapshot table: variable-length entries, each padded to 8 bytes.</summary>
internal static class SnapshotTable
{
    private const int FixedEntrySize = 40;
    private const int KnownExtraDataSize = 24;
    private const int MaxExtraDataSize = 1024;
    private const long MaxTableBytes = 64L * 1024 * 1024;

    /// <summary>Reads the table; <paramref name="tableBytes"/> is its size on disk (what must be freed when it is replaced).</summary>
    public static List<Qcow2Snapshot> Read(HostFile file, Qcow2Header header, Qcow2Geometry g, string path, long fileLength, out long tableBytes)
    {
        var snapshots = new List<Qcow2Snapshot>((int)header.SnapshotCount);
        long offset = (long)header.SnapshotsOffset;
        long position = offset;
        Span<byte> fixedPart = stackalloc byte[FixedEntrySize];
        for (int i = 0; i < header.SnapshotCount; i++)
        {
            if (position - offset + FixedEntrySize > MaxTableBytes || position + FixedEntrySize > fileLength)
            {
                throw Qcow2Header.Corrupt(path, "its snapshot table runs past the end of the file");
            }

            file.ReadZeroPadded(position, fixedPart);
            long l1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(fixedPart);
            uint l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[8..]);
            int idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]);
            int nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..]);
            if (extraSize > MaxExtraDataSize)
            {
                throw Qcow2Header.Corrupt(path, $"snapshot {i} has {extraSize} bytes of extra data (at most {MaxExtraDataSize} are allowed)");
            }

            int variable = (int)extraSize + idLength + nameLength;
            if (position + FixedEntrySize + variable > fileLength)
            {
                throw Qcow2Header.Corrupt(path, "its snapshot table runs past the end of the file");
            }

            var rest = new byte[variable];
            file.ReadZeroPadded(position + FixedEntrySize, rest);
            var snapshot = new Qcow2Snapshot
            {
                L1TableOffset = l1Offset,
                L1Size = l1Size,
                DateSeconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[16..]),
                DateNanoseconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[20..]),
                VmClockNanoseconds = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[24..]),
                VmStateSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[32..]),
                Id = Encoding.UTF8.GetString(rest, (int)extraSize, idLength),
                Name = Encoding.UTF8.GetString(rest, (int)extraSize + idLength, nameLength),
            };
            ReadOnlySpan<byte> extra = rest.AsSpan(0, (int)extraSize);
            if (extra.Length >= 8)
            {
                snapshot.VmStateSize = BinaryPrimitives.ReadUInt64BigEndian(extra);
            }

            if (extra.Length >= 16)
            {
                snapshot.DiskSize = BinaryPrimitives.ReadUInt64BigEndian(extra[8..]);
            }

            if (extra.Length >= 24)
            {
                snapshot.Icount = BinaryPrimitives.ReadUInt64BigEndian(extra[16..]);
            }

            if (extra.Length > KnownExtraDataSize)
            {
                snapshot.UnknownExtraData = extra[KnownExtraDataSize..].ToArray();
            }

            if (l1Size > Qcow2Header.MaxL1Bytes / 8)
            {
                throw Qcow2Header.Corrupt(path, $"snapshot '{snapshot.Name}' has an L1 table of {l1Size} entries, more than allowed");
            }

            if (l1Size > 0 && ((l1Offset & g.ClusterMask) != 0 || l1Offset < g.ClusterSize || l1Offset > fileLength || (long)l1Size * 8 > fileLength - l1Offset))
            {
                throw Qcow2Header.Corrupt(path, $"snapshot '{snapshot.Name}' has its L1 table at an invalid offset 0x{l1Offset:x}");
            }

            snapshots.Add(snapshot);
            position += (FixedEntrySize + variable + 7) & ~7;
        }

        tableBytes = position - offset;
        return snapshots;
    }

    public static byte[] Serialize(IReadOnlyList<Qcow2Snapshot> snapshots)
    {
        var stream = new MemoryStream();
        Span<byte> fixedPart = stackalloc byte[FixedEntrySize];
        Span<byte> extra = stackalloc byte[KnownExtraDataSize];
        foreach (Qcow2Snapshot s in snapshots)
        {
            byte[] id = Encoding.UTF8.GetBytes(s.Id);
            byte[] name = Encoding.UTF8.GetBytes(s.Name);
            int extraSize = KnownExtraDataSize + s.UnknownExtraData.Length;
            fixedPart.Clear();
            BinaryPrimitives.WriteUInt64BigEndian(fixedPart, (ulong)s.L1TableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart[8..], s.L1Size);
            BinaryPrimitives.WriteUInt16BigEndian(fixedPart[12..], (ushort)id.Length);
            BinaryPrimitives.WriteUInt16BigEndian(fixedPart[14..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart[16..], s.DateSeconds);
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart[20..], s.DateNanoseconds);
            BinaryPrimitives.WriteUInt64BigEndian(fixedPart[24..], s.VmClockNanoseconds);

            // A state too large for the old 32-bit field leaves it 0, as QEMU does: a reader that
            // knows only that field then sees a disk-only snapshot instead of a truncated state.
            // The 64-bit field in the extra data holds the real size.
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart[32..], s.VmStateSize <= uint.MaxValue ? (uint)s.VmStateSize : 0);
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart[36..], (uint)extraSize);
            stream.Write(fixedPart);
            BinaryPrimitives.WriteUInt64BigEndian(extra, s.VmStateSize);
            BinaryPrimitives.WriteUInt64BigEndian(extra[8..], s.DiskSize ?? 0);
            BinaryPrimitives.WriteUInt64BigEndian(extra[16..], s.Icount);
            stream.Write(extra);
            stream.Write(s.UnknownExtraData);
            stream.Write(id);
            stream.Write(name);
            int length = FixedEntrySize + extraSize + id.Length + name.Length;
            int padding = ((length + 7) & ~7) - length;
            for (int i = 0; i < padding; i++)
            {
                stream.WriteByte(0);
            }
        }

        return stream.ToArray();
    }
}
