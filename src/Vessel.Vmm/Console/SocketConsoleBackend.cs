using System.Net.Sockets;

namespace Vessel.Vmm.Console;

/// <summary>
/// <c>--serial unix:PATH</c>: the console on a Unix socket that one client at a time attaches to
/// (<c>socat -,raw,echo=0 unix-connect:PATH</c>) and detaches from by closing it, while the VM
/// runs on. The last <see cref="ConsoleHistory.DefaultCapacity"/> bytes of output are kept and
/// replayed to each client that attaches, so nothing printed while nobody watched is lost.
/// </summary>
/// <remarks>
/// A second client waits in the listen queue until the first leaves, as with QEMU's socket
/// character device. Output is handed to the attached client through a bounded queue: one that
/// stops reading is detached (it can attach again and gets the history) rather than stalling
/// the guest.
/// </remarks>
public sealed class SocketConsoleBackend : ConsoleBackend
{
    private const int MaxPendingBytes = 4 << 20;

    private readonly string _path;
    private readonly Socket _listener;
    private readonly ConsoleHistory _history = new();
    private readonly object _gate = new();
    private Client? _client;
    private volatile bool _disposed;

    private SocketConsoleBackend(string path, Socket listener)
    {
        _path = path;
        _listener = listener;
    }

    /// <exception cref="VmmException">The path is in use or cannot be bound.</exception>
    public static SocketConsoleBackend Listen(string path) => new(path, UnixSocketListener.Bind(path, "--serial"));

    public override void Start(ConsoleInputHandler deliver) =>
        new Thread(() => AcceptLoop(deliver)) { IsBackground = true, Name = "console socket" }.Start();

    public override void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            _history.Append(data);
            _client?.Send(data.ToArray());
        }
    }

    private void AcceptLoop(ConsoleInputHandler deliver)
    {
        byte[] buffer = new byte[4096];
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var client = new Client(socket);
            lock (_gate)
            {
                // Taking the history and attaching under one lock: no output is lost or repeated.
                client.Send(_history.Snapshot());
                _client = client;
            }

            // This client's input, until it leaves; then the next one is accepted.
            try
            {
                int read;
                while ((read = socket.Receive(buffer)) > 0)
                {
                    deliver(buffer.AsSpan(0, read));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            lock (_gate)
            {
                if (_client == client)
                {
                    _client = null;
                }
            }

            client.Close();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener.Dispose();
        lock (_gate)
        {
            _client?.Close(flush: true);
            _client = null;
        }

        UnixSocketListener.Remove(_path);
    }

    /// <summary>An attached client and the thread that writes to it.</summary>
    private sealed class Client
    {
        private readonly Socket _socket;
        private readonly Queue<byte[]> _pending = new();
        private readonly object _gate = new();
        private int _pendingBytes;
        private bool _closed;

        public Client(Socket socket)
        {
            _socket = socket;
            new Thread(WriteLoop) { IsBackground = true, Name = "console socket output" }.Start();
        }

        public void Send(byte[] data)
        {
            lock (_gate)
            {
                if (_closed || data.Length == 0)
                {
                    return;
                }

                if (_pendingBytes + data.Length > MaxPendingBytes)
                {
                    CloseLocked();
                    return;
                }

                _pending.Enqueue(data);
                _pendingBytes += data.Length;
                Monitor.PulseAll(_gate);
            }
        }

        public void Close(bool flush = false)
        {
            lock (_gate)
            {
                DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                while (flush && !_closed && _pending.Count > 0 && DateTime.UtcNow < deadline)
                {
                    Monitor.Wait(_gate, 50);
                }

                CloseLocked();
            }
        }

        private void CloseLocked()
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _pending.Clear();
            Monitor.PulseAll(_gate);
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }

            _socket.Dispose();
        }

        private void WriteLoop()
        {
            while (true)
            {
                byte[] data;
                lock (_gate)
                {
                    while (_pending.Count == 0 && !_closed)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_closed)
                    {
                        return;
                    }

                    data = _pending.Peek();
                }

                try
                {
                    _socket.Send(data);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    Close();
                    return;
                }

                lock (_gate)
                {
                    if (_pending.Count > 0)
                    {
                        _pending.Dequeue();
                        _pendingBytes -= data.Length;
                    }

                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
