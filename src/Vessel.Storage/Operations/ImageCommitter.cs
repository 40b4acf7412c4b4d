using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Operations;

/// <summary>qemu-img commit: writes an overlay's data into its backing image, then empties the overlay.</summary>
public static class ImageCommitter
{
    private const int ChunkSize = 2 * 1024 * 1024;

    public static void Commit(string path, ImageFormat? format, bool keepOverlay = false, ProgressCallback? progress = null)
    {
        using DiskImage top = ImageOpener.Open(path, new ImageOpenOptions { Format = format, WritableBacking = true });
        if (top is not Qcow2Image overlay)
        {
            throw new StorageException($"'{path}' is a raw image and has no backing file to commit into");
        }

        DiskImage backing = overlay.Backing ?? throw new StorageException($"'{path}' has no backing file to commit into");
        if (backing.Length < top.Length)
        {
            backing.Resize(top.Length, allowShrink: false);
        }

        var buffer = new byte[ChunkSize];
        long offset = 0;
        while (offset < top.Length)
        {
            BlockExtent extent = top.GetExtent(offset, Math.Min(ChunkSize, top.Length - offset));
            switch (extent.Kind)
            {
                case ExtentKind.Data:
                    Span<byte> data = buffer.AsSpan(0, (int)extent.Length);
                    top.Read(offset, data);
                    backing.Write(offset, data);
                    break;
                case ExtentKind.Zero:
                    backing.WriteZeroes(offset, extent.Length, mayUnmap: true);
                    break;
            }

            offset += extent.Length;
            progress?.Invoke(offset, top.Length);
        }

        backing.Flush();
        if (!keepOverlay)
        {
            overlay.MakeEmpty();
        }
    }
}
