using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Vessel.Network.Packets;

namespace Vessel.Network.Io;

/// <summary>
/// Non-blocking IPv4 datagram I/O on a <see cref="Socket"/>'s descriptor without exceptions or
/// allocations: <see cref="Socket.ReceiveFrom(Span{byte}, SocketFlags, SocketAddress)"/> throws
/// when nothing is waiting, which a readiness loop hits on every drained socket.
/// </summary>
internal static unsafe class Datagram
{
    /// <summary>Receives one datagram; returns its length, or -1 when none is waiting (or on error).</summary>
    public static int Receive(Socket socket, Span<byte> buffer, out Ipv4Address address, out ushort port)
    {
        LibC.SockAddrIn from = default;
        uint fromLength = (uint)sizeof(LibC.SockAddrIn);
        nint n;
        // The socket is owned by the loop thread and not disposed during this call; the buffer
        // is pinned by the fixed statement for the duration of the syscall.
        fixed (byte* p = buffer)
        {
            n = LibC.RecvFrom(Fd(socket), p, (nuint)buffer.Length, LibC.MsgDontWait, &from, &fromLength);
        }

        // sockaddr_in holds the address and port in network (big-endian) byte order.
        address = new Ipv4Address(BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(from.Address) : from.Address);
        port = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(from.Port) : from.Port;

        return n < 0 ? -1 : (int)n;
    }

    /// <summary>Sends one datagram; false when the socket buffer is full or the send failed (the datagram is lost, as UDP may).</summary>
    public static bool Send(Socket socket, ReadOnlySpan<byte> data, Ipv4Address address, ushort port)
    {
        LibC.SockAddrIn to = default;
        to.Family = LibC.AfInet;
        to.Port = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(port) : port;
        to.Address = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(address.Value) : address.Value;
        nint n;
        // As in Receive: the socket outlives the call and the data is pinned.
        fixed (byte* p = data)
        {
            n = LibC.SendTo(Fd(socket), p, (nuint)data.Length, LibC.MsgDontWait, &to, (uint)sizeof(LibC.SockAddrIn));
        }

        return n == data.Length;
    }

    public static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    /// <summary>A non-blocking UDP socket bound to an ephemeral port on all addresses.</summary>
    public static Socket OpenUdp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0));
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static int LastError => Marshal.GetLastPInvokeError();
}
