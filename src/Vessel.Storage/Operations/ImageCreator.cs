using Vessel.Storage.Host;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Raw;

namespace Vessel.Storage.Operations;

/// <summary>Creates images (qemu-img create).</summary>
public static class ImageCreator
{
    /// <summary>
    /// Creates an image. The size may be omitted for a qcow2 image with a backing file (it then
    /// takes the backing file's size); sizes are rounded up to 512 bytes like qemu-img does.
    /// </summary>
    public static void Create(string path, ImageFormat format, long? size, Qcow2CreateOptions? qcow2Options = null)
    {
        qcow2Options ??= new Qcow2CreateOptions();
        if (format == ImageFormat.Raw)
        {
            if (qcow2Options.BackingFile is not null)
            {
                throw new ImageOptionsException("raw images cannot have a backing file");
            }

            if (size is null)
            {
                throw new ImageOptionsException("a size is needed to create a raw image");
            }

            RawImage.Create(path, (size.Value + 511) & ~511L);
            return;
        }

        if (qcow2Options.BackingFile is { Length: > 0 } backingName)
        {
            // The backing chain must open (it exists, has a known format, does not loop); its
            // format is recorded so it is never probed again.
            string resolved = Qcow2Image.ResolveBackingPath(path, backingName);
            if (!File.Exists(resolved))
            {
                throw new StorageException($"the backing file '{resolved}' does not exist");
            }

            using DiskImage backing = ImageOpener.Open(resolved, new ImageOpenOptions { Format = qcow2Options.BackingFormat, ReadOnly = true, ForceShare = true });
            RefuseOwnBacking(path, backing);
            size ??= backing.Length;
            qcow2Options = qcow2Options with { BackingFormat = backing.Format };
        }

        if (size is null)
        {
            throw new ImageOptionsException("a size is needed to create an image without a backing file");
        }

        Qcow2Creator.Create(path, size.Value, qcow2Options);
    }

    /// <summary>
    /// Creating an image over a file of its own backing chain would make the chain a loop and
    /// lose the data the new image is meant to show. qemu-img refuses a backing file of the
    /// same name; this also catches the same file reached by another name, a link or further
    /// down the chain.
    /// </summary>
    private static void RefuseOwnBacking(string path, DiskImage backing)
    {
        if (FileIdentity.Of(path) is not { } target)
        {
            return; // a new file cannot be in any chain
        }

        for (DiskImage? layer = backing; layer is not null; layer = layer.Backing)
        {
            if (FileIdentity.Of(layer.Path) == target)
            {
                throw new ImageOptionsException(layer == backing
                    ? $"'{path}' cannot be its own backing file"
                    : $"'{path}' cannot have the backing file '{backing.Path}', whose backing chain leads back to it");
            }
        }
    }
}
