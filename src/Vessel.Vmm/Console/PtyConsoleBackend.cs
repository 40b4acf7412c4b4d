using System.Runtime.InteropServices;
using Vessel.Network.Io;
using Vessel.Vmm.Native;

namespace Vessel.Vmm.Console;

/// <summary>
/// <c>--serial pty</c>: the console on a new pseudo-terminal, announced as QEMU announces it
/// ("char device redirected to /dev/pts/N (label serial0)") for <c>screen</c>, <c>minicom</c> or
/// <c>socat</c> to open. While no program has the terminal open the guest's output is dropped,
/// as QEMU's pty device drops it, so a reader that comes later is not flooded with stale text.
/// </summary>
public sealed unsafe class PtyConsoleBackend : ConsoleBackend
{
    private readonly int _master;
    private readonly FileDescriptorStream _input;
    private readonly FileDescriptorStream _output;
    private volatile bool _disposed;
    private Thread? _reader;

    private PtyConsoleBackend(int master, string path)
    {
        _master = master;
        _input = new FileDescriptorStream(master, FileAccess.Read);
        _output = new FileDescriptorStream(master, FileAccess.Write);
        Path = path;
    }

    /// <summary>The terminal's path (<c>/dev/pts/N</c>).</summary>
    public string Path { get; }

    /// <exception cref="VmmException">The host has no pseudo-terminals to give.</exception>
    public static PtyConsoleBackend Open()
    {
        int master = LibC.PosixOpenPt(LibC.OpenReadWrite | LibC.OpenNoControllingTerminal);
        if (master < 0 || LibC.GrantPt(master) != 0 || LibC.UnlockPt(master) != 0)
        {
            int errno = Marshal.GetLastSystemError();
            if (master >= 0)
            {
                LibC.Close(master);
            }

            throw new VmmException($"--serial pty: cannot create a pseudo-terminal (errno {errno}).");
        }

        byte* name = stackalloc byte[128];
        if (LibC.PtsNameR(master, name, 128) != 0)
        {
            LibC.Close(master);
            throw new VmmException("--serial pty: cannot find the pseudo-terminal's name.");
        }

        string path = Marshal.PtrToStringUTF8((nint)name)!;

        // The guest's bytes pass as they are, in both directions (QEMU sets the pty raw too).
        Terminal.EnterRawMode(master, keepOutputProcessing: false);
        int flags = LibC.Fcntl(master, LibC.FcntlGetFlags, 0);
        LibC.Fcntl(master, LibC.FcntlSetFlags, flags | LibC.OpenNonBlocking);

        System.Console.Out.WriteLine($"char device redirected to {path} (label serial0)");
        System.Console.Out.Flush();
        return new PtyConsoleBackend(master, path);
    }

    public override void Start(ConsoleInputHandler deliver)
    {
        _reader = new Thread(() => ReadInput(deliver)) { IsBackground = true, Name = "console pty" };
        _reader.Start();
    }

    public override void Write(ReadOnlySpan<byte> data)
    {
        if (_disposed || !IsOpenOnTheOtherSide())
        {
            return;
        }

        try
        {
            _output.Write(data);
        }
        catch (IOException)
        {
            // Full (the reader is not reading: the descriptor does not block) or gone: dropped.
        }
    }

    /// <summary>A pty master polls as hung up while no program holds the terminal open.</summary>
    private bool IsOpenOnTheOtherSide()
    {
        var poll = new LibC.PollFd { Fd = _master, Events = 0 };
        return LibC.Poll(&poll, 1, 0) >= 0 && (poll.ReturnedEvents & LibC.PollHangUp) == 0;
    }

    private void ReadInput(ConsoleInputHandler deliver)
    {
        byte[] buffer = new byte[4096];
        while (!_disposed)
        {
            var poll = new LibC.PollFd { Fd = _master, Events = LibC.PollIn };
            int ready = LibC.Poll(&poll, 1, 200);
            if (ready <= 0 || (poll.ReturnedEvents & LibC.PollIn) == 0)
            {
                if ((poll.ReturnedEvents & LibC.PollHangUp) != 0)
                {
                    Thread.Sleep(100); // nobody has the terminal open yet
                }

                continue;
            }

            int read;
            try
            {
                read = _input.Read(buffer);
            }
            catch (IOException)
            {
                read = 0; // EIO while the other side is closed, EAGAIN when nothing came
            }

            if (read > 0)
            {
                deliver(buffer.AsSpan(0, read));
            }
            else
            {
                Thread.Sleep(100);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _reader?.Join(TimeSpan.FromSeconds(1)); // its poll ends within 200 ms; then the descriptor can go
        LibC.Close(_master);
    }
}
