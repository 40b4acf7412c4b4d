namespace Vessel.Vmm.Native;

/// <summary>
/// Puts a terminal into raw mode (every key straight to the guest, no echo, no signals from
/// Ctrl-C) and back, through the C library's termios calls.
/// </summary>
internal static unsafe class Terminal
{
    // struct termios is 60 bytes on Linux with glibc; a larger buffer leaves room to spare.
    private const int TermiosBufferSize = 128;
    private const int TcsaNow = 0;

    public static bool IsTerminal(int fd) => LibC.IsATty(fd) == 1;

    /// <summary>Switches <paramref name="fd"/> to raw mode; returns the settings to restore, or null when it is not a terminal.</summary>
    /// <param name="keepOutputProcessing">Keep "\n" written by the host turning into "\r\n" (a user's terminal); off for a pseudo-terminal that carries the guest's bytes as they are.</param>
    public static byte[]? EnterRawMode(int fd, bool keepOutputProcessing = true)
    {
        if (!IsTerminal(fd))
        {
            return null;
        }

        byte[] saved = new byte[TermiosBufferSize];
        byte[] raw = new byte[TermiosBufferSize];
        // Safe: both buffers are pinned for the calls and larger than struct termios.
        fixed (byte* savedPointer = saved)
        fixed (byte* rawPointer = raw)
        {
            if (LibC.TcGetAttr(fd, savedPointer) != 0)
            {
                return null;
            }

            saved.CopyTo(raw, 0);
            LibC.CfMakeRaw(rawPointer);
            if (keepOutputProcessing)
            {
                // Keep output post-processing so that "\n" written by the host becomes "\r\n".
                *(uint*)(rawPointer + 4) |= 1; // c_oflag |= OPOST
            }

            if (LibC.TcSetAttr(fd, TcsaNow, rawPointer) != 0)
            {
                return null;
            }
        }

        return saved;
    }

    /// <summary>Restores settings saved by <see cref="EnterRawMode"/>.</summary>
    public static void Restore(int fd, byte[] saved)
    {
        // Safe: the buffer came from EnterRawMode and is larger than struct termios.
        fixed (byte* pointer = saved)
        {
            LibC.TcSetAttr(fd, TcsaNow, pointer);
        }
    }
}
