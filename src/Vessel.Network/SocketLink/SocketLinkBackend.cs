using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.SocketLink;

/// <summary>
/// A point-to-point Ethernet link to another VM over one TCP connection, without root
/// (<c>--net socket,listen=ADDR:PORT</c> on one VM, <c>--net socket,connect=ADDR:PORT</c> on the
/// other). Each frame travels as a 4-byte big-endian length and the frame, the format of QEMU's
/// <c>-netdev socket</c>/<c>-netdev stream</c>, so a Vessel VM can also talk to a QEMU VM.
/// </summary>
/// <remarks>
/// The listening side accepts one peer at a time and accepts the next when it goes away.
/// Frames sent while no peer is connected, or while the peer does not keep up (more than
/// <see cref="MaxQueuedBytes"/> waiting), are dropped, as on a cable.
/// </remarks>
public sealed class SocketLinkBackend : INetworkBackend, IPollHandler
{
    public const int MaxQueuedBytes = 1024 * 1024;
    private const int MaxFrameLength = EthernetFrame.MaxFrameLength;
    private const int LengthPrefix = 4;

    private readonly EventLoop _loop;
    private readonly Socket? _listener;
    private readonly object _sendLock = new();
    private readonly byte[] _receiveBuffer = new byte[2 * (MaxFrameLength + LengthPrefix)];
    private readonly ListenerHandler? _listenerHandler;
    private IFrameReceiver? _receiver;
    private Socket? _peer;
    private int _peerRegistration = -1;
    private int _receiveStart;
    private int _receiveEnd;
    private bool _receiverFull;

    // Bytes waiting to go to the peer, guarded by _sendLock (Send runs on the NIC's thread).
    private byte[] _sendBuffer = new byte[64 * 1024];
    private int _sendStart;
    private int _sendEnd;
    private bool _wantWrite;
    private int _disposed;

    private SocketLinkBackend(Socket? listener, Socket? peer)
    {
        _listener = listener;
        _peer = peer;
        _loop = new EventLoop("vessel-net-socket");
        _loop.Woken = OnWoken;
        if (listener is not null)
        {
            _listenerHandler = new ListenerHandler(this);
        }
    }

    /// <summary>The listening end point (for <c>listen=</c> with port 0, the port chosen).</summary>
    public IPEndPoint? ListenEndPoint => (IPEndPoint?)_listener?.LocalEndPoint;

    public bool IsConnected => Volatile.Read(ref _peer) is not null;

    public long DroppedFrames { get; private set; }

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
    public static SocketLinkBackend Connect(IPEndPoint endPoint, TimeSpan? timeout = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            IAsyncResult pending = socket.BeginConnect(endPoint, null, null);
            if (!pending.AsyncWaitHandle.WaitOne(timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new NetworkBackendException($"cannot connect to {endPoint}: no answer (is the other VM listening?)");
            }

            socket.EndConnect(pending);
            socket.Blocking = false;
            return new SocketLinkBackend(null, socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new NetworkBackendException(e.SocketErrorCode == SocketError.ConnectionRefused
                ? $"cannot connect to {endPoint}: connection refused (is the other VM listening?)"
                : $"cannot connect to {endPoint}: {e.Message}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

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
        if (frame.Length is 0 or > MaxFrameLength || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        bool wake;
        lock (_sendLock)
        {
            Socket? peer = _peer;
            if (peer is null || _sendEnd - _sendStart + LengthPrefix + frame.Length > MaxQueuedBytes)
            {
                DroppedFrames++;
                return;
            }

            EnsureSendSpace(LengthPrefix + frame.Length);
            BinaryPrimitives.WriteUInt32BigEndian(_sendBuffer.AsSpan(_sendEnd), (uint)frame.Length);
            frame.CopyTo(_sendBuffer.AsSpan(_sendEnd + LengthPrefix));
            _sendEnd += LengthPrefix + frame.Length;
            if (!_wantWrite)
            {
                FlushLocked(peer);
            }

            wake = _sendEnd > _sendStart && !_wantWrite;
            if (wake)
            {
                _wantWrite = true; // the loop watches for EPOLLOUT and writes the rest
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
                if (!FlushLocked(peer))
                {
                    DropPeer();
                    return;
                }

                if (_sendEnd == _sendStart)
                {
                    _wantWrite = false;
                }
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

    private void ReadFromPeer(Socket peer)
    {
        while (true)
        {
            if (!DeliverFrames())
            {
                return; // the guest is full; reading resumes on NotifyReceiveSpace
            }

            if (_receiveStart > 0)
            {
                _receiveBuffer.AsSpan(_receiveStart, _receiveEnd - _receiveStart).CopyTo(_receiveBuffer);
                _receiveEnd -= _receiveStart;
                _receiveStart = 0;
            }

            int n = peer.Receive(_receiveBuffer.AsSpan(_receiveEnd), SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success || n == 0)
            {
                DropPeer();
                return;
            }

            _receiveEnd += n;
        }
    }

    /// <summary>Hands every complete frame in the receive buffer to the guest; false when the guest refused one.</summary>
    private bool DeliverFrames()
    {
        while (_receiveEnd - _receiveStart >= LengthPrefix)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(_receiveBuffer.AsSpan(_receiveStart));
            if (length is 0 or > MaxFrameLength)
            {
                DropPeer(); // not our framing: a confused or hostile peer
                return false;
            }

            if (_receiveEnd - _receiveStart < LengthPrefix + length)
            {
                return true;
            }

            ReadOnlySpan<byte> frame = _receiveBuffer.AsSpan(_receiveStart + LengthPrefix, (int)length);
            if (_receiver is not null && !_receiver.TryReceive(frame))
            {
                _receiverFull = true;
                _loop.Wake(); // NotifyReceiveSpace may have raced with the refusal
                return false;
            }

            _receiveStart += LengthPrefix + (int)length;
        }

        return true;
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

    /// <summary>Writes queued bytes without blocking; false when the connection failed.</summary>
    private bool FlushLocked(Socket peer)
    {
        while (_sendEnd > _sendStart)
        {
            int n = peer.Send(_sendBuffer.AsSpan(_sendStart, _sendEnd - _sendStart), SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return true;
            }

            if (error != SocketError.Success)
            {
                return false;
            }

            _sendStart += n;
        }

        _sendStart = _sendEnd = 0;
        return true;
    }

    private void EnsureSendSpace(int needed)
    {
        if (_sendEnd + needed <= _sendBuffer.Length)
        {
            return;
        }

        int pending = _sendEnd - _sendStart;
        byte[] target = pending + needed <= _sendBuffer.Length ? _sendBuffer : new byte[Math.Max(_sendBuffer.Length * 2, pending + needed)];
        _sendBuffer.AsSpan(_sendStart, pending).CopyTo(target);
        _sendBuffer = target;
        _sendStart = 0;
        _sendEnd = pending;
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
            _sendStart = _sendEnd = 0;
            _wantWrite = false;
        }

        _receiveStart = _receiveEnd = 0;
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
