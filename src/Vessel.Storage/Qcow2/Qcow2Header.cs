using System.Buffers.Binary;
using System.Text;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// The qcow2 header (first cluster of the image): fixed fields, header extensions and the backing
/// file name, parsed with every field checked against the file and the spec's limits, and
/// serialised back with unknown extensions and unknown additional header fields preserved.
/// </summary>
internal sealed class Qcow2Header
{
    public const uint Magic = 0x514649fb;
    public const int Version2HeaderLength = 72;
    public const int Version3MinHeaderLength = 104;
    public const int Version3HeaderLength = 112;
    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;
    public const int MaxBackingFileNameLength = 1023;
    public const long MaxL1Bytes = 32L * 1024 * 1024;
    public const long MaxRefcountTableBytes = 8L * 1024 * 1024;
    public const int MaxSnapshots = 65536;

    // Byte offsets of the fields Vessel updates in place.
    public const int SizeOffset = 24;
    public const int L1SizeOffset = 36;
    public const int RefcountTableOffsetOffset = 48;
    public const int SnapshotCountOffset = 60;
    public const int IncompatibleFeaturesOffset = 72;
    public const int AutoclearFeaturesOffset = 88;

    public int Version { get; set; }
    public int ClusterBits { get; set; }
    public ulong Size { get; set; }
    public uint CryptMethod { get; set; }
    public uint L1Size { get; set; }
    public ulong L1TableOffset { get; set; }
    public ulong RefcountTableOffset { get; set; }
    public uint RefcountTableClusters { get; set; }
    public uint SnapshotCount { get; set; }
    public ulong SnapshotsOffset { get; set; }
    public ulong IncompatibleFeatures { get; set; }
    public ulong CompatibleFeatures { get; set; }
    public ulong AutoclearFeatures { get; set; }
    public int RefcountOrder { get; set; } = 4;
    public Qcow2CompressionType CompressionType { get; set; }

    /// <summary>Additional header fields past byte 112 that Vessel does not know, preserved.</summary>
    public byte[] UnknownHeaderFields { get; set; } = [];

    public string? BackingFile { get; set; }
    public string? BackingFormat { get; set; }

    /// <summary>Extensions other than backing format and feature names, in their original order.</summary>
    public List<HeaderExtension> OtherExtensions { get; } = [];

    /// <summary>The image's own feature name table, if it has one (used to name unknown features).</summary>
    public List<FeatureName> FeatureNames { get; } = [];

    public int ClusterSize => 1 << ClusterBits;
    public bool HasExtendedL2 => (IncompatibleFeatures & Qcow2Features.ExtendedL2) != 0;
    public bool IsDirty => (IncompatibleFeatures & Qcow2Features.Dirty) != 0;
    public bool IsCorrupt => (IncompatibleFeatures & Qcow2Features.Corrupt) != 0;
    public bool HasLazyRefcounts => (CompatibleFeatures & Qcow2Features.LazyRefcounts) != 0;
    public HeaderExtension? BitmapsExtension => OtherExtensions.FirstOrDefault(e => e.Type == HeaderExtension.Bitmaps);

    /// <summary>Reads and validates the header from the image's first bytes (at most one cluster).</summary>
    public static Qcow2Header Parse(ReadOnlySpan<byte> data, string path, long fileLength)
    {
        if (data.Length < Version2HeaderLength || BinaryPrimitives.ReadUInt32BigEndian(data) != Magic)
        {
            throw new StorageException($"'{path}' is not a qcow2 image (it has no qcow2 signature)");
        }

        var h = new Qcow2Header();
        uint version = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        if (version == 1)
        {
            throw new StorageException($"'{path}' is a qcow version 1 image, which Vessel does not support (convert it with qemu-img to qcow2)");
        }

        if (version is not (2 or 3))
        {
            throw new StorageException($"'{path}' is a qcow2 image of version {version}, which Vessel does not support");
        }

        h.Version = (int)version;
        ulong backingOffset = BinaryPrimitives.ReadUInt64BigEndian(data[8..]);
        uint backingSize = BinaryPrimitives.ReadUInt32BigEndian(data[16..]);
        uint clusterBits = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
        if (clusterBits is < MinClusterBits or > MaxClusterBits)
        {
            throw Corrupt(path, $"its cluster size 2^{clusterBits} is outside 512 B to 2 MiB");
        }

        h.ClusterBits = (int)clusterBits;
        int clusterSize = 1 << h.ClusterBits;
        h.Size = BinaryPrimitives.ReadUInt64BigEndian(data[24..]);
        h.CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(data[32..]);
        h.L1Size = BinaryPrimitives.ReadUInt32BigEndian(data[36..]);
        h.L1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(data[40..]);
        h.RefcountTableOffset = BinaryPrimitives.ReadUInt64BigEndian(data[48..]);
        h.RefcountTableClusters = BinaryPrimitives.ReadUInt32BigEndian(data[56..]);
        h.SnapshotCount = BinaryPrimitives.ReadUInt32BigEndian(data[60..]);
        h.SnapshotsOffset = BinaryPrimitives.ReadUInt64BigEndian(data[64..]);

        int headerLength = Version2HeaderLength;
        if (h.Version >= 3)
        {
            if (data.Length < Version3MinHeaderLength)
            {
                throw Corrupt(path, "its header is truncated");
            }

            h.IncompatibleFeatures = BinaryPrimitives.ReadUInt64BigEndian(data[72..]);
            h.CompatibleFeatures = BinaryPrimitives.ReadUInt64BigEndian(data[80..]);
            h.AutoclearFeatures = BinaryPrimitives.ReadUInt64BigEndian(data[88..]);
            if ((h.AutoclearFeatures & Qcow2Features.RawExternalData) != 0 && (h.IncompatibleFeatures & Qcow2Features.ExternalDataFile) == 0)
            {
                // The spec allows "raw external data" only with an external data file, as QEMU checks.
                throw Corrupt(path, "it marks its external data raw but has no external data file");
            }

            uint refcountOrder = BinaryPrimitives.ReadUInt32BigEndian(data[96..]);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[100..]);
            if (refcountOrder > 6)
            {
                throw Corrupt(path, $"its refcount order {refcountOrder} is larger than 6");
            }

            if (length < Version3MinHeaderLength || length % 8 != 0 || length > clusterSize || length > data.Length)
            {
                throw Corrupt(path, $"its header length {length} is invalid");
            }

            h.RefcountOrder = (int)refcountOrder;
            headerLength = (int)length;
            if (headerLength > 104)
            {
                h.CompressionType = (Qcow2CompressionType)data[104];
            }

            if (headerLength > Version3HeaderLength)
            {
                h.UnknownHeaderFields = data[Version3HeaderLength..headerLength].ToArray();
            }
        }

        ReadExtensions(h, data, path, headerLength, backingOffset, clusterSize);

        if (backingOffset != 0)
        {
            if (backingSize > MaxBackingFileNameLength)
            {
                throw Corrupt(path, $"its backing file name is {backingSize} bytes long (at most {MaxBackingFileNameLength} are allowed)");
            }

            if (backingOffset > (ulong)clusterSize || backingOffset + backingSize > (ulong)Math.Min(clusterSize, data.Length))
            {
                throw Corrupt(path, "its backing file name lies outside the header cluster");
            }

            h.BackingFile = Encoding.UTF8.GetString(data.Slice((int)backingOffset, (int)backingSize));
            if (h.BackingFile.Length == 0)
            {
                h.BackingFile = null;
            }
        }

        h.Validate(path, fileLength);
        return h;
    }

    private static void ReadExtensions(Qcow2Header h, ReadOnlySpan<byte> data, string path, int headerLength, ulong backingOffset, int clusterSize)
    {
        int end = backingOffset != 0 && backingOffset < (ulong)clusterSize ? (int)backingOffset : clusterSize;
        end = Math.Min(end, data.Length);
        int offset = headerLength;
        while (offset + 8 <= end)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 4)..]);
            offset += 8;
            if (type == HeaderExtension.End)
            {
                return;
            }

            if (length > (uint)(end - offset))
            {
                throw Corrupt(path, $"its header extension 0x{type:x8} is larger than the header cluster");
            }

            ReadOnlySpan<byte> body = data.Slice(offset, (int)length);
            switch (type)
            {
                case HeaderExtension.BackingFormat:
                    h.BackingFormat = Encoding.UTF8.GetString(body);
                    break;
                case HeaderExtension.FeatureNameTable:
                    for (int i = 0; i + HeaderExtension.FeatureNameEntrySize <= body.Length; i += HeaderExtension.FeatureNameEntrySize)
                    {
                        ReadOnlySpan<byte> nameBytes = body.Slice(i + 2, HeaderExtension.FeatureNameLength);
                        int nul = nameBytes.IndexOf((byte)0);
                        string name = Encoding.UTF8.GetString(nul >= 0 ? nameBytes[..nul] : nameBytes);
                        h.FeatureNames.Add(new FeatureName((FeatureKind)body[i], body[i + 1], name));
                    }

                    break;
                default:
                    h.OtherExtensions.Add(new HeaderExtension(type, body.ToArray()));
                    break;
            }

            offset += (int)((length + 7) & ~7u);
        }
    }

    private void Validate(string path, long fileLength)
    {
        ulong clusterSize = (ulong)ClusterSize;
        if (CryptMethod != 0 || OtherExtensions.Any(e => e.Type == HeaderExtension.FullDiskEncryption))
        {
            throw new StorageException($"'{path}' is an encrypted qcow2 image, which Vessel does not support");
        }

        ulong unknown = IncompatibleFeatures & ~Qcow2Features.KnownIncompatible;
        if (unknown != 0)
        {
            throw new StorageException($"'{path}' uses qcow2 features Vessel does not support: {DescribeFeatures(unknown, FeatureKind.Incompatible)}");
        }

        if ((IncompatibleFeatures & Qcow2Features.ExternalDataFile) != 0)
        {
            throw new StorageException($"'{path}' keeps its data in an external data file, which Vessel does not support");
        }

        if ((IncompatibleFeatures & Qcow2Features.CompressionType) != 0)
        {
            if (CompressionType != Qcow2CompressionType.Zstd)
            {
                throw new StorageException($"'{path}' uses compression type {(int)CompressionType}, which Vessel does not support");
            }
        }
        else if (CompressionType != Qcow2CompressionType.Deflate)
        {
            throw Corrupt(path, "it names a compression type without setting the compression type feature bit");
        }

        if (HasExtendedL2 && ClusterBits < 14)
        {
            throw Corrupt(path, "it uses extended L2 entries with clusters smaller than 16 KiB");
        }

        if (Size > long.MaxValue / 2)
        {
            throw Corrupt(path, $"its virtual size {Size} is too large");
        }

        if (L1Size > MaxL1Bytes / 8)
        {
            throw Corrupt(path, $"its L1 table has {L1Size} entries, more than the {MaxL1Bytes / 8} allowed");
        }

        ulong entriesPerL2 = clusterSize / (HasExtendedL2 ? 16u : 8u);
        ulong clusters = (Size + clusterSize - 1) / clusterSize;
        ulong neededL1 = (clusters + entriesPerL2 - 1) / entriesPerL2;
        if (L1Size < neededL1)
        {
            throw Corrupt(path, $"its L1 table ({L1Size} entries) is too small for its virtual size ({Size} bytes)");
        }

        CheckTable(path, "L1 table", L1TableOffset, (ulong)L1Size * 8, fileLength, allowEmpty: L1Size == 0);
        if (RefcountTableClusters == 0 || RefcountTableOffset == 0)
        {
            throw Corrupt(path, "it has no refcount table");
        }

        if ((ulong)RefcountTableClusters * clusterSize > MaxRefcountTableBytes)
        {
            throw Corrupt(path, $"its refcount table ({RefcountTableClusters} clusters) is larger than the {MaxRefcountTableBytes >> 20} MiB allowed");
        }

        CheckTable(path, "refcount table", RefcountTableOffset, (ulong)RefcountTableClusters * clusterSize, fileLength, allowEmpty: false);
        if (SnapshotCount > MaxSnapshots)
        {
            throw Corrupt(path, $"it claims {SnapshotCount} snapshots, more than the {MaxSnapshots} allowed");
        }

        if (SnapshotCount > 0)
        {
            CheckTable(path, "snapshot table", SnapshotsOffset, 40, fileLength, allowEmpty: false);
        }

        if (Version < 3 && RefcountOrder != 4)
        {
            throw Corrupt(path, "a version 2 image must use 16-bit refcounts");
        }
    }

    private void CheckTable(string path, string what, ulong offset, ulong length, long fileLength, bool allowEmpty)
    {
        if (allowEmpty && length == 0)
        {
            return;
        }

        if (offset % (ulong)ClusterSize != 0)
        {
            throw Corrupt(path, $"its {what} offset 0x{offset:x} is not aligned to a cluster");
        }

        if (offset == 0)
        {
            throw Corrupt(path, $"its {what} overlaps the header");
        }

        if (offset > (ulong)fileLength || length > (ulong)fileLength - offset)
        {
            throw Corrupt(path, $"its {what} at 0x{offset:x} lies beyond the end of the file (the file may be truncated)");
        }
    }

    /// <summary>Names feature bits from the image's own feature name table, falling back to the bit numbers.</summary>
    public string DescribeFeatures(ulong bits, FeatureKind kind)
    {
        var names = new List<string>();
        for (int bit = 0; bit < 64; bit++)
        {
            if ((bits & (1UL << bit)) == 0)
            {
                continue;
            }

            FeatureName? known = FeatureNames.FirstOrDefault(f => f.Kind == kind && f.Bit == bit && f.Name.Length > 0);
            names.Add(known is not null ? $"'{known.Name}' (bit {bit})" : $"unknown feature bit {bit}");
        }

        return string.Join(", ", names);
    }

    /// <summary>The header length Vessel writes for this image.</summary>
    public int SerializedHeaderLength => Version >= 3 ? Version3HeaderLength + UnknownHeaderFields.Length : Version2HeaderLength;

    /// <summary>
    /// Writes the whole header cluster: fields, extensions, end marker and backing file name.
    /// The feature name table is optional (informational); <paramref name="nameOffset"/> -1 puts
    /// the backing file name right after the end marker.
    /// </summary>
    public HeaderLayout Serialize(Span<byte> cluster, string path, bool featureTable = true, int nameOffset = -1)
    {
        cluster.Clear();
        int headerLength = SerializedHeaderLength;
        BinaryPrimitives.WriteUInt32BigEndian(cluster, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[4..], (uint)Version);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[20..], (uint)ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[24..], Size);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[32..], CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[36..], L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[40..], L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[48..], RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[56..], RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[60..], SnapshotCount);
        BinaryPrimitives.WriteUInt64BigEndian(cluster[64..], SnapshotsOffset);
        if (Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(cluster[72..], IncompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(cluster[80..], CompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(cluster[88..], AutoclearFeatures);
            BinaryPrimitives.WriteUInt32BigEndian(cluster[96..], (uint)RefcountOrder);
            BinaryPrimitives.WriteUInt32BigEndian(cluster[100..], (uint)headerLength);
            cluster[104] = (byte)CompressionType;
            UnknownHeaderFields.CopyTo(cluster[Version3HeaderLength..]);
        }

        int offset = headerLength;
        if (BackingFormat is not null)
        {
            offset = WriteExtension(cluster, offset, HeaderExtension.BackingFormat, Encoding.UTF8.GetBytes(BackingFormat), path);
        }

        if (Version >= 3 && featureTable)
        {
            var table = new byte[Qcow2Features.KnownNames.Count * HeaderExtension.FeatureNameEntrySize];
            for (int i = 0; i < Qcow2Features.KnownNames.Count; i++)
            {
                FeatureName f = Qcow2Features.KnownNames[i];
                table[i * HeaderExtension.FeatureNameEntrySize] = (byte)f.Kind;
                table[(i * HeaderExtension.FeatureNameEntrySize) + 1] = (byte)f.Bit;
                Encoding.ASCII.GetBytes(f.Name).CopyTo(table, (i * HeaderExtension.FeatureNameEntrySize) + 2);
            }

            offset = WriteExtension(cluster, offset, HeaderExtension.FeatureNameTable, table, path);
        }

        foreach (HeaderExtension extension in OtherExtensions)
        {
            offset = WriteExtension(cluster, offset, extension.Type, extension.Data, path);
        }

        offset = WriteExtension(cluster, offset, HeaderExtension.End, [], path);
        int extensionsEnd = offset;
        if (BackingFile is null)
        {
            return new HeaderLayout(extensionsEnd, 0, 0);
        }

        {
            byte[] name = Encoding.UTF8.GetBytes(BackingFile);
            if (name.Length > MaxBackingFileNameLength)
            {
                throw new StorageException($"the backing file name '{BackingFile}' is longer than {MaxBackingFileNameLength} bytes");
            }

            if (nameOffset >= 0)
            {
                offset = nameOffset;
            }

            if (offset < extensionsEnd || offset + name.Length > cluster.Length)
            {
                throw new StorageException($"the header of '{path}' does not fit in one cluster with backing file name '{BackingFile}'");
            }

            name.CopyTo(cluster[offset..]);
            BinaryPrimitives.WriteUInt64BigEndian(cluster[8..], (ulong)offset);
            BinaryPrimitives.WriteUInt32BigEndian(cluster[16..], (uint)name.Length);
            return new HeaderLayout(extensionsEnd, offset, name.Length);
        }
    }

    /// <summary>
    /// Where a header cluster's meaningful bytes are: the fields and extensions up to the end of
    /// the end marker, and the backing file name. Every other byte of the cluster is free space
    /// that no reader looks at. The cluster is one this image wrote or parsed, so it is well formed.
    /// </summary>
    public static HeaderLayout ReadLayout(ReadOnlySpan<byte> cluster)
    {
        uint version = BinaryPrimitives.ReadUInt32BigEndian(cluster[4..]);
        int offset = version >= 3 ? (int)BinaryPrimitives.ReadUInt32BigEndian(cluster[100..]) : Version2HeaderLength;
        ulong nameOffset = BinaryPrimitives.ReadUInt64BigEndian(cluster[8..]);
        int nameLength = nameOffset == 0 ? 0 : (int)BinaryPrimitives.ReadUInt32BigEndian(cluster[16..]);
        int end = nameOffset != 0 ? (int)nameOffset : cluster.Length;
        while (offset + 8 <= end)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(cluster[offset..]);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(cluster[(offset + 4)..]);
            offset += 8 + (int)((length + 7) & ~7u);
            if (type == HeaderExtension.End)
            {
                break;
            }
        }

        return new HeaderLayout(Math.Min(offset, cluster.Length), (int)nameOffset, nameLength);
    }

    private static int WriteExtension(Span<byte> cluster, int offset, uint type, byte[] body, string path)
    {
        int padded = (body.Length + 7) & ~7;
        if (offset + 8 + padded > cluster.Length)
        {
            throw new StorageException($"the header of '{path}' does not fit in one cluster");
        }

        BinaryPrimitives.WriteUInt32BigEndian(cluster[offset..], type);
        BinaryPrimitives.WriteUInt32BigEndian(cluster[(offset + 4)..], (uint)body.Length);
        body.CopyTo(cluster[(offset + 8)..]);
        return offset + 8 + padded;
    }

    public static ImageCorruptException Corrupt(string path, string reason) =>
        new($"qcow2 image '{path}' is corrupt: {reason}");
}
