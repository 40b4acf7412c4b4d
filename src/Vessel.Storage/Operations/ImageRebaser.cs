using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Operations;

/// <summary>
/// qemu-img rebase: puts an overlay on a different backing file. The safe mode first copies into
/// the overlay every cluster where the old and new backing content differ, so the guest sees the
/// same disk; the unsafe mode (-u) only rewrites the backing file name.
/// </summary>
public static class ImageRebaser
{
    public static void Rebase(string path, ImageFormat? format, string newBacking, ImageFormat? newBackingFormat, bool unsafeMode, ProgressCallback? progress = null)
    {
        using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = format, OpenBacking = !unsafeMode });
        if (image is not Qcow2Image overlay)
        {
            throw new StorageException($"'{path}' is a raw image and cannot have a backing file");
        }

        DiskImage? newChain = null;
        try
        {
            if (newBacking.Length > 0)
            {
                string resolved = Qcow2Image.ResolveBackingPath(path, newBacking);
                if (!File.Exists(resolved))
                {
                    throw new StorageException($"the new backing file '{resolved}' does not exist");
                }

                newChain = ImageOpener.Open(resolved, new ImageOpenOptions { Format = newBackingFormat, ReadOnly = true });
                newBackingFormat = newChain.Format;
            }

            if (!unsafeMode)
            {
                CopyDifferences(overlay, overlay.Backing, newChain, progress);
            }
        }
        finally
        {
            newChain?.Dispose();
        }

        overlay.SetBackingFile(newBacking.Length == 0 ? null : newBacking, newBacking.Length == 0 ? null : newBackingFormat);
    }

    private static void CopyDifferences(Qcow2Image overlay, DiskImage? oldChain, DiskImage? newChain, ProgressCallback? progress)
    {
        int unit = overlay.ClusterSize;
        var oldData = new byte[unit];
        var newData = new byte[unit];
        long size = overlay.Length;
        for (long offset = 0; offset < size;)
        {
            BlockExtent extent = overlay.GetExtent(offset, size - offset);
            if (extent.Kind != ExtentKind.Unallocated)
            {
                offset = extent.End;
                continue;
            }

            long end = extent.End;
            while (offset < end)
            {
                int length = (int)Math.Min(unit - (offset % unit), end - offset);
                ReadLayer(oldChain, offset, oldData.AsSpan(0, length));
                ReadLayer(newChain, offset, newData.AsSpan(0, length));
                if (!oldData.AsSpan(0, length).SequenceEqual(newData.AsSpan(0, length)))
                {
                    overlay.Write(offset, oldData.AsSpan(0, length));
                }

                offset += length;
                progress?.Invoke(offset, size);
            }
        }

        overlay.Flush();
    }

    private static void ReadLayer(DiskImage? image, long offset, Span<byte> buffer)
    {
        if (image is null || offset >= image.Length)
        {
            buffer.Clear();
            return;
        }

        int available = (int)Math.Min(buffer.Length, image.Length - offset);
        image.Read(offset, buffer[..available]);
        buffer[available..].Clear();
    }
}
