using System.Text;
using Vessel.Network.Io;
using Vessel.Vmm.Native;

namespace Vessel.Vmm.Console;

/// <summary>
/// <c>--serial stdio</c> (the default): the console on this process's standard input and
/// output, as QEMU's <c>-nographic</c> does: the terminal in raw mode when stdin is a TTY, plain
/// pipes otherwise, and <c>Ctrl-A x</c> to quit (<c>Ctrl-A Ctrl-A</c> sends a Ctrl-A,
/// <c>Ctrl-A h</c> prints help).
/// </summary>
public sealed class StdioConsoleBackend : ConsoleBackend
{
    private const byte EscapeKey = 0x01; // Ctrl-A

    private readonly Stream _input;
    private readonly Stream _output;
    private readonly object _outputGate = new();
    private readonly byte[]? _savedTerminal;
    private byte _lastWritten = (byte)'\n';
    private volatile bool _quit;
    private volatile bool _disposed;

    /// <param name="input">Host input (stdin).</param>
    /// <param name="output">Host output (stdout).</param>
    /// <param name="useRawTerminal">Put stdin's terminal in raw mode when it is one.</param>
    public StdioConsoleBackend(Stream input, Stream output, bool useRawTerminal)
    {
        _input = input;
        _output = output;
        if (useRawTerminal)
        {
            _savedTerminal = Terminal.EnterRawMode(0);
        }
    }

    /// <summary>A console on this process's stdin and stdout.</summary>
    /// <remarks>
    /// The file descriptors are read and written directly: .NET's console stream for a terminal
    /// stdin is line-edited (it echoes and returns whole lines), which would swallow Ctrl-A x
    /// and every key the guest should see as it is typed; and a <see cref="FileStream"/> on a
    /// redirected stdout writes at a position of its own (see <see cref="FileDescriptorStream"/>).
    /// </remarks>
    public static StdioConsoleBackend Open() =>
        new(new FileDescriptorStream(0, FileAccess.Read), new FileDescriptorStream(1, FileAccess.Write), useRawTerminal: true);

    public override void Start(ConsoleInputHandler deliver) =>
        new Thread(() => ReadInput(deliver)) { IsBackground = true, Name = "console input" }.Start();

    public override void Write(ReadOnlySpan<byte> data)
    {
        lock (_outputGate)
        {
            try
            {
                _output.Write(data);
                _output.Flush();
                if (!data.IsEmpty)
                {
                    _lastWritten = data[^1];
                }
            }
            catch (IOException)
            {
                // The reader went away (a closed pipe): the guest keeps running, as QEMU's does.
            }
        }
    }

    private void ReadInput(ConsoleInputHandler deliver)
    {
        byte[] buffer = new byte[4096];
        byte[] forward = new byte[4096];
        bool escape = false;
        while (!_disposed)
        {
            int read;
            try
            {
                read = _input.Read(buffer, 0, buffer.Length);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                return;
            }

            if (read <= 0)
            {
                return; // end of input: the guest keeps running without it
            }

            int count = 0;
            for (int i = 0; i < read; i++)
            {
                byte b = buffer[i];
                if (escape)
                {
                    escape = false;
                    switch (b)
                    {
                        case (byte)'x':
                        case (byte)'X':
                            deliver(forward.AsSpan(0, count));
                            _quit = true;
                            RequestQuit();
                            return;
                        case EscapeKey:
                            forward[count++] = EscapeKey;
                            break;
                        case (byte)'h':
                        case (byte)'?':
                            PrintHelp();
                            break;
                    }

                    continue;
                }

                if (b == EscapeKey)
                {
                    escape = true;
                    continue;
                }

                forward[count++] = b;
            }

            deliver(forward.AsSpan(0, count));
        }
    }

    private void PrintHelp() =>
        Write(Encoding.ASCII.GetBytes("\r\nC-a h    print this help\r\nC-a x    exit Vessel\r\nC-a C-a  send C-a\r\n"));

    /// <summary>
    /// After Ctrl-A x the guest's last line (a shell prompt, typically) is left unfinished; the
    /// host shell's prompt must start on a line of its own, as after QEMU's "Terminated".
    /// </summary>
    private void EndLine()
    {
        lock (_outputGate)
        {
            if (_lastWritten == (byte)'\n')
            {
                return;
            }
        }

        // As the guest ends its lines; a terminal (whose output processing raw mode leaves on)
        // shows it as one line break too.
        Write("\r\n"u8);
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        if (_quit)
        {
            EndLine();
        }

        _disposed = true;
        if (_savedTerminal is not null)
        {
            Terminal.Restore(0, _savedTerminal);
        }
    }
}
