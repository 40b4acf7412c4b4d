namespace Vessel.Storage.Host;

/// <summary>A file's device and inode: the same file under any name or link.</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    /// <summary>The identity of the file at <paramref name="path"/>, or null when it cannot be stat'ed.</summary>
    public static unsafe FileIdentity? Of(string path)
    {
        byte* stat = stackalloc byte[LibC.StatBufferSize];
        try
        {
            // Safe: the buffer is larger than struct stat on every LP64 Linux ABI and lives for the call.
            if (LibC.Stat(path, stat) != 0)
            {
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }

        return new FileIdentity(*(ulong*)(stat + LibC.StatDeviceOffset), *(ulong*)(stat + LibC.StatInodeOffset));
    }
}
