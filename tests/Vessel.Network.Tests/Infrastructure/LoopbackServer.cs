using System.Net;
using System.Net.Sockets;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>A TCP listener on 127.0.0.1 with an ephemeral port, as the host side of NAT tests.</summary>
public sealed class LoopbackServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public LoopbackServer()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public Socket Accept()
    {
        Task<Socket> accept = _listener.AcceptAsync();
        Assert.True(accept.Wait(TestGuest.Timeout), "no connection reached the host server");
        Socket socket = accept.Result;
        socket.ReceiveTimeout = (int)TestGuest.Timeout.TotalMilliseconds;
        socket.SendTimeout = (int)TestGuest.Timeout.TotalMilliseconds;
        return socket;
    }

    public static byte[] ReadExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = socket.Receive(buffer, read, count - read, SocketFlags.None);
            Assert.True(n > 0, $"the connection ended after {read} of {count} bytes");
            read += n;
        }

        return buffer;
    }

    /// <summary>A port on which nothing listens (bound, then released).</summary>
    public static int UnusedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public void Dispose() => _listener.Dispose();
}
