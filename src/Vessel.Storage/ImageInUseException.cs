namespace Vessel.Storage;

/// <summary>Another process (a Vessel VM, QEMU, qemu-img) holds a conflicting lock on the image.</summary>
public sealed class ImageInUseException : StorageException
{
    public ImageInUseException(string message)
        : base(message)
    {
    }
}
