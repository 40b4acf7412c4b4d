using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;
using static Vessel.Network.User.SequenceNumber;

namespace Vessel.Network.User;

/// <summary>
/// One guest TCP connection spliced to one host socket. Towards the guest the NAT is a full TCP
/// endpoint: handshake, MSS and window scaling, a sliding window that respects the guest's
/// advertised window, retransmission on a timer (RFC 6298) and on three duplicate ACKs, zero
/// window probes, buffering of out-of-order data, FIN and RST both ways and half-close. Towards
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
/// Everything runs on the network's loop thread.
/// </remarks>
internal sealed class TcpConnection : IPollHandler, ITimerHandler, ILinkWaiter
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

    public void OnPollEvents(uint events)
    {
        if (_socket is null)
        {
            return;
        }

        if (_hostConnecting)
        {
            if ((events & (LibC.EpollOut | LibC.EpollErr | LibC.EpollHup)) != 0)
            {
                FinishHostConnect();
            }

            return;
        }

        if ((events & LibC.EpollOut) != 0)
        {
            WriteToHost();
        }

        if ((events & (LibC.EpollIn | LibC.EpollHup | LibC.EpollRdHup | LibC.EpollErr)) != 0 && _socket is not null)
        {
            ReadFromHost();
        }

        MarkDirty();
    }

    public void OnTimer(long now)
    {
        if (State == TcpState.Closed)
        {
            return;
        }

        if (now >= _lifetimeDeadline)
        {
            _lifetimeDeadline = LoopTimer.Never;
            if (State == TcpState.TimeWait)
            {
                State = TcpState.Closed;
                FinishIfDone();
                return;
            }

            if (_hostConnecting)
            {
                // The host did not answer in time: the guest sees a refused connection.
                SendReset(0, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);
                Close();
                return;
            }
        }

        if (now >= _rtoDeadline)
        {
            OnRetransmissionTimeout(now);
        }

        if (State != TcpState.Closed && now >= _persistDeadline)
        {
            // A zero-window probe: an already acknowledged sequence number makes the guest
            // answer with an ACK carrying its current window.
            SendControl(_sndUna - 1, TcpFlags.Ack);
            _persistBackoff = Math.Min(_persistBackoff + 1, 6);
            _persistDeadline = now + Math.Min(_rto << _persistBackoff, MaxRto);
        }

        if (State != TcpState.Closed)
        {
            ArmTimer();
        }
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

    /// <summary>Processes the acknowledgment and window fields; false when the segment is to be dropped.</summary>
    private bool ProcessAck(TcpSegment segment)
    {
        uint ack = segment.AcknowledgmentNumber;
        if (Gt(ack, _sndMax))
        {
            _ackPending = true; // acknowledges something never sent
            MarkDirty();
            return false;
        }

        uint window = (uint)segment.Window << _sndScale;
        if (Gt(ack, _sndUna))
        {
            OnNewAck(ack);
        }
        else if (ack == _sndUna && segment.Data.Length == 0 && (segment.Flags & TcpFlags.Fin) == 0 && window == _sndWnd && _sndNxt != _sndUna)
        {
            OnDuplicateAck();
        }

        if (Lt(_sndWl1, segment.SequenceNumber) || (_sndWl1 == segment.SequenceNumber && Le(_sndWl2, ack)))
        {
            bool opened = _sndWnd == 0 && window > 0;
            _sndWnd = window;
            _sndWl1 = segment.SequenceNumber;
            _sndWl2 = ack;
            if (opened)
            {
                _persistDeadline = LoopTimer.Never;
                _persistBackoff = 0;
            }
        }

        if (_finEverSent && Gt(ack, _finSeq))
        {
            switch (State)
            {
                case TcpState.FinWait1:
                    State = TcpState.FinWait2;
                    break;
                case TcpState.Closing:
                    EnterTimeWait();
                    break;
                case TcpState.LastAck:
                    State = TcpState.Closed;
                    FinishIfDone();
                    return true;
            }
        }

        return true;
    }

    private void OnNewAck(uint ack)
    {
        int acked = (int)(ack - _sndUna);
        int dataAcked = (int)Math.Min((uint)_sendRing.Count, Gt(ack, _sendBase) ? ack - _sendBase : 0);
        if (dataAcked > 0)
        {
            _sendRing.Consume(dataAcked);
            _sendBase += (uint)dataAcked;
            _sendRing.ReleaseIfEmpty();
        }

        _sndUna = ack;
        if (Lt(_sndNxt, _sndUna))
        {
            _sndNxt = _sndUna; // after a go-back retransmission the guest may ack past it
        }

        if (_rttTiming && Gt(ack, _rttSeq))
        {
            _rttTiming = false;
            UpdateRto((int)(EventLoop.Now - _rttStart));
        }

        // Congestion window (RFC 5681 with NewReno-style recovery, RFC 6582).
        if (_inRecovery)
        {
            if (Ge(ack, _recover))
            {
                _inRecovery = false;
                _cwnd = _ssthresh;
            }
            else
            {
                RetransmitFirst(); // a partial ack: the next hole is lost too
            }
        }
        else if (_cwnd < _ssthresh)
        {
            _cwnd += Math.Min(acked, _mss);
        }
        else
        {
            _cwnd += Math.Max(1, _mss * _mss / _cwnd);
        }

        _cwnd = Math.Min(_cwnd, 64 * 1024 * 1024);
        _dupAcks = 0;
        _retransmissions = 0;
        _rtoDeadline = _sndNxt == _sndUna ? LoopTimer.Never : EventLoop.Now + _rto;
        if (_socket is not null && !_hostEof)
        {
            UpdateInterest(); // ring space freed: read the host again
        }
    }

    private void OnDuplicateAck()
    {
        _dupAcks++;
        if (_dupAcks == 3 && !_inRecovery)
        {
            int inFlight = (int)(_sndNxt - _sndUna);
            _ssthresh = Math.Max(inFlight / 2, 2 * _mss);
            _cwnd = _ssthresh + (3 * _mss);
            _inRecovery = true;
            _recover = _sndNxt;
            RetransmitFirst();
        }
        else if (_dupAcks > 3)
        {
            _cwnd += _mss;
        }
    }

    private void RetransmitFirst()
    {
        uint dataEnd = _sendBase + (uint)_sendRing.Count;
        if (Lt(_sndUna, dataEnd))
        {
            int length = (int)Math.Min((uint)_mss, dataEnd - _sndUna);
            SendData(_sndUna, length);
        }
        else if (_finEverSent && _sndUna == _finSeq)
        {
            SendControl(_finSeq, TcpFlags.Fin | TcpFlags.Ack);
        }

        _rttTiming = false;
    }

    private void UpdateRto(int sample)
    {
        sample = Math.Max(sample, 1);
        if (_srtt < 0)
        {
            _srtt = sample;
            _rttVar = sample / 2;
        }
        else
        {
            _rttVar = ((3 * _rttVar) + Math.Abs(_srtt - sample)) / 4;
            _srtt = ((7 * _srtt) + sample) / 8;
        }

        _rto = Math.Clamp(_srtt + Math.Max(10, 4 * _rttVar), MinRto, MaxRto);
    }

    private void OnRetransmissionTimeout(long now)
    {
        _retransmissions++;
        int limit = State is TcpState.SynSent or TcpState.SynReceived ? MaxSynRetransmissions : MaxRetransmissions;
        if (_retransmissions > limit)
        {
            SendReset(_sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);
            ResetHostAndClose();
            return;
        }

        _rto = Math.Min(_rto * 2, MaxRto);
        _rttTiming = false;
        _rtoDeadline = now + _rto;
        switch (State)
        {
            case TcpState.SynSent:
                if (_nat.ResolveGuest is { } resolve)
                {
                    GuestMac = resolve(Key.GuestAddress); // the guest may have shown itself since
                }

                SendSyn();
                return;
            case TcpState.SynReceived:
                SendSynAck();
                return;
        }

        int inFlight = (int)(_sndNxt - _sndUna);
        _ssthresh = Math.Max(inFlight / 2, 2 * _mss);
        _cwnd = _mss;
        _inRecovery = false;
        _dupAcks = 0;
        _sndNxt = _sndUna; // go back: resend everything unacknowledged as the window allows
        if (_finSent && Le(_sndNxt, _finSeq))
        {
            _finSent = false;
        }

        TrySend();
        if (_sndNxt == _sndUna)
        {
            _rtoDeadline = LoopTimer.Never; // nothing could be sent (zero window): probing takes over
        }
    }

    private void ReceiveData(uint seq, Span<byte> data)
    {
        _ackPending = true;
        uint end = seq + (uint)data.Length;
        if (Le(end, _rcvNxt))
        {
            SendControl(_sndNxt, TcpFlags.Ack); // a duplicate: acknowledge again at once
            return;
        }

        if (Lt(seq, _rcvNxt))
        {
            data = data[(int)(_rcvNxt - seq)..];
            seq = _rcvNxt;
        }

        uint windowEnd = _rcvBase + (uint)_receiveRing.Capacity;
        if (Gt(end, windowEnd))
        {
            if (Ge(seq, windowEnd))
            {
                return;
            }

            data = data[..(int)(windowEnd - seq)];
            end = windowEnd;
        }

        if (seq != _rcvNxt)
        {
            // Out of order: a duplicate ACK at once, one per segment (RFC 5681, 4.2), so the
            // guest's fast retransmit can work; with SACK it also says what arrived.
            StoreOutOfOrder(seq, data);
            SendControl(_sndNxt, TcpFlags.Ack);
            return;
        }

        bool fillingHole = _outOfOrder.Count > 0;

        if (_receiveRing.Count == 0 && _outOfOrder.Count == 0 && _socket is not null && !_hostConnecting)
        {
            // The common case: in order and nothing waiting, so try the host socket first and
            // buffer only what it does not take.
            int sent = SendToHost(data);
            if (sent < 0)
            {
                return;
            }

            _rcvBase += (uint)sent;
            _rcvNxt += (uint)sent;
            data = data[sent..];
        }

        if (!data.IsEmpty)
        {
            _receiveRing.WriteAt(_receiveRing.Count, data);
            _receiveRing.Commit(data.Length);
            _rcvNxt += (uint)data.Length;
        }

        // Data that had arrived ahead of this segment may now be in order.
        while (_outOfOrder.Count > 0 && Le(_outOfOrder[0].Start, _rcvNxt))
        {
            (uint _, uint rangeEnd) = _outOfOrder[0];
            _outOfOrder.RemoveAt(0);
            _latestOutOfOrder--;
            if (Gt(rangeEnd, _rcvNxt))
            {
                _receiveRing.Commit((int)(rangeEnd - _rcvNxt));
                _rcvNxt = rangeEnd;
            }
        }

        WriteToHost();
        if (fillingHole && _socket is not null)
        {
            SendControl(_sndNxt, TcpFlags.Ack); // a hole filled: tell the guest at once
        }
    }

    private void StoreOutOfOrder(uint seq, ReadOnlySpan<byte> data)
    {
        uint end = seq + (uint)data.Length;
        int index = 0;
        while (index < _outOfOrder.Count && Lt(_outOfOrder[index].Start, seq))
        {
            index++;
        }

        bool mergesLeft = index > 0 && Ge(_outOfOrder[index - 1].End, seq);
        bool mergesRight = index < _outOfOrder.Count && Le(_outOfOrder[index].Start, end);
        if (!mergesLeft && !mergesRight && _outOfOrder.Count >= MaxOutOfOrderRanges)
        {
            return; // too fragmented: drop, the guest will retransmit
        }

        // Merge with overlapping or adjacent neighbours.
        uint start = seq;
        if (mergesLeft)
        {
            index--;
            start = _outOfOrder[index].Start;
            end = Max(end, _outOfOrder[index].End);
            _outOfOrder.RemoveAt(index);
        }

        while (index < _outOfOrder.Count && Le(_outOfOrder[index].Start, end))
        {
            end = Max(end, _outOfOrder[index].End);
            _outOfOrder.RemoveAt(index);
        }

        _receiveRing.WriteAt((int)(seq - _rcvBase), data);
        _outOfOrder.Insert(index, (start, end));
        _latestOutOfOrder = index;
    }

    private void ReceiveFin(uint finSeq)
    {
        _ackPending = true;
        if (finSeq != _rcvNxt || _outOfOrder.Count > 0)
        {
            return; // data before the FIN is missing: acknowledge what we have
        }

        if (_guestFin)
        {
            return;
        }

        _guestFin = true;
        _rcvNxt++;
        switch (State)
        {
            case TcpState.Established:
                State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                State = TcpState.Closing;
                break;
            case TcpState.FinWait2:
                EnterTimeWait();
                break;
        }

        WriteToHost(); // shuts the host socket's sending side once buffered data is out
    }

    private void EnterTimeWait()
    {
        State = TcpState.TimeWait;
        _rtoDeadline = LoopTimer.Never;
        _persistDeadline = LoopTimer.Never;
        _lifetimeDeadline = EventLoop.Now + _nat.TimeWaitMs;
        FinishIfDone();
    }

    /// <summary>Sends new data (and our FIN) as far as the guest's window and the congestion window allow.</summary>
    private void TrySend()
    {
        if (State is TcpState.SynSent or TcpState.SynReceived or TcpState.TimeWait or TcpState.Closed)
        {
            return;
        }

        while (true)
        {
            if (Link.IsCongested)
            {
                Link.WaitForSpace(this);
                return;
            }

            uint dataEnd = _sendBase + (uint)_sendRing.Count;
            if (Lt(_sndNxt, dataEnd))
            {
                int inFlight = (int)(_sndNxt - _sndUna);
                int window = (int)Math.Min(_sndWnd, (uint)_cwnd);
                if (inFlight >= window)
                {
                    return; // window full; with a zero window and nothing in flight ArmTimer starts probing
                }

                int available = (int)(dataEnd - _sndNxt);
                int length = Math.Min(Math.Min(available, window - inFlight), _mss);
                if (length < _mss && length < available && inFlight > 0)
                {
                    return; // sender-side silly window avoidance: wait for a full segment's room
                }

                SendData(_sndNxt, length);
                if (!_rttTiming)
                {
                    _rttTiming = true;
                    _rttSeq = _sndNxt;
                    _rttStart = EventLoop.Now;
                }

                _sndNxt += (uint)length;
                _sndMax = Max(_sndMax, _sndNxt);
                if (_rtoDeadline == LoopTimer.Never)
                {
                    _rtoDeadline = EventLoop.Now + _rto;
                }

                continue;
            }

            if (_hostEof && _sndNxt == dataEnd && State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck)
            {
                if (_finEverSent && Gt(_sndUna, _finSeq))
                {
                    return; // FIN already acknowledged
                }

                _finSeq = dataEnd;
                _finSent = true;
                _finEverSent = true;
                SendControl(_finSeq, TcpFlags.Fin | TcpFlags.Ack);
                _sndNxt = _finSeq + 1;
                _sndMax = Max(_sndMax, _sndNxt);
                if (_rtoDeadline == LoopTimer.Never)
                {
                    _rtoDeadline = EventLoop.Now + _rto;
                }

                State = State switch
                {
                    TcpState.Established => TcpState.FinWait1,
                    TcpState.CloseWait => TcpState.LastAck,
                    _ => State,
                };
            }

            return;
        }
    }

    private void FinishHostConnect()
    {
        Socket socket = _socket!;
        int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0)
        {
            // Refused, unreachable: the guest sees a reset, as from a closed port.
            SendReset(0, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);
            Close();
            return;
        }

        _hostConnecting = false;
        _lifetimeDeadline = LoopTimer.Never;
        SendSynAck();
        _sndNxt = _sndMax = _iss + 1;
        _rtoDeadline = EventLoop.Now + _rto;
        UpdateInterest();
        ArmTimer();
    }

    private void ReadFromHost()
    {
        Socket socket = _socket!;
        while (!_hostEof && _sendRing.Free > 0)
        {
            Span<byte> space = _sendRing.FreeSpan();
            int n = socket.Receive(space, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                AbortFromHost();
                return;
            }

            if (n == 0)
            {
                _hostEof = true;
                break;
            }

            _sendRing.Commit(n);
            if (n < space.Length)
            {
                break;
            }
        }

        _sendRing.ReleaseIfEmpty();
        UpdateInterest();
        FinishIfDone();
    }

    /// <summary>Writes buffered guest data to the host; shuts the host's sending side after the guest's FIN.</summary>
    private void WriteToHost()
    {
        if (_socket is null || _hostConnecting)
        {
            return;
        }

        int before = ReceiveWindow();
        while (_receiveRing.Count > 0)
        {
            (ReadOnlyMemory<byte> first, _) = _receiveRing.Readable();
            int sent = SendToHost(first.Span);
            if (sent < 0)
            {
                return;
            }

            _receiveRing.Consume(sent);
            _rcvBase += (uint)sent;
            if (sent < first.Length)
            {
                break;
            }
        }

        if (_receiveRing.Count == 0 && _outOfOrder.Count == 0)
        {
            _receiveRing.ReleaseIfEmpty();
            if (_guestFin && !_hostWriteShut)
            {
                _hostWriteShut = true;
                try
                {
                    _socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // The peer is gone; reading will report it.
                }
            }
        }

        // Tell the guest when its window has opened enough to be worth a segment (RFC 9293,
        // receiver-side silly window avoidance).
        int after = ReceiveWindow();
        if (after > before && after - _lastAdvertisedWindow >= Math.Min(_receiveRing.Capacity / 2, 2 * _mss))
        {
            _ackPending = true;
            MarkDirty();
        }

        UpdateInterest();
        FinishIfDone();
    }

    /// <summary>Sends to the host socket; returns bytes taken (0 when full), or -1 when the connection failed and was aborted.</summary>
    private int SendToHost(ReadOnlySpan<byte> data)
    {
        int n = _socket!.Send(data, SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock)
        {
            return 0;
        }

        if (error != SocketError.Success)
        {
            AbortFromHost();
            return -1;
        }

        return n;
    }

    private int ReceiveWindow() => _receiveRing.Capacity - (int)(_rcvNxt - _rcvBase);

    /// <summary>
    /// Watches the host socket for exactly what the connection can use now. A socket with
    /// nothing to watch leaves epoll altogether: a hung-up socket would otherwise report
    /// EPOLLHUP on every wait.
    /// </summary>
    private void UpdateInterest()
    {
        if (_socket is null || _hostConnecting)
        {
            return;
        }

        uint events = 0;
        bool established = State is not (TcpState.SynSent or TcpState.Closed);
        if (established && !_hostEof && _sendRing.Free > 0)
        {
            events |= LibC.EpollIn | LibC.EpollRdHup;
        }

        if (_receiveRing.Count > 0)
        {
            events |= LibC.EpollOut;
        }

        if (events == 0)
        {
            if (_registration >= 0)
            {
                Loop.Remove(_registration);
                _registration = -1;
            }
        }
        else if (_registration < 0)
        {
            _registration = Loop.Add(Datagram.Fd(_socket), this, events);
        }
        else
        {
            Loop.Modify(_registration, events);
        }
    }

    private void ArmTimer()
    {
        // Probe a zero window only while there is unsent data and nothing in flight (which the
        // retransmission timer covers).
        bool persist = _sndWnd == 0
            && _sndNxt == _sndUna
            && Lt(_sndNxt, _sendBase + (uint)_sendRing.Count)
            && State is TcpState.Established or TcpState.CloseWait;
        if (!persist)
        {
            _persistDeadline = LoopTimer.Never;
            _persistBackoff = 0;
        }
        else if (_persistDeadline == LoopTimer.Never)
        {
            _persistDeadline = EventLoop.Now + _rto;
        }

        long deadline = Math.Min(_rtoDeadline, Math.Min(_persistDeadline, _lifetimeDeadline));

        if (deadline == LoopTimer.Never)
        {
            EventLoop.Cancel(_timer);
        }
        else
        {
            Loop.Arm(_timer, deadline);
        }
    }

    private void MarkDirty()
    {
        if (!IsDirty && State != TcpState.Closed)
        {
            IsDirty = true;
            _nat.MarkDirty(this);
        }
    }

    /// <summary>Closes the host socket once both directions are finished there; forgets the connection once the guest side is too.</summary>
    private void FinishIfDone()
    {
        if (_socket is not null && _hostEof && _hostWriteShut && _receiveRing.Count == 0)
        {
            CloseSocket(reset: false);
        }

        if (State == TcpState.Closed && _socket is null)
        {
            Close();
        }
    }

    private void AbortFromHost()
    {
        // The host connection failed or was reset: reset the guest's side too.
        SendReset(_sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);
        ResetHostAndClose();
    }

    private void ResetHostAndClose()
    {
        CloseSocket(reset: true);
        Close();
    }

    private void CloseSocket(bool reset)
    {
        if (_socket is null)
        {
            return;
        }

        if (_registration >= 0)
        {
            Loop.Remove(_registration);
            _registration = -1;
        }

        if (reset)
        {
            try
            {
                _socket.LingerState = new LingerOption(true, 0); // close with RST
            }
            catch (SocketException)
            {
            }
        }

        _socket.Dispose();
        _socket = null;
    }

    private void Close()
    {
        if (_socket is not null)
        {
            CloseSocket(reset: !_hostEof || !_hostWriteShut);
        }

        State = TcpState.Closed;
        EventLoop.Cancel(_timer);
        _sendRing.Release();
        _receiveRing.Release();
        _outOfOrder.Clear();
        Link.StopWaiting(this);
        _nat.Remove(this);
    }

    private void SendSyn()
    {
        Span<byte> options = stackalloc byte[12];
        int optionsLength = TcpSegment.WriteSynOptions(options, OurMaxSegmentSize, OurWindowScale(_receiveRing.Capacity), sackPermitted: true);
        SendSegment(_iss, 0, TcpFlags.Syn, options[..optionsLength], 0, 0, (ushort)Math.Min(ReceiveWindow(), ushort.MaxValue));
    }

    private void SendSynAck()
    {
        Span<byte> options = stackalloc byte[12];
        int scale = _windowScaling ? _rcvScale : -1;
        int optionsLength = TcpSegment.WriteSynOptions(options, OurMaxSegmentSize, scale, _sack);
        SendSegment(_iss, _rcvNxt, TcpFlags.Syn | TcpFlags.Ack, options[..optionsLength], 0, 0, (ushort)Math.Min(ReceiveWindow(), ushort.MaxValue));
    }

    private void SendData(uint seq, int length)
    {
        bool last = seq + (uint)length == _sendBase + (uint)_sendRing.Count;
        TcpFlags flags = TcpFlags.Ack | (last ? TcpFlags.Psh : 0);
        SendSegment(seq, _rcvNxt, flags, default, (int)(seq - _sendBase), length, AdvertisedWindow());
    }

    /// <summary>A segment without data; an ACK carries SACK blocks while out-of-order data waits (most recent first, RFC 2018).</summary>
    private void SendControl(uint seq, TcpFlags flags)
    {
        Span<byte> options = stackalloc byte[36];
        int optionsLength = 0;
        if (_sack && _outOfOrder.Count > 0 && (flags & TcpFlags.Ack) != 0)
        {
            Span<(uint Start, uint End)> blocks = stackalloc (uint, uint)[4];
            int count = 0;
            int latest = Math.Clamp(_latestOutOfOrder, 0, _outOfOrder.Count - 1);
            blocks[count++] = _outOfOrder[latest];
            for (int i = 0; i < _outOfOrder.Count && count < 4; i++)
            {
                if (i != latest)
                {
                    blocks[count++] = _outOfOrder[i];
                }
            }

            optionsLength = TcpSegment.WriteSackOption(options, blocks[..count]);
        }

        SendSegment(seq, _rcvNxt, flags, options[..optionsLength], 0, 0, AdvertisedWindow());
    }

    /// <summary>
    /// The window field for the next segment. Receiver-side silly window avoidance (RFC 9293,
    /// 3.8.6.2.2): the right edge moves only by at least min(MSS, half the buffer), so a host
    /// reader taking a few bytes at a time does not make the guest send tiny segments; and
    /// it never moves left.
    /// </summary>
    private ushort AdvertisedWindow()
    {
        int free = ReceiveWindow();
        int threshold = Math.Min(_receiveRing.Capacity / 2, _mss);
        uint edge = _rcvNxt + (uint)free;
        if (Ge(_rcvAdvertisedEdge, _rcvNxt) && Lt(edge, _rcvAdvertisedEdge + (uint)threshold))
        {
            free = Math.Min((int)(_rcvAdvertisedEdge - _rcvNxt), free);
        }

        int field = Math.Min(free >> _rcvScale, ushort.MaxValue);
        _rcvAdvertisedEdge = _rcvNxt + (uint)(field << _rcvScale);
        return (ushort)field;
    }

    private void SendReset(uint seq, uint ack, TcpFlags flags) =>
        _nat.SendReset(Key, GuestMac, seq, ack, flags);

    private void SendSegment(uint seq, uint ack, TcpFlags flags, ReadOnlySpan<byte> options, int ringOffset, int dataLength, ushort window)
    {
        Span<byte> segment = Link.Frame.AsSpan(GuestLink.TransportOffset);
        int headerLength = TcpSegment.WriteHeader(segment, Key.RemotePort, Key.GuestPort, seq, ack, flags, window, options);
        if (dataLength > 0)
        {
            _sendRing.CopyTo(ringOffset, segment.Slice(headerLength, dataLength));
        }

        segment = segment[..(headerLength + dataLength)];
        TcpSegment.WriteChecksum(segment, Key.RemoteAddress, Key.GuestAddress);
        Link.SendIpv4(GuestMac, IpProtocol.Tcp, Key.RemoteAddress, Key.GuestAddress, segment.Length, dontFragment: true);
        if ((flags & TcpFlags.Ack) != 0)
        {
            _ackPending = false;
            _lastAdvertisedWindow = window << _rcvScale;
        }
    }
}
