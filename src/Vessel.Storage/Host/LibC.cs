using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vessel.Storage.Host;

/// <summary>The libc calls the block layer needs and .NET does not expose: durability, holes, byte-range locks.</summary>
internal static partial class LibC
{
    public const int FallocKeepSize = 0x01;
    public const int FallocPunchHole = 0x02;
    public const int FallocZeroRange = 0x10;

    public const int SeekData = 3;
    public const int SeekHole = 4;

    /// <summary>Open-file-description locks: owned by the open file, not the process, like QEMU uses.</summary>
    public const int FOfdGetLk = 36;
    public const int FOfdSetLk = 37;

    public const short FRdLck = 0;
    public const short FWrLck = 1;
    public const short FUnLck = 2;

    public const int ENOENT = 2;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EINVAL = 22;
    public const int ENXIO = 6;
    public const int ENOSPC = 28;
    public const int EOPNOTSUPP = 95;

    /// <summary>glibc's <c>struct flock</c> on LP64 Linux (x86-64 and arm64 share the layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int FDataSync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int FAllocate(SafeFileHandle fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(SafeFileHandle fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlLock(SafeFileHandle fd, int command, ref Flock lockRange);

    /// <summary>glibc 2.33+ exports fstat; <c>st_blocks</c> sits at byte 64 of <c>struct stat</c> on x86-64 and arm64.</summary>
    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    public static unsafe partial int FStat(SafeFileHandle fd, byte* statBuffer);

    public const int StatBufferSize = 256;
    public const int StatBlocksOffset = 64;

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Stat(string path, byte* statBuffer);

    /// <summary>st_dev and st_ino open struct stat on LP64 Linux (x86-64 and arm64 alike).</summary>
    public const int StatDeviceOffset = 0;
    public const int StatInodeOffset = 8;
}
