using Vessel.Network.Io;
using Vessel.Network.Packets;
using static Vessel.Network.User.SequenceNumber;

namespace Vessel.Network.User;

/// <summary>
/// The guest-to-host direction of a <see cref="TcpConnection"/>: data in order and out of
/// order, the advertised window, the guest's FIN.
/// </summary>
internal sealed partial class TcpConnection
{
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

    private int ReceiveWindow() => _receiveRing.Capacity - (int)(_rcvNxt - _rcvBase);
}
