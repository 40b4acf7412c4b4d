namespace Vessel.Storage;

/// <summary>
/// The image's metadata is inconsistent (a table outside the file, a misaligned offset, overlapping
/// structures). Opening or using it further would risk the data, so the operation was refused;
/// <c>vessel img check -r all</c> is the way out.
/// </summary>
public sealed class ImageCorruptException : StorageException
{
    public ImageCorruptException(string message)
        : base(message)
    {
    }
}
