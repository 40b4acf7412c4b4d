using System.Text;
using Vessel.Network.Io;
using Vessel.Vmm.Native;

namespace Vessel.Vmm.Console;

/// <summary>
/// Connects the guest's console to the host's standard input and output, as QEMU's
/// <c>-nographic</c> does: the terminal in raw mode when stdin is a TTY, plain pipes otherwise,
/// and <c>Ctrl-A x</c> to quit (<c>Ctrl-A Ctrl-A</c> sends a Ctrl-A, <c>Ctrl-A h</c> prints help).
/// Guest output is buffered and written out between scheduler slices.
/// </summary>
public sealed class HostConsole : IDisposable
{
    private const byte EscapeKey = 0x01; // Ctrl-A

    private readonly Stream _input;
    private readonly Stream _output;
    private readonly object _outputGate = new();
    private readonly byte[] _outputBuffer = new byte[16 * 1024];
    private readonly AutoResetEvent _inputSpace = new(false);
    private readonly byte[]? _savedTerminal;
    private int _outputLength;
    private byte _lastWritten = (byte)'\n';
    private volatile bool _quit;
    private Thread? _inputThread;
    private volatile IConsoleInput? _target;
    private volatile bool _disposed;

    /// <param name="input">Host input (stdin).</param>
    /// <param name="output">Host output (stdout).</param>
    /// <param name="useRawTerminal">Put stdin's terminal in raw mode when it is one.</param>
    public HostConsole(Stream input, Stream output, bool useRawTerminal)
    {
        _input = input;
        _output = output;
        if (useRawTerminal)
        {
            _savedTerminal = Terminal.EnterRawMode(0);
        }
    }

    /// <summary>The user pressed Ctrl-A x.</summary>
    public event Action? QuitRequested;

    /// <summary>Creates a console on this process's stdin and stdout.</summary>
    /// <remarks>
    /// The file descriptors are read and written directly: .NET's console stream for a terminal
    /// stdin is line-edited (it echoes and returns whole lines), which would swallow Ctrl-A x
    /// and every key the guest should see as it is typed; and a <see cref="FileStream"/> on a
    /// redirected stdout writes at a position of its own (see <see cref="FileDescriptorStream"/>).
    /// </remarks>
    public static HostConsole OpenStandardStreams() =>
        new(new FileDescriptorStream(0, FileAccess.Read), new FileDescriptorStream(1, FileAccess.Write), useRawTerminal: true);

    /// <summary>Sets the device that receives input; input typed before that waits.</summary>
    public void Attach(IConsoleInput target)
    {
        _target = target;
        _inputSpace.Set();
        if (_inputThread is null)
        {
            _inputThread = new Thread(ReadInput) { IsBackground = true, Name = "console input" };
            _inputThread.Start();
        }
    }

    /// <summary>The guest device has room for input again.</summary>
    public void NotifyInputSpace() => _inputSpace.Set();

    /// <summary>Queues one byte of guest output.</summary>
    public void Write(byte value)
    {
        lock (_outputGate)
        {
            if (_outputLength == _outputBuffer.Length)
            {
                FlushLocked();
            }

            _outputBuffer[_outputLength++] = value;
        }
    }

    /// <summary>Queues guest output.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            Write(b);
        }
    }

    /// <summary>Writes out buffered guest output.</summary>
    public void Flush()
    {
        if (_outputLength == 0)
        {
            return;
        }

        lock (_outputGate)
        {
            FlushLocked();
        }
    }

    private void FlushLocked()
    {
        if (_outputLength == 0)
        {
            return;
        }

        try
        {
            _output.Write(_outputBuffer, 0, _outputLength);
            _output.Flush();
            _lastWritten = _outputBuffer[_outputLength - 1];
        }
        catch (IOException)
        {
            // The reader went away (a closed pipe): the guest keeps running, as QEMU's does.
        }

        _outputLength = 0;
    }

    private void ReadInput()
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
                            Deliver(forward.AsSpan(0, count));
                            _quit = true;
                            QuitRequested?.Invoke();
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

            Deliver(forward.AsSpan(0, count));
        }
    }

    private void Deliver(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !_disposed)
        {
            IConsoleInput? target = _target;
            int accepted = target?.Offer(data) ?? 0;
            data = data[accepted..];
            if (!data.IsEmpty)
            {
                _inputSpace.WaitOne(50);
            }
        }
    }

    private void PrintHelp()
    {
        const string help = "\r\nC-a h    print this help\r\nC-a x    exit Vessel\r\nC-a C-a  send C-a\r\n";
        lock (_outputGate)
        {
            FlushLocked();
            try
            {
                _output.Write(Encoding.ASCII.GetBytes(help));
                _output.Flush();
                _lastWritten = (byte)'\n';
            }
            catch (IOException)
            {
            }
        }
    }

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

            try
            {
                // As the guest ends its lines; a terminal (whose output processing raw mode
                // leaves on) shows it as one line break too.
                _output.Write("\r\n"u8);
                _output.Flush();
                _lastWritten = (byte)'\n';
            }
            catch (IOException)
            {
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        if (_quit)
        {
            EndLine();
        }

        _disposed = true;
        if (_savedTerminal is not null)
        {
            Terminal.Restore(0, _savedTerminal);
        }

        _inputSpace.Set();
    }
}
