using System.Runtime.InteropServices;

namespace Vessel.Machine.Native;

/// <summary>The few libc calls the machine needs to manage guest RAM as one host mapping.</summary>
internal static partial class LibC
{
    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapPrivate = 0x02;
    public const int MapAnonymous = 0x20;
    public const int MapFixed = 0x10;
    public const int MapNoReserve = 0x4000;
    public const int MadviseDontNeed = 4;
    public const int MadviseMergeable = 12;

    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetThreadId();

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);
}
