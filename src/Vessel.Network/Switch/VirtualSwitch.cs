using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.SocketLink;

namespace Vessel.Network.Switch;

/// <summary>
/// A learning Ethernet switch in this process, for VMs on one host to share a private L2
/// segment without root (<c>vessel switch PATH</c>; each VM uses <c>--net switch,path=PATH</c>).
/// Ports are connections to a Unix socket, carrying frames with QEMU's 4-byte length prefix.
/// The switch learns which port each source MAC lives behind, sends unicast frames only
/// there, and floods broadcast, multicast and unknown destinations to every other port.
/// </summary>
/// <remarks>
/// Bounded against misbehaving VMs: at most <see cref="MaxPorts"/> ports, a MAC table of at
/// most <see cref="MaxMacEntries"/> entries that forget after five minutes, and at most
/// <see cref="MaxQueuedBytesPerPort"/> bytes queued for a port that does not read (its
/// further frames are dropped).
/// </remarks>
public sealed class VirtualSwitch : IDisposable, IPollHandler, ITimerHandler
{
    public const int MaxPorts = 64;
    public const int MaxMacEntries = 4096;
    public const int MaxQueuedBytesPerPort = 1024 * 1024;
    private const long MacAgeMs = 300_000;

    private readonly EventLoop _loop = new("vessel-switch");
    private readonly Socket _listener;
    private readonly List<Port> _ports = [];
    private readonly List<Port> _floodTargets = [];
    private readonly Dictionary<MacAddress, (Port Port, long LastSeen)> _macTable = [];
    private readonly List<MacAddress> _expired = [];
    private readonly LoopTimer _ageing;
    private int _registration = -1;
    private int _portCount;
    private int _disposed;

    /// <summary>Listens on a Unix socket at <paramref name="path"/>; a stale socket file is replaced, a live switch is not.</summary>
    public VirtualSwitch(string path)
    {
        Path = path;
        _ageing = new LoopTimer(this);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            if (File.Exists(path))
            {
                if (IsLive(path))
                {
                    throw new NetworkBackendException($"a virtual switch is already running at {path}");
                }

                File.Delete(path); // left behind by a switch that died
            }

            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(MaxPorts);
            _listener.Blocking = false;
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            _loop.Dispose();
            throw new NetworkBackendException($"cannot create the switch socket {path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _listener.Dispose();
            _loop.Dispose();
            throw new NetworkBackendException($"cannot create the switch socket {path}: {e.Message}");
        }
        catch
        {
            _listener.Dispose();
            _loop.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>Connected ports (read from any thread; an approximate figure while frames flow).</summary>
    public int PortCount => Volatile.Read(ref _portCount);

    public Action<Exception> UnhandledException
    {
        get => _loop.UnhandledException;
        set => _loop.UnhandledException = value;
    }

    public void Start()
    {
        if (_registration >= 0)
        {
            return;
        }

        _registration = _loop.Add(Datagram.Fd(_listener), this, LibC.EpollIn);
        _loop.Arm(_ageing, EventLoop.Now + 10_000);
        _loop.Start();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _loop.Stop();
        foreach (Port port in _ports)
        {
            port.Socket.Dispose();
        }

        _ports.Clear();
        _listener.Dispose();
        _loop.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>New ports.</summary>
    public void OnPollEvents(uint events)
    {
        Socket accepted;
        try
        {
            accepted = _listener.Accept();
        }
        catch (SocketException)
        {
            return;
        }

        if (_ports.Count >= MaxPorts)
        {
            accepted.Dispose();
            return;
        }

        accepted.Blocking = false;
        var port = new Port(this, accepted);
        port.Registration = _loop.Add(Datagram.Fd(accepted), port, LibC.EpollIn);
        _ports.Add(port);
        Volatile.Write(ref _portCount, _ports.Count);
    }

    public void OnTimer(long now)
    {
        foreach ((MacAddress mac, (Port _, long lastSeen)) in _macTable)
        {
            if (now - lastSeen > MacAgeMs)
            {
                _expired.Add(mac);
            }
        }

        foreach (MacAddress mac in _expired)
        {
            _macTable.Remove(mac);
        }

        _expired.Clear();
        _loop.Arm(_ageing, now + 10_000);
    }

    private static bool IsLive(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Forward(Port from, ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14)
        {
            return;
        }

        MacAddress destination = MacAddress.Read(frame);
        MacAddress source = MacAddress.Read(frame[6..]);
        if (!source.IsMulticast)
        {
            if (_macTable.Count < MaxMacEntries || _macTable.ContainsKey(source))
            {
                _macTable[source] = (from, EventLoop.Now);
            }
        }

        if (!destination.IsMulticast && _macTable.TryGetValue(destination, out (Port Port, long LastSeen) entry) && entry.Port.IsOpen)
        {
            if (entry.Port != from)
            {
                entry.Port.Send(frame);
            }

            return;
        }

        // A port may close while being sent to: flood over a snapshot.
        _floodTargets.AddRange(_ports);
        foreach (Port port in _floodTargets)
        {
            if (port != from && port.IsOpen)
            {
                port.Send(frame);
            }
        }

        _floodTargets.Clear();
    }

    private void Close(Port port)
    {
        _loop.Remove(port.Registration);
        port.Socket.Dispose();
        port.IsOpen = false;
        _ports.Remove(port);
        Volatile.Write(ref _portCount, _ports.Count);
        foreach ((MacAddress mac, (Port owner, long _)) in _macTable)
        {
            if (owner == port)
            {
                _expired.Add(mac);
            }
        }

        foreach (MacAddress mac in _expired)
        {
            _macTable.Remove(mac);
        }

        _expired.Clear();
    }

    /// <summary>One connected VM.</summary>
    private sealed class Port(VirtualSwitch owner, Socket socket) : IPollHandler
    {
        private readonly LengthPrefixedReader _reader = new();
        private readonly LengthPrefixedWriter _writer = new(MaxQueuedBytesPerPort);

        public Socket Socket { get; } = socket;

        public int Registration { get; set; } = -1;

        public bool IsOpen { get; set; } = true;

        public void Send(ReadOnlySpan<byte> frame)
        {
            if (!_writer.TryAppend(frame))
            {
                return; // this VM does not keep up: its frames are dropped, others go on
            }

            if (!_writer.Flush(Socket))
            {
                owner.Close(this);
                return;
            }

            owner._loop.Modify(Registration, _writer.IsEmpty ? LibC.EpollIn : LibC.EpollIn | LibC.EpollOut);
        }

        public void OnPollEvents(uint events)
        {
            if ((events & LibC.EpollOut) != 0)
            {
                if (!_writer.Flush(Socket))
                {
                    owner.Close(this);
                    return;
                }

                owner._loop.Modify(Registration, _writer.IsEmpty ? LibC.EpollIn : LibC.EpollIn | LibC.EpollOut);
            }

            if ((events & (LibC.EpollIn | LibC.EpollHup | LibC.EpollErr)) == 0)
            {
                return;
            }

            // Bounded work per wake-up so one chatty VM cannot starve the others.
            for (int reads = 0; reads < 16 && IsOpen; reads++)
            {
                while (true)
                {
                    LengthPrefixedReader.Result result = _reader.TryPeek(out ReadOnlySpan<byte> frame);
                    if (result == LengthPrefixedReader.Result.NeedMore)
                    {
                        break;
                    }

                    if (result == LengthPrefixedReader.Result.Invalid)
                    {
                        owner.Close(this);
                        return;
                    }

                    owner.Forward(this, frame);
                    _reader.Advance(frame.Length);
                    if (!IsOpen)
                    {
                        return;
                    }
                }

                if (!_reader.Fill(Socket, out bool wouldBlock))
                {
                    owner.Close(this);
                    return;
                }

                if (wouldBlock)
                {
                    return;
                }
            }
        }
    }
}
