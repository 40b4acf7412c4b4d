using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Operations;

/// <summary>What qemu-img info tells about one image (field names follow its JSON output).</summary>
public sealed record ImageInfo
{
    public required string Filename { get; init; }
    public required string Format { get; init; }
    public long VirtualSize { get; init; }
    public long ActualSize { get; init; }
    public int? ClusterSize { get; init; }
    public string? BackingFilename { get; init; }
    public string? FullBackingFilename { get; init; }
    public string? BackingFilenameFormat { get; init; }
    public bool DirtyFlag { get; init; }
    public IReadOnlyList<SnapshotInfo> Snapshots { get; init; } = [];
    public Qcow2Info? Qcow2 { get; init; }

    /// <summary>
    /// Reads the information of one image without opening its backing chain. Like qemu-img info,
    /// which does no data I/O, it takes no lock: an image in use by a VM can be inspected.
    /// </summary>
    public static ImageInfo Read(string path, ImageFormat? format = null, bool forceShare = true)
    {
        using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = format, ReadOnly = true, ForceShare = forceShare, OpenBacking = false });
        return From(image);
    }

    /// <summary>The image and every image below it, top first (qemu-img info --backing-chain).</summary>
    public static List<ImageInfo> ReadChain(string path, ImageFormat? format = null, bool forceShare = true)
    {
        var chain = new List<ImageInfo>();
        var seen = new HashSet<string>();
        string? current = path;
        ImageFormat? currentFormat = format;
        while (current is not null)
        {
            if (!seen.Add(System.IO.Path.GetFullPath(current)))
            {
                throw new StorageException($"the backing chain of '{path}' loops back to '{current}'");
            }

            ImageInfo info = Read(current, currentFormat, forceShare);
            chain.Add(info);
            current = info.FullBackingFilename;
            currentFormat = info.BackingFilenameFormat is null ? null : ImageFormats.Parse(info.BackingFilenameFormat);
            if (current is not null && !File.Exists(current))
            {
                throw new StorageException($"the backing file '{current}' of '{info.Filename}' does not exist");
            }
        }

        return chain;
    }

    public static ImageInfo From(DiskImage image)
    {
        if (image is Qcow2Image q)
        {
            return new ImageInfo
            {
                Filename = image.Path,
                Format = "qcow2",
                VirtualSize = image.Length,
                ActualSize = image.AllocatedBytes,
                ClusterSize = q.ClusterSize,
                BackingFilename = q.BackingFileName,
                FullBackingFilename = q.ResolvedBackingPath,
                BackingFilenameFormat = q.BackingFormatName,
                DirtyFlag = q.IsDirty,
                Snapshots = q.Snapshots,
                Qcow2 = new Qcow2Info(q.Version >= 3 ? "1.1" : "0.10", q.CompressionTypeName, q.HasLazyRefcounts, q.RefcountBits, q.IsCorrupt, q.HasExtendedL2),
            };
        }

        return new ImageInfo
        {
            Filename = image.Path,
            Format = ImageFormats.Name(image.Format),
            VirtualSize = image.Length,
            ActualSize = image.AllocatedBytes,
        };
    }
}

/// <summary>qemu-img info's "Format specific information" for qcow2.</summary>
public sealed record Qcow2Info(string Compat, string CompressionType, bool LazyRefcounts, int RefcountBits, bool Corrupt, bool ExtendedL2);
