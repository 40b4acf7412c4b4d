namespace Vessel.Storage.Host;

/// <summary>How an image is locked against other processes.</summary>
public enum ImageLockMode
{
    /// <summary>A writer: no other writer and no other consistent reader may open the image.</summary>
    Exclusive,

    /// <summary>A reader: other readers are welcome, a writer is not.</summary>
    Shared,

    /// <summary>No lock at all (qemu-img's -U): reading an image another process may be writing.</summary>
    None,
}
