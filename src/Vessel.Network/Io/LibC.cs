using System.Runtime.InteropServices;

namespace Vessel.Network.Io;

/// <summary>
/// The libc calls the network backends need beyond what <see cref="System.Net.Sockets.Socket"/>
/// offers: epoll and eventfd for one readiness loop per network, the TUN/TAP device, and
/// exception-free <c>recvfrom</c>/<c>sendto</c> for non-blocking datagram sockets.
/// </summary>
internal static unsafe partial class LibC
{
    public const int EpollCloexec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;

    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;

    public const int EfdCloexec = 0x80000;
    public const int EfdNonblock = 0x800;

    public const int ORdwr = 0x2;
    public const int ONonblock = 0x800;
    public const int OCloexec = 0x80000;

    public const int MsgDontWait = 0x40;

    public const int EIntr = 4;
    public const int ENoent = 2;
    public const int EAgain = 11;
    public const int EAccess = 13;
    public const int EBusy = 16;
    public const int ENodev = 19;
    public const int EInval = 22;
    public const int EPerm = 1;
    public const int ENxio = 6;

    public const ushort AfInet = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrIn
    {
        public ushort Family;
        /// <summary>Network byte order.</summary>
        public ushort Port;
        /// <summary>Network byte order.</summary>
        public uint Address;
        public ulong Zero;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* argument);

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint RecvFrom(int fd, byte* buffer, nuint length, int flags, SockAddrIn* address, uint* addressLength);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, SockAddrIn* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    /// <summary>The C library's description of an errno value, in lower case for use inside a sentence.</summary>
    public static string Describe(int errno)
    {
        string? text = Marshal.PtrToStringUTF8(StrError(errno));
        if (string.IsNullOrEmpty(text))
        {
            return $"error {errno}";
        }

        return char.ToLowerInvariant(text[0]) + text[1..];
    }
}
