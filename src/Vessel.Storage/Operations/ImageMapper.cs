namespace Vessel.Storage.Operations;

/// <summary>One run of qemu-img map's output.</summary>
public sealed record MapEntry(long Start, long Length, int Depth, bool Present, bool Zero, bool Data, long? Offset, bool Compressed, string Filename);

/// <summary>qemu-img map: where each part of the virtual disk comes from, through the backing chain.</summary>
public static class ImageMapper
{
    public static List<MapEntry> Map(string path, ImageFormat? format, bool forceShare = false)
    {
        using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = format, ReadOnly = true, ForceShare = forceShare });
        return Map(image);
    }

    public static List<MapEntry> Map(DiskImage image)
    {
        var entries = new List<MapEntry>();
        long offset = 0;
        while (offset < image.Length)
        {
            MapEntry entry = Describe(image, offset, image.Length - offset, 0);
            Append(entries, entry);
            offset += entry.Length;
        }

        return entries;
    }

    private static MapEntry Describe(DiskImage image, long offset, long maxLength, int depth)
    {
        BlockExtent extent = image.GetExtent(offset, maxLength);
        switch (extent.Kind)
        {
            case ExtentKind.Data:
                return new MapEntry(offset, extent.Length, depth, true, false, true, extent.Compressed || extent.HostOffset < 0 ? null : extent.HostOffset, extent.Compressed, image.Path);
            case ExtentKind.Zero:
                return new MapEntry(offset, extent.Length, depth, true, true, false, extent.HostOffset < 0 ? null : extent.HostOffset, false, image.Path);
            default:
                DiskImage? backing = image.Backing;
                if (backing is not null && offset < backing.Length)
                {
                    return Describe(backing, offset, Math.Min(extent.Length, backing.Length - offset), depth + 1);
                }

                return new MapEntry(offset, extent.Length, depth, false, true, false, null, false, image.Path);
        }
    }

    private static void Append(List<MapEntry> entries, MapEntry entry)
    {
        if (entries.Count > 0)
        {
            MapEntry last = entries[^1];
            bool sameKind = last.Depth == entry.Depth && last.Present == entry.Present && last.Zero == entry.Zero
                && last.Data == entry.Data && last.Compressed == entry.Compressed && last.Filename == entry.Filename;
            bool contiguous = (last.Offset is null && entry.Offset is null) || (last.Offset is { } o && entry.Offset == o + last.Length);
            if (sameKind && contiguous && last.Start + last.Length == entry.Start)
            {
                entries[^1] = last with { Length = last.Length + entry.Length };
                return;
            }
        }

        entries.Add(entry);
    }
}
