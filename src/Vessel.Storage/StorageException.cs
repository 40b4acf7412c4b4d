namespace Vessel.Storage;

/// <summary>
/// A failure of the block layer that a user can understand and act on (a missing file, an image
/// in use, an unsupported or corrupt image). The message is one sentence naming the image. It is
/// an <see cref="IOException"/> so that callers that already handle host I/O errors handle it too.
/// </summary>
public class StorageException : IOException
{
    public StorageException(string message)
        : base(message)
    {
    }

    public StorageException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
