using System.Net;
using System.Net.Sockets;
using Vessel.Machine.Display;

namespace Vessel.Vmm.Vnc;

/// <summary>
/// A VM's VNC server: listens on a Unix socket or a TCP address and serves each viewer on a
/// <see cref="VncConnection"/> of its own, all looking at the same <see cref="DisplayConsole"/>
/// and typing on the same keyboard and tablet. The password (VNC authentication) can change
/// while the VM runs; the viewers already in stay, as with QEMU.
/// </summary>
public sealed class VncServer : IDisposable
{
    /// <summary>More viewers than this are turned away: each costs two threads and a screen's copy.</summary>
    public const int MaxClients = 16;

    private readonly Socket _listener;
    private readonly VncAddress _address;
    private readonly List<VncConnection> _clients = [];
    private readonly Lock _gate = new();
    private Thread? _acceptThread;
    private string? _password;
    private long _updates;
    private long _bytes;
    private bool _disposed;

    private VncServer(Socket listener, VncAddress address, DisplayConsole console, IVncInput input)
    {
        _listener = listener;
        _address = address;
        Console = console;
        Input = input;
    }

    public DisplayConsole Console { get; }

    /// <summary>Where the viewers' keys and pointer go.</summary>
    public IVncInput Input { get; }

    /// <summary>The desktop name viewers show.</summary>
    public string Name { get; init; } = "Vessel";

    /// <summary>The guest's keyboard layout, which decides the key a keysym becomes.</summary>
    public VncKeymap Keymap { get; init; } = VncKeymap.EnglishUs;

    /// <summary>Whether viewers must authenticate; with no password set, none gets in.</summary>
    public bool PasswordRequired { get; set; }

    /// <summary>The VNC password (its first 8 characters count), or null.</summary>
    public string? Password
    {
        get => Volatile.Read(ref _password);
        set => Volatile.Write(ref _password, value);
    }

    /// <summary>Where the server listens.</summary>
    public VncAddress Address => _address;

    /// <summary>The TCP port actually bound (port 0 asks for any), or -1 for a Unix socket.</summary>
    public int Port => _listener.LocalEndPoint is IPEndPoint endPoint ? endPoint.Port : -1;

    /// <summary>FramebufferUpdate messages and bytes sent to all viewers so far (benchmarks).</summary>
    public (long Updates, long Bytes) Statistics => (Interlocked.Read(ref _updates), Interlocked.Read(ref _bytes));

    /// <summary>The viewers connected now, for query-vnc.</summary>
    public IReadOnlyList<VncConnection> Clients
    {
        get
        {
            lock (_gate)
            {
                return _clients.ToArray();
            }
        }
    }

    /// <summary>Binds the address (a stale Unix socket file is replaced) and starts accepting viewers.</summary>
    /// <exception cref="VmmException">The address is in use or cannot be bound.</exception>
    public static VncServer Listen(VncAddress address, DisplayConsole console, IVncInput input, string? name = null, VncKeymap keymap = VncKeymap.EnglishUs)
    {
        Socket listener;
        if (address.UnixPath is not null)
        {
            listener = UnixSocketListener.Bind(address.UnixPath, "--display vnc");
            // A screen with a keyboard is its owner's alone, whatever the umask let others do.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(address.UnixPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        else
        {
            listener = new Socket(address.TcpEndPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(address.TcpEndPoint);
                listener.Listen(8);
            }
            catch (SocketException e)
            {
                listener.Dispose();
                throw new VmmException($"--display vnc={address} cannot listen: {e.Message}");
            }
        }

        var server = new VncServer(listener, address, console, input) { Name = name ?? "Vessel", Keymap = keymap };
        server._acceptThread = new Thread(server.AcceptLoop) { IsBackground = true, Name = "vnc-accept" };
        server._acceptThread.Start();
        return server;
    }

    internal void CountUpdate(int bytes)
    {
        Interlocked.Increment(ref _updates);
        Interlocked.Add(ref _bytes, bytes);
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // the server closed
            }

            if (socket.ProtocolType == ProtocolType.Tcp)
            {
                socket.NoDelay = true;
            }

            string peer = socket.RemoteEndPoint is IPEndPoint endPoint ? endPoint.ToString() : "unix";
            var connection = new VncConnection(new NetworkStream(socket, ownsSocket: true), this, peer);
            lock (_gate)
            {
                if (_disposed || _clients.Count >= MaxClients)
                {
                    connection.Dispose();
                    continue;
                }

                _clients.Add(connection);
            }

            var thread = new Thread(() =>
            {
                try
                {
                    connection.Run();
                }
                finally
                {
                    lock (_gate)
                    {
                        _clients.Remove(connection);
                    }
                }
            })
            { IsBackground = true, Name = "vnc-client" };
            thread.Start();
        }
    }

    public void Dispose()
    {
        VncConnection[] clients;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            clients = _clients.ToArray();
        }

        _listener.Dispose();
        foreach (VncConnection client in clients)
        {
            client.Dispose();
        }

        if (_address.UnixPath is not null)
        {
            UnixSocketListener.Remove(_address.UnixPath);
        }
    }
}
