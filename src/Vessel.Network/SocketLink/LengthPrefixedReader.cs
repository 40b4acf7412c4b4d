using System.Buffers.Binary;
using System.Net.Sockets;
using Vessel.Network.Packets;

namespace Vessel.Network.SocketLink;

/// <summary>
/// Splits a stream socket's bytes into frames, each preceded by its length as 4 big-endian
/// bytes (QEMU's <c>-netdev socket</c>/<c>stream</c> framing). One thread only.
/// </summary>
internal sealed class LengthPrefixedReader
{
    public const int LengthPrefix = 4;
    public const int MaxFrameLength = EthernetFrame.MaxFrameLength;

    private readonly byte[] _buffer = new byte[2 * (MaxFrameLength + LengthPrefix)];
    private int _start;
    private int _end;

    public enum Result
    {
        /// <summary>A frame is available.</summary>
        Frame,

        /// <summary>Not a whole frame yet: read more.</summary>
        NeedMore,

        /// <summary>A length that cannot be a frame: the peer does not speak this framing.</summary>
        Invalid,
    }

    /// <summary>The next complete frame in the buffer; it stays valid until <see cref="Advance"/> or <see cref="Fill"/>.</summary>
    public Result TryPeek(out ReadOnlySpan<byte> frame)
    {
        frame = default;
        if (_end - _start < LengthPrefix)
        {
            return Result.NeedMore;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start));
        if (length is 0 or > MaxFrameLength)
        {
            return Result.Invalid;
        }

        if (_end - _start < LengthPrefix + length)
        {
            return Result.NeedMore;
        }

        frame = _buffer.AsSpan(_start + LengthPrefix, (int)length);
        return Result.Frame;
    }

    /// <summary>Consumes the frame returned by the last <see cref="TryPeek"/>.</summary>
    public void Advance(int frameLength) => _start += LengthPrefix + frameLength;

    /// <summary>Reads what the socket has (non-blocking); returns false when the peer closed or failed.</summary>
    public bool Fill(Socket socket, out bool wouldBlock)
    {
        wouldBlock = false;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        int n = socket.Receive(_buffer.AsSpan(_end), SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock)
        {
            wouldBlock = true;
            return true;
        }

        if (error != SocketError.Success || n == 0)
        {
            return false;
        }

        _end += n;
        return true;
    }

    public void Clear() => _start = _end = 0;
}
