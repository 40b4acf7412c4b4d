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
    public const int MadvisePopulateWrite = 23; // Linux 5.14; older kernels answer EINVAL

    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    public const int SeekData = 3;
    public const int SeekHole = 4;
    private const int NoSuchDeviceOrAddress = 6; // ENXIO: no data at or after the offset

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long Seek(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, int whence);

    /// <summary>Whether the last failed lseek(SEEK_DATA) meant "only a hole from there to the end".</summary>
    public static bool LastErrorIsNoMoreData() => System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == NoSuchDeviceOrAddress;

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetThreadId();

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);
}
