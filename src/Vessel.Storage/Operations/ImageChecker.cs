using Vessel.Storage.Qcow2;

namespace Vessel.Storage.Operations;

/// <summary>qemu-img check: only qcow2 images have metadata to check.</summary>
public static class ImageChecker
{
    public static CheckResult Check(string path, ImageFormat? format, CheckRepair repair, bool forceShare = false)
    {
        bool readOnly = repair == CheckRepair.None;
        using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions
        {
            Format = format,
            ReadOnly = readOnly,
            ForceShare = forceShare && readOnly,
            OpenBacking = false,
            AllowCorrupt = true,
            OpenForRepair = true,
        });
        if (image is not Qcow2Image qcow2)
        {
            throw new FormatNotCheckableException($"'{path}' is a {ImageFormats.Name(image.Format)} image, which has no metadata to check");
        }

        return qcow2.Check(repair);
    }
}

/// <summary>The image format has nothing to check (qemu-img check exits 63 for it).</summary>
public sealed class FormatNotCheckableException(string message) : StorageException(message);
