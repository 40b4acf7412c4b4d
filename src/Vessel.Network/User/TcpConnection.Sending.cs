using Vessel.Network.Io;
using Vessel.Network.Packets;
using static Vessel.Network.User.SequenceNumber;

namespace Vessel.Network.User;

/// <summary>
/// The host-to-guest direction of a <see cref="TcpConnection"/>: acknowledgments from the guest,
/// the send window, congestion control, retransmission and zero-window probing, and the
/// segments the NAT builds.
/// </summary>
internal sealed partial class TcpConnection
{
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

    /// <summary>
    /// The guest answered ARP for its address: a forward still waiting for its SYN to be answered,
    /// sent to a MAC the guest does not take (broadcast, or one from before a migration), sends it
    /// to the right one now instead of at its next retransmission, a second or more later.
    /// </summary>
    public void OnGuestFound(MacAddress mac)
    {
        if (State == TcpState.SynSent && GuestMac != mac)
        {
            GuestMac = mac;
            SendSyn();
        }
    }

    /// <summary>A SYN not answered yet goes again now, to the guest's MAC as now known (asked by ARP when it is not).</summary>
    public void RetrySynNow()
    {
        if (State == TcpState.SynSent)
        {
            if (_nat.ResolveGuest is { } resolve)
            {
                GuestMac = resolve(Key.GuestAddress);
            }

            SendSyn();
        }
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
