using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;
using static Vessel.Network.User.SequenceNumber;

namespace Vessel.Network.User;

/// <summary>
/// One guest TCP connection spliced to one host socket. Towards the guest the NAT is a full TCP
/// endpoint: handshake, MSS and window scaling, a sliding window that respects the guest's
/// advertised window, retransmission on a timer (RFC 6298) and on three duplicate ACKs, zero
/// window probes, buffering of out-of-order data (reported with SACK when the guest allows),
/// FIN and RST both ways and half-close. Towards
/// the host it is an ordinary non-blocking socket.
/// </summary>
/// <remarks>
/// <para>Back-pressure both ways, with a bounded buffer per direction:</para>
/// <list type="bullet">
/// <item>host to guest: bytes read from the socket wait in <see cref="_sendRing"/> until the
/// guest acknowledges them; when the ring is full the socket is not read (the host's TCP then
/// closes its window).</item>
/// <item>guest to host: bytes the socket cannot take yet wait in <see cref="_receiveRing"/>;
/// the window advertised to the guest is the ring's free space, so a slow host reader makes
/// the guest stop.</item>
/// </list>
/// Everything runs on the network's loop thread. The class is split by concern:
/// <c>TcpConnection.Sending.cs</c> (host to guest: ACK processing, windows, congestion control,
/// retransmission, segment building), <c>TcpConnection.Receiving.cs</c> (guest to host: data in
/// and out of order, FIN) and <c>TcpConnection.HostSocket.cs</c> (the socket's life).
/// </remarks>
internal sealed partial class TcpConnection : IPollHandler, ITimerHandler, ILinkWaiter
{
    /// <summary>The largest segment the NAT sends or accepts: a 1500-byte MTU less the IPv4 and TCP headers.</summary>
    public const int OurMaxSegmentSize = GuestLink.Mtu - 40;

    private const int InitialRto = 1000;
    private const int MinRto = 200;
    private const int MaxRto = 60_000;
    private const int MaxRetransmissions = 12;
    private const int MaxSynRetransmissions = 6;
    private const int MaxOutOfOrderRanges = 16;

    private readonly TcpNat _nat;
    private readonly LoopTimer _timer;
    private readonly ByteRing _sendRing;
    private readonly ByteRing _receiveRing;
    private readonly List<(uint Start, uint End)> _outOfOrder = [];
    private Socket? _socket;
    private int _registration = -1;
    private bool _hostConnecting;
    private bool _hostEof;
    private bool _hostWriteShut;

    // Sending to the guest (the host's data).
    private uint _iss;
    private uint _sndUna;
    private uint _sndNxt;
    private uint _sndMax;
    private uint _sendBase; // sequence number of the first byte in _sendRing
    private uint _sndWnd;
    private uint _sndWl1;
    private uint _sndWl2;
    private int _sndScale;
    private int _mss = TcpOptions.DefaultMaxSegmentSize;
    private int _cwnd;
    private int _ssthresh = int.MaxValue;
    private int _dupAcks;
    private bool _inRecovery;
    private uint _recover;
    private bool _finSent; // our FIN is in flight (a go-back retransmission clears it)
    private bool _finEverSent; // _finSeq is valid
    private uint _finSeq;

    // Receiving from the guest (data for the host).
    private uint _rcvNxt;
    private uint _rcvBase; // sequence number of the first byte in _receiveRing
    private int _rcvScale;
    private bool _windowScaling;
    private bool _sack;
    private int _latestOutOfOrder = -1; // index of the range the latest out-of-order segment went to
    private int _lastAdvertisedWindow;
    private uint _rcvAdvertisedEdge;
    private bool _guestFin;
    private bool _ackPending;

    // Timers, in EventLoop.Now milliseconds.
    private long _rtoDeadline = LoopTimer.Never;
    private long _persistDeadline = LoopTimer.Never;
    private long _lifetimeDeadline = LoopTimer.Never; // connect timeout or TIME_WAIT end
    private int _rto = InitialRto;
    private int _srtt = -1;
    private int _rttVar;
    private bool _rttTiming;
    private uint _rttSeq;
    private long _rttStart;
    private int _retransmissions;
    private int _persistBackoff;

    private TcpConnection(TcpNat nat, TcpFlowKey key, MacAddress guestMac, Socket socket, int bufferSize)
    {
        _nat = nat;
        Key = key;
        GuestMac = guestMac;
        _socket = socket;
        _timer = new LoopTimer(this);
        _sendRing = new ByteRing(bufferSize);
        _receiveRing = new ByteRing(bufferSize);
        _iss = (uint)Random.Shared.NextInt64();
        _sndUna = _sndNxt = _sndMax = _iss;
        _sendBase = _iss + 1;
        _cwnd = 10 * OurMaxSegmentSize;
    }

    public TcpFlowKey Key { get; }

    public TcpState State { get; private set; }

    public MacAddress GuestMac { get; private set; }

    public bool IsDirty { get; set; }

    private EventLoop Loop => _nat.Loop;

    private GuestLink Link => _nat.Link;

    /// <summary>
    /// A guest's SYN for which the host connection is under way (<paramref name="socket"/> is
    /// connecting): the SYN-ACK goes out once the host accepts.
    /// </summary>
    public static TcpConnection FromGuestSyn(TcpNat nat, TcpFlowKey key, MacAddress guestMac, Socket socket, TcpSegment syn)
    {
        var c = new TcpConnection(nat, key, guestMac, socket, nat.BufferSize) { State = TcpState.SynReceived };
        c._rcvNxt = syn.SequenceNumber + 1;
        c._rcvBase = c._rcvNxt;
        c._rcvAdvertisedEdge = c._rcvNxt;
        TcpOptions options = syn.ReadOptions();
        c.UseOptions(options, scalingOffered: true);
        c._sndWnd = syn.Window; // never scaled in a SYN
        c._sndWl1 = syn.SequenceNumber;
        c._hostConnecting = true;
        c._registration = c.Loop.Add(Datagram.Fd(socket), c, LibC.EpollOut);
        c._lifetimeDeadline = EventLoop.Now + nat.ConnectTimeoutMs;
        c.ArmTimer();
        return c;
    }

    /// <summary>A host connection accepted by a port forward: the NAT opens the guest side with a SYN.</summary>
    public static TcpConnection ToGuest(TcpNat nat, TcpFlowKey key, MacAddress guestMac, Socket socket)
    {
        var c = new TcpConnection(nat, key, guestMac, socket, nat.BufferSize) { State = TcpState.SynSent };
        c.SendSyn();
        c._sndNxt = c._sndMax = c._iss + 1;
        c._rtoDeadline = EventLoop.Now + c._rto;
        c.ArmTimer();
        return c;
    }

    /// <summary>A segment from the guest for this connection (checksum already verified).</summary>
    public void OnSegment(TcpSegment segment, MacAddress sourceMac)
    {
        GuestMac = sourceMac;
        TcpFlags flags = segment.Flags;
        switch (State)
        {
            case TcpState.SynSent:
                OnSegmentInSynSent(segment, flags);
                return;
            case TcpState.SynReceived when (flags & TcpFlags.Syn) != 0 && (flags & TcpFlags.Ack) == 0:
                // The guest repeats its SYN: answer again if the host side is already connected.
                if (segment.SequenceNumber + 1 == _rcvNxt && !_hostConnecting)
                {
                    SendSynAck();
                }

                return;
            case TcpState.Closed:
                return;
        }

        uint seq = segment.SequenceNumber;
        int length = segment.Data.Length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        if (!IsAcceptable(seq, length))
        {
            if ((flags & TcpFlags.Rst) == 0)
            {
                _ackPending = true;
                MarkDirty();
            }

            return;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            // RFC 5961: only an exact match resets; an in-window guess gets a challenge ACK.
            if (seq == _rcvNxt)
            {
                ResetHostAndClose();
            }
            else
            {
                _ackPending = true;
                MarkDirty();
            }

            return;
        }

        if ((flags & TcpFlags.Syn) != 0)
        {
            _ackPending = true; // challenge ACK (RFC 5961, 4.2)
            MarkDirty();
            return;
        }

        if ((flags & TcpFlags.Ack) == 0)
        {
            return;
        }

        if (State == TcpState.SynReceived)
        {
            if (_hostConnecting || segment.AcknowledgmentNumber != _iss + 1)
            {
                SendReset(segment.AcknowledgmentNumber, 0, TcpFlags.Rst);
                return;
            }

            State = TcpState.Established;
            _sndWnd = (uint)segment.Window << _sndScale;
            _sndWl1 = seq;
            _sndWl2 = segment.AcknowledgmentNumber;
        }

        if (!ProcessAck(segment))
        {
            return;
        }

        if (State == TcpState.Closed)
        {
            return;
        }

        if (segment.Data.Length > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            ReceiveData(seq, segment.Data);
            if (State == TcpState.Closed)
            {
                return; // the host connection failed while taking the data
            }
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            ReceiveFin(seq + (uint)segment.Data.Length);
        }

        MarkDirty();
    }

    /// <summary>Sends what the window allows and any pending ACK; called once per loop iteration.</summary>
    public void Flush()
    {
        IsDirty = false;
        if (State == TcpState.Closed)
        {
            return;
        }

        TrySend();
        if (_ackPending && State != TcpState.SynSent && !(State == TcpState.SynReceived && _hostConnecting))
        {
            SendControl(_sndNxt, TcpFlags.Ack);
        }

        UpdateInterest();
        ArmTimer();
    }

    public void OnLinkSpace()
    {
        if (State != TcpState.Closed)
        {
            MarkDirty();
        }
    }

    /// <summary>The connection's state for diagnostics (racy when read off the loop thread).</summary>
    public override string ToString() =>
        $"{Key.GuestAddress}:{Key.GuestPort}<->{Key.RemoteAddress}:{Key.RemotePort} {State} " +
        $"snd una={_sndUna - _iss} nxt={_sndNxt - _iss} wnd={_sndWnd} cwnd={_cwnd} ring={_sendRing.Count} rto={_rto} retx={_retransmissions} eof={_hostEof} fin={_finSent} | " +
        $"rcv nxt={_rcvNxt} base={_rcvBase} ring={_receiveRing.Count} ooo={_outOfOrder.Count} guestFin={_guestFin} shut={_hostWriteShut} socket={_socket is not null}";

    /// <summary>Tears the connection down at once (the network is being disposed).</summary>
    public void Abort()
    {
        ResetHostAndClose();
    }

    private void OnSegmentInSynSent(TcpSegment segment, TcpFlags flags)
    {
        bool hasAck = (flags & TcpFlags.Ack) != 0;
        if (hasAck && segment.AcknowledgmentNumber != _iss + 1)
        {
            if ((flags & TcpFlags.Rst) == 0)
            {
                SendReset(segment.AcknowledgmentNumber, 0, TcpFlags.Rst);
            }

            return;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            if (hasAck)
            {
                ResetHostAndClose(); // the guest refused the forwarded connection
            }

            return;
        }

        if ((flags & TcpFlags.Syn) == 0 || !hasAck)
        {
            return; // a simultaneous open is not something a forward needs
        }

        _rcvNxt = segment.SequenceNumber + 1;
        _rcvBase = _rcvNxt;
        _rcvAdvertisedEdge = _rcvNxt;
        TcpOptions options = segment.ReadOptions();
        UseOptions(options, scalingOffered: true);
        _sndUna = _iss + 1;
        _sndWnd = segment.Window;
        _sndWl1 = segment.SequenceNumber;
        _sndWl2 = segment.AcknowledgmentNumber;
        _rtoDeadline = LoopTimer.Never;
        _retransmissions = 0;
        State = TcpState.Established;
        _ackPending = true;
        MarkDirty();
    }

    private void UseOptions(TcpOptions options, bool scalingOffered)
    {
        _mss = Math.Clamp(options.MaxSegmentSize, 64, OurMaxSegmentSize);
        _sack = options.SackPermitted;
        if (scalingOffered && options.WindowScale != TcpOptions.NoWindowScale)
        {
            _windowScaling = true;
            _sndScale = options.WindowScale;
            _rcvScale = OurWindowScale(_receiveRing.Capacity);
        }
    }

    private static int OurWindowScale(int capacity)
    {
        int scale = 0;
        while ((capacity >> scale) > ushort.MaxValue && scale < 14)
        {
            scale++;
        }

        return scale;
    }

    private bool IsAcceptable(uint seq, int length)
    {
        uint window = (uint)ReceiveWindow();
        if (length == 0)
        {
            return window == 0 ? seq == _rcvNxt : Ge(seq, _rcvNxt) && Lt(seq, _rcvNxt + window);
        }

        if (window == 0)
        {
            return false;
        }

        uint last = seq + (uint)length - 1;
        return (Ge(seq, _rcvNxt) && Lt(seq, _rcvNxt + window)) || (Ge(last, _rcvNxt) && Lt(last, _rcvNxt + window));
    }

    private void MarkDirty()
    {
        if (!IsDirty && State != TcpState.Closed)
        {
            IsDirty = true;
            _nat.MarkDirty(this);
        }
    }
}
