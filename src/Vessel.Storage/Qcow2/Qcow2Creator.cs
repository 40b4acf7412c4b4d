using System.Buffers.Binary;
using System.Numerics;
using Vessel.Storage.Host;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// Writes a new, empty qcow2 image with QEMU's layout: header in cluster 0, the refcount table
/// from cluster 1, its refcount blocks, then the L1 table.
/// </summary>
public static class Qcow2Creator
{
    public static void Create(string path, long size, Qcow2CreateOptions options)
    {
        Validate(options, size);
        size = (size + 511) & ~511L;
        int clusterBits = BitOperations.Log2((uint)options.ClusterSize);
        int refcountOrder = BitOperations.Log2((uint)options.RefcountBits);
        var g = new Qcow2Geometry(clusterBits, options.ExtendedL2, refcountOrder);
        long l1Entries = g.L1EntriesFor(size);
        if (l1Entries > Qcow2Header.MaxL1Bytes / 8)
        {
            throw new StorageException($"{size} bytes is more than a qcow2 image with {options.ClusterSize}-byte clusters can address");
        }

        long l1Clusters = g.ClustersFor(l1Entries * 8);
        long tableClusters = 1;
        long blocks = 1;
        while (true)
        {
            long total = 1 + tableClusters + blocks + l1Clusters;
            long neededBlocks = (total + g.RefcountBlockEntries - 1) / g.RefcountBlockEntries;
            long neededTable = g.ClustersFor(neededBlocks * 8);
            if (neededBlocks == blocks && neededTable == tableClusters)
            {
                break;
            }

            blocks = neededBlocks;
            tableClusters = neededTable;
        }

        long clusters = 1 + tableClusters + blocks + l1Clusters;
        long cs = g.ClusterSize;
        var header = new Qcow2Header
        {
            Version = options.Version,
            ClusterBits = clusterBits,
            Size = (ulong)size,
            L1Size = (uint)l1Entries,
            L1TableOffset = (ulong)((1 + tableClusters + blocks) * cs),
            RefcountTableOffset = (ulong)cs,
            RefcountTableClusters = (uint)tableClusters,
            RefcountOrder = refcountOrder,
            CompatibleFeatures = options.LazyRefcounts ? Qcow2Features.LazyRefcounts : 0,
            IncompatibleFeatures = (options.Zstd ? Qcow2Features.CompressionType : 0) | (options.ExtendedL2 ? Qcow2Features.ExtendedL2 : 0),
            CompressionType = options.Zstd ? Qcow2CompressionType.Zstd : Qcow2CompressionType.Deflate,
            BackingFile = string.IsNullOrEmpty(options.BackingFile) ? null : options.BackingFile,
            BackingFormat = string.IsNullOrEmpty(options.BackingFile) || options.BackingFormat is null ? null : ImageFormats.Name(options.BackingFormat.Value),
        };

        var headerCluster = new byte[cs];
        try
        {
            header.Serialize(headerCluster, path);
        }
        catch (StorageException) when (header.Version >= 3)
        {
            // The feature name table is optional: small clusters with a backing file name have
            // no room for it (qemu-img creates those images too).
            header.Serialize(headerCluster, path, featureTable: false);
        }

        // The header goes last, after a barrier: until its magic is there the file is not an
        // image at all, so a crash during creation never leaves a qcow2 header that points at
        // refcount structures which were not written yet.
        using (HostFile file = HostFile.Create(path))
        {
            var table = new byte[tableClusters * cs];
            for (long b = 0; b < blocks; b++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan((int)(b * 8)), (ulong)((1 + tableClusters + b) * cs));
            }

            file.Write(cs, table);
            var block = new byte[cs];
            for (long b = 0; b < blocks; b++)
            {
                Array.Clear(block);
                for (long i = 0; i < g.RefcountBlockEntries; i++)
                {
                    long c = (b * g.RefcountBlockEntries) + i;
                    if (c < clusters)
                    {
                        Refcounts.WriteEntry(g, block, i, 1);
                    }
                }

                file.Write((1 + tableClusters + b) * cs, block);
            }

            file.SetLength(clusters * cs);
            file.DataSync();
            file.Write(0, headerCluster);
            file.DataSync();
        }

        if (options.Preallocation != Preallocation.Off)
        {
            using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = ImageFormat.Qcow2, OpenBacking = false });
            ((Qcow2Image)image).Preallocate(options.Preallocation);
        }
    }

    private static void Validate(Qcow2CreateOptions o, long size)
    {
        if (size < 0)
        {
            throw new ImageOptionsException("an image size cannot be negative");
        }

        if (o.ClusterSize < 512 || o.ClusterSize > 2 * 1024 * 1024 || !BitOperations.IsPow2(o.ClusterSize))
        {
            throw new ImageOptionsException($"cluster size {o.ClusterSize} is invalid: it must be a power of two between 512 and 2M");
        }

        if (o.RefcountBits < 1 || o.RefcountBits > 64 || !BitOperations.IsPow2(o.RefcountBits))
        {
            throw new ImageOptionsException($"refcount_bits={o.RefcountBits} is invalid: it must be a power of two up to 64");
        }

        if (o.Version is not (2 or 3))
        {
            throw new ImageOptionsException("compat must be 0.10 (version 2) or 1.1 (version 3)");
        }

        if (o.Version == 2)
        {
            if (o.RefcountBits != 16)
            {
                throw new ImageOptionsException("compat=0.10 images only support refcount_bits=16");
            }

            if (o.LazyRefcounts)
            {
                throw new ImageOptionsException("lazy refcounts need compat=1.1");
            }

            if (o.Zstd)
            {
                throw new ImageOptionsException("compression_type=zstd needs compat=1.1");
            }

            if (o.ExtendedL2)
            {
                throw new ImageOptionsException("extended L2 entries need compat=1.1");
            }
        }

        if (o.ExtendedL2 && o.ClusterSize < 16384)
        {
            throw new ImageOptionsException("extended L2 entries need clusters of at least 16k");
        }

        if (o.BackingFile is null && o.BackingFormat is not null)
        {
            throw new ImageOptionsException("a backing format needs a backing file");
        }
    }
}
