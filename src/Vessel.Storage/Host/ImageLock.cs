using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vessel.Storage.Host;

/// <summary>
/// Image locking compatible with QEMU's file-posix driver, so that Vessel, QEMU and qemu-img see
/// each other's locks: open-file-description byte-range locks where byte 100+n means "I use
/// permission n" and byte 200+n means "nobody else may have permission n". Permission 0 is
/// consistent read, 1 write, 2 write-unchanged, 3 resize.
/// </summary>
internal static class ImageLock
{
    private const long PermissionBase = 100;
    private const long DenyBase = 200;

    private const int ConsistentRead = 0;
    private const int Write = 1;
    private const int Resize = 3;

    public static void Acquire(SafeFileHandle handle, string path, ImageLockMode mode)
    {
        if (mode == ImageLockMode.None)
        {
            return;
        }

        // A writer uses read, write and resize and lets others only read; a reader uses read and
        // forbids writers (the data would change under it), as QEMU's default permissions do.
        ReadOnlySpan<int> used = mode == ImageLockMode.Exclusive ? [ConsistentRead, Write, Resize] : [ConsistentRead];
        ReadOnlySpan<int> denied = mode == ImageLockMode.Exclusive ? [Write, Resize] : [Write];

        foreach (int permission in used)
        {
            TakeShared(handle, path, PermissionBase + permission);
        }

        foreach (int permission in denied)
        {
            TakeShared(handle, path, DenyBase + permission);
        }

        // Check after taking our own locks, so that two processes racing both see a conflict.
        // A conflict is confirmed over a short while before it is reported: a process that forks
        // (to start qemu-img, say) holds every open file of its parent between fork and exec, so
        // an image just closed may briefly still look locked.
        for (int attempt = 0; ; attempt++)
        {
            if (!Conflicts(handle, used, denied))
            {
                return;
            }

            if (attempt == ConflictRetries)
            {
                throw InUse(path, mode);
            }

            Thread.Sleep(ConflictRetryMilliseconds);
        }
    }

    private const int ConflictRetries = 25;
    private const int ConflictRetryMilliseconds = 10;

    private static bool Conflicts(SafeFileHandle handle, ReadOnlySpan<int> used, ReadOnlySpan<int> denied)
    {
        foreach (int permission in used)
        {
            if (HeldByOther(handle, DenyBase + permission))
            {
                return true;
            }
        }

        foreach (int permission in denied)
        {
            if (HeldByOther(handle, PermissionBase + permission))
            {
                return true;
            }
        }

        return false;
    }

    private static ImageInUseException InUse(string path, ImageLockMode mode) =>
        mode == ImageLockMode.Exclusive
            ? new ImageInUseException($"disk image '{path}' is in use by another process")
            : new ImageInUseException($"disk image '{path}' is in use by another process that may write to it", readerCouldShare: true);

    private static void TakeShared(SafeFileHandle handle, string path, long offset)
    {
        var range = new LibC.Flock { Type = LibC.FRdLck, Whence = 0, Start = offset, Length = 1 };
        if (LibC.FcntlLock(handle, LibC.FOfdSetLk, ref range) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is LibC.EAGAIN or LibC.EACCES)
            {
                throw InUse(path, ImageLockMode.Exclusive);
            }

            // File systems without byte-range locks (some network ones): run unlocked, as QEMU does.
        }
    }

    private static bool HeldByOther(SafeFileHandle handle, long offset)
    {
        var range = new LibC.Flock { Type = LibC.FWrLck, Whence = 0, Start = offset, Length = 1 };
        if (LibC.FcntlLock(handle, LibC.FOfdGetLk, ref range) != 0)
        {
            return false;
        }

        return range.Type != LibC.FUnLck;
    }
}
