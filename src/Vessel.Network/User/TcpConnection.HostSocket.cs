using System.Net.Sockets;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>
/// The host socket of a <see cref="TcpConnection"/>: connecting, reading into the send ring,
/// writing from the receive ring, watching exactly what can be used, and closing.
/// </summary>
internal sealed partial class TcpConnection
{
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
}
