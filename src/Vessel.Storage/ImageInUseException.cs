namespace Vessel.Storage;

/// <summary>Another process (a Vessel VM, QEMU, qemu-img) holds a conflicting lock on the image.</summary>
public sealed class ImageInUseException : StorageException
{
    public ImageInUseException(string message, bool readerCouldShare = false)
        : base(message)
    {
        ReaderCouldShare = readerCouldShare;
    }

    /// <summary>
    /// The refused open was a reader's, kept out by a writer: opening without a lock (qemu-img's
    /// -U, QEMU's force-share=on) would work, reading data that may change underneath. The
    /// message names no option, since each tool spells it differently.
    /// </summary>
    public bool ReaderCouldShare { get; }
}
