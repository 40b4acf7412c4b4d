namespace Vessel.Storage;

/// <summary>
/// The options given for an operation cannot work together or are out of range (a cluster size
/// that is not a power of two, a backing file for a raw image), whatever the files are: the
/// caller's mistake, which a command line reports as a usage mistake.
/// </summary>
public sealed class ImageOptionsException : StorageException
{
    public ImageOptionsException(string message)
        : base(message)
    {
    }
}
