using System.Net;
using System.Net.Sockets;
using Vessel.Network.Io;

namespace Vessel.Network.SocketLink;

/// <summary>
/// A point-to-point Ethernet link over one stream connection, without root: to another VM
/// over TCP (<c>--net socket,listen=ADDR:PORT</c> on one VM, <c>--net socket,connect=ADDR:PORT</c>
/// on the other), or to a port of a <see cref="Switch.VirtualSwitch"/> over a Unix socket
/// (<c>--net switch,path=PATH</c>). Each frame travels as a 4-byte big-endian length and the
/// frame, the format of QEMU's <c>-netdev socket</c>/<c>-netdev stream</c>, so a Vessel VM can
/// also talk to a QEMU VM.
/// </summary>
/// <remarks>
/// The listening side accepts one peer at a time and accepts the next when it goes away.
/// Frames sent while no peer is connected, or while the peer does not keep up (more than
/// <see cref="MaxQueuedBytes"/> waiting), are dropped, as on a cable.
/// </remarks>
public sealed class SocketLinkBackend : INetworkBackend, IPollHandler
{
    public const int MaxQueuedBytes = 1024 * 1024;

    private readonly EventLoop _loop;
    private readonly Socket? _listener;
    private readonly ListenerHandler? _listenerHandler;
    private readonly LengthPrefixedReader _reader = new();
    private readonly object _sendLock = new();
    private readonly LengthPrefixedWriter _writer = new(MaxQueuedBytes); // guarded by _sendLock
    private IFrameReceiver? _receiver;
    private Socket? _peer;
    private int _peerRegistration = -1;
    private bool _receiverFull;
    private bool _wantWrite; // guarded by _sendLock: the loop is to watch for EPOLLOUT
    private int _disposed;
    private long _droppedFrames;

    private SocketLinkBackend(Socket? listener, Socket? peer)
    {
        _listener = listener;
        _peer = peer;
        _loop = new EventLoop("vessel-net-link");
        _loop.Woken = OnWoken;
        if (listener is not null)
        {
            _listenerHandler = new ListenerHandler(this);
        }
    }

    /// <summary>The listening end point (for <c>listen=</c> with port 0, the port chosen).</summary>
    public IPEndPoint? ListenEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public bool IsConnected => Volatile.Read(ref _peer) is not null;

    /// <summary>Frames dropped because no peer was connected or it did not keep up.</summary>
    public long DroppedFrames => Interlocked.Read(ref _droppedFrames);

    public Action<Exception> UnhandledException
    {
        get => _loop.UnhandledException;
        set => _loop.UnhandledException = value;
    }

    /// <summary>Listens for the other VM; throws <see cref="NetworkBackendException"/> when the port is busy.</summary>
    public static SocketLinkBackend Listen(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endPoint);
            listener.Listen(4);
            listener.Blocking = false;
            return new SocketLinkBackend(listener, null);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new NetworkBackendException(e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"host TCP port {endPoint.Port} is already in use (socket,listen={endPoint})",
                SocketError.AddressNotAvailable => $"cannot listen on {endPoint}: {endPoint.Address} is not an address of this host",
                SocketError.AccessDenied => $"no permission to listen on host TCP port {endPoint.Port} (ports below 1024 need root)",
                _ => $"cannot listen on {endPoint}: {e.Message}",
            });
        }
    }

    /// <summary>Connects to the other VM's listening end; throws <see cref="NetworkBackendException"/> when it cannot.</summary>
    public static SocketLinkBackend Connect(IPEndPoint endPoint, TimeSpan? timeout = null) =>
        Connect(endPoint, timeout, e => e.SocketErrorCode == SocketError.ConnectionRefused
            ? $"cannot connect to {endPoint}: connection refused (is the other VM listening?)"
            : $"cannot connect to {endPoint}: {e.Message}");

    /// <summary>Connects to a <see cref="Switch.VirtualSwitch"/> listening on a Unix socket.</summary>
    public static SocketLinkBackend ConnectToSwitch(string path, TimeSpan? timeout = null) =>
        Connect(new UnixDomainSocketEndPoint(path), timeout, _ => $"no virtual switch is running at {path} (start one with 'vessel switch {path}')");

    public void Attach(IFrameReceiver receiver) => _receiver = receiver;

    public void Start()
    {
        if (_listener is not null)
        {
            _loop.Add(Datagram.Fd(_listener), _listenerHandler!, LibC.EpollIn);
        }

        if (_peer is not null)
        {
            _peerRegistration = _loop.Add(Datagram.Fd(_peer), this, LibC.EpollIn);
        }

        _loop.Start();
    }

    /// <summary>Queues the frame for the peer and writes what the socket takes right away; never blocks.</summary>
    public void Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is 0 or > LengthPrefixedReader.MaxFrameLength || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        bool wake = false;
        lock (_sendLock)
        {
            Socket? peer = _peer;
            if (peer is null || !_writer.TryAppend(frame))
            {
                Interlocked.Increment(ref _droppedFrames);
                return;
            }

            if (!_wantWrite)
            {
                // Nothing queued before this frame: write now, from the caller's thread (a
                // non-blocking send), and leave any rest to the loop.
                _writer.Flush(peer);
                if (!_writer.IsEmpty)
                {
                    _wantWrite = true;
                    wake = true;
                }
            }
        }

        if (wake)
        {
            _loop.Wake();
        }
    }

    public void NotifyReceiveSpace() => _loop.Wake();

    public void OnPollEvents(uint events)
    {
        Socket? peer = _peer;
        if (peer is null)
        {
            return;
        }

        if ((events & LibC.EpollOut) != 0)
        {
            lock (_sendLock)
            {
                if (!_writer.Flush(peer))
                {
                    DropPeer();
                    return;
                }

                _wantWrite = !_writer.IsEmpty;
            }
        }

        if ((events & (LibC.EpollIn | LibC.EpollHup | LibC.EpollErr)) != 0)
        {
            if (!_receiverFull)
            {
                ReadFromPeer(peer);
            }
            else if ((events & (LibC.EpollHup | LibC.EpollErr)) != 0)
            {
                DropPeer(); // gone while the guest was full: nothing more will come
                return;
            }
        }

        UpdateInterest();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _loop.Stop();
        lock (_sendLock)
        {
            _peer?.Dispose();
            _peer = null;
        }

        _listener?.Dispose();
        _loop.Dispose();
    }

    private static SocketLinkBackend Connect(EndPoint endPoint, TimeSpan? timeout, Func<SocketException, string> describe)
    {
        bool tcp = endPoint is IPEndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, tcp ? ProtocolType.Tcp : ProtocolType.Unspecified);
        try
        {
            if (tcp)
            {
                socket.NoDelay = true;
            }

            Task connect = socket.ConnectAsync(endPoint);
            if (!connect.Wait(timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new NetworkBackendException($"cannot connect to {endPoint}: no answer (is the other side listening?)");
            }

            socket.Blocking = false;
            return new SocketLinkBackend(null, socket);
        }
        catch (AggregateException e) when (e.InnerException is SocketException inner)
        {
            socket.Dispose();
            throw new NetworkBackendException(describe(inner));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new NetworkBackendException(describe(e));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void ReadFromPeer(Socket peer)
    {
        while (true)
        {
            if (!DeliverFrames())
            {
                return; // the guest is full (reading resumes on NotifyReceiveSpace) or the peer was dropped
            }

            if (!_reader.Fill(peer, out bool wouldBlock))
            {
                DropPeer();
                return;
            }

            if (wouldBlock)
            {
                return;
            }
        }
    }

    /// <summary>Hands every complete frame read to the guest; false when the guest refused one or the peer is bad.</summary>
    private bool DeliverFrames()
    {
        while (true)
        {
            switch (_reader.TryPeek(out ReadOnlySpan<byte> frame))
            {
                case LengthPrefixedReader.Result.NeedMore:
                    return true;
                case LengthPrefixedReader.Result.Invalid:
                    DropPeer(); // not our framing: a confused or hostile peer
                    return false;
            }

            if (_receiver is not null && !_receiver.TryReceive(frame))
            {
                _receiverFull = true;
                _loop.Wake(); // NotifyReceiveSpace may have raced with the refusal
                return false;
            }

            _reader.Advance(frame.Length);
        }
    }

    private void OnWoken()
    {
        Socket? peer = _peer;
        if (_receiverFull && peer is not null)
        {
            _receiverFull = false;
            ReadFromPeer(peer);
        }

        UpdateInterest();
    }

    private void UpdateInterest()
    {
        if (_peerRegistration < 0)
        {
            return;
        }

        uint events = _receiverFull ? 0 : LibC.EpollIn;
        lock (_sendLock)
        {
            if (_wantWrite)
            {
                events |= LibC.EpollOut;
            }
        }

        _loop.Modify(_peerRegistration, events);
    }

    private void DropPeer()
    {
        if (_peerRegistration >= 0)
        {
            _loop.Remove(_peerRegistration);
            _peerRegistration = -1;
        }

        lock (_sendLock)
        {
            _peer?.Dispose();
            _peer = null;
            _writer.Clear();
            _wantWrite = false;
        }

        _reader.Clear();
        _receiverFull = false;
    }

    private void Accept()
    {
        Socket accepted;
        try
        {
            accepted = _listener!.Accept();
        }
        catch (SocketException)
        {
            return;
        }

        if (_peer is not null)
        {
            accepted.Dispose(); // one peer at a time: the link is point to point
            return;
        }

        accepted.Blocking = false;
        accepted.NoDelay = true;
        lock (_sendLock)
        {
            _peer = accepted;
        }

        _peerRegistration = _loop.Add(Datagram.Fd(accepted), this, LibC.EpollIn);
    }

    private sealed class ListenerHandler(SocketLinkBackend owner) : IPollHandler
    {
        public void OnPollEvents(uint events) => owner.Accept();
    }
}
