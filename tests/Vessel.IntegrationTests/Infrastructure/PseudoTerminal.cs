using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// A pseudo-terminal for tests: a program started on <see cref="SlavePath"/> sees a real
/// terminal on stdin and stdout, and the test types and reads through the master side.
/// </summary>
public sealed partial class PseudoTerminal : IDisposable
{
    private const int OpenReadWrite = 2;
    private const int OpenNoControllingTty = 0x100;

    private readonly FileStream _master;
    private readonly FileStream _slaveKeeper;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();
    private int _searchFrom;

    public PseudoTerminal()
    {
        int fd = PosixOpenPt(OpenReadWrite | OpenNoControllingTty);
        if (fd < 0 || GrantPt(fd) != 0 || UnlockPt(fd) != 0)
        {
            throw new InvalidOperationException($"cannot create a pseudo-terminal (errno {Marshal.GetLastPInvokeError()})");
        }

        SlavePath = Marshal.PtrToStringUTF8(PtsName(fd))!;
        // Keep one descriptor of the slave open: while none is, reading the master fails with
        // EIO, and the program under test opens its own only after it starts.
        _slaveKeeper = File.Open(SlavePath, FileMode.Open, FileAccess.ReadWrite);
        _master = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, 1, isAsync: false);
        var reader = new Thread(() =>
        {
            byte[] buffer = new byte[4096];
            try
            {
                int read;
                while ((read = _master.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (_gate)
                    {
                        _output.Append(Encoding.Latin1.GetString(buffer, 0, read));
                        Monitor.PulseAll(_gate);
                    }
                }
            }
            catch (IOException)
            {
                // EIO once every slave descriptor is closed: the program ended.
            }
        })
        { IsBackground = true };
        reader.Start();
    }

    /// <summary>The terminal device a program opens as its stdin/stdout (e.g. /dev/pts/3).</summary>
    public string SlavePath { get; }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Types bytes as a keyboard would.</summary>
    public void Type(string keys)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(keys);
        _master.Write(bytes, 0, bytes.Length);
        _master.Flush();
    }

    /// <summary>Waits for <paramref name="text"/> after the previous match.</summary>
    public void WaitFor(string text, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (true)
            {
                int index = _output.ToString().IndexOf(text, _searchFrom, StringComparison.Ordinal);
                if (index >= 0)
                {
                    _searchFrom = index + text.Length;
                    return;
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"Did not see '{text}' on the terminal. Terminal so far:\n{_output}");
                }

                Monitor.Wait(_gate, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }

    public void Dispose()
    {
        _slaveKeeper.Dispose();
        _master.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname")]
    private static partial nint PtsName(int fd);
}
