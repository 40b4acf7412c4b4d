using System.Buffers.Binary;
using System.Net.Sockets;

namespace Vessel.Network.SocketLink;

/// <summary>
/// Frames waiting to be written to a stream socket with their 4-byte big-endian length, within
/// a byte bound (a peer that does not keep up loses frames, never our memory). Not thread-safe.
/// </summary>
internal sealed class LengthPrefixedWriter(int maxQueuedBytes)
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public bool IsEmpty => _end == _start;

    /// <summary>Queues a frame; false (dropped) when the bound would be exceeded.</summary>
    public bool TryAppend(ReadOnlySpan<byte> frame)
    {
        int needed = LengthPrefixedReader.LengthPrefix + frame.Length;
        if (_end - _start + needed > maxQueuedBytes)
        {
            return false;
        }

        if (_end + needed > _buffer.Length)
        {
            int pending = _end - _start;
            byte[] target = pending + needed <= _buffer.Length ? _buffer : new byte[Math.Max(_buffer.Length * 2, pending + needed)];
            _buffer.AsSpan(_start, pending).CopyTo(target);
            _buffer = target;
            _start = 0;
            _end = pending;
        }

        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_end), (uint)frame.Length);
        frame.CopyTo(_buffer.AsSpan(_end + LengthPrefixedReader.LengthPrefix));
        _end += needed;
        return true;
    }

    /// <summary>Writes what the socket takes without blocking; false when the connection failed.</summary>
    public bool Flush(Socket socket)
    {
        while (_end > _start)
        {
            int n = socket.Send(_buffer.AsSpan(_start, _end - _start), SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return true;
            }

            if (error != SocketError.Success)
            {
                return false;
            }

            _start += n;
        }

        _start = _end = 0;
        return true;
    }

    public void Clear() => _start = _end = 0;
}
