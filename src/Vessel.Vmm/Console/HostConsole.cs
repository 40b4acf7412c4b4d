namespace Vessel.Vmm.Console;

/// <summary>
/// The guest console's host side: buffers the guest's output and hands it to the backend between
/// scheduler slices, and passes the backend's input to the guest device as it has room. Where
/// the console goes (this terminal, a Unix socket, a pseudo-terminal, a file) is the
/// <see cref="ConsoleBackend"/>'s business (<c>--serial</c>).
/// </summary>
public sealed class HostConsole : IDisposable
{
    private readonly ConsoleBackend _backend;
    private readonly object _outputGate = new();
    private readonly byte[] _outputBuffer = new byte[16 * 1024];
    private readonly AutoResetEvent _inputSpace = new(false);
    private int _outputLength;
    private bool _started;
    private volatile IConsoleInput? _target;
    private volatile bool _disposed;

    public HostConsole(ConsoleBackend backend)
    {
        _backend = backend;
        _backend.QuitRequested += OnQuitRequested;
    }

    /// <summary>The user asked the VMM to quit from the console (Ctrl-A x on the terminal).</summary>
    public event Action? QuitRequested;

    /// <summary>Where the console goes.</summary>
    public ConsoleBackend Backend => _backend;

    /// <summary>A console on this process's stdin and stdout, as QEMU's <c>-nographic</c>.</summary>
    public static HostConsole OpenStandardStreams() => new(StdioConsoleBackend.Open());

    /// <summary>Sets the device that receives input; input typed before that waits.</summary>
    public void Attach(IConsoleInput target)
    {
        _target = target;
        _inputSpace.Set();
        if (!_started)
        {
            _started = true;
            _backend.Start(Deliver);
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

        _backend.Write(_outputBuffer.AsSpan(0, _outputLength));
        _outputLength = 0;
    }

    /// <summary>Offers host input to the guest, waiting while its device is full; called on the backend's input thread.</summary>
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

    private void OnQuitRequested()
    {
        Flush();
        QuitRequested?.Invoke();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        _disposed = true;
        _inputSpace.Set();
        _backend.QuitRequested -= OnQuitRequested;
        _backend.Dispose();
    }
}
