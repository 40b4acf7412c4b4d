using System.Net.Security;
using System.Net.Sockets;

namespace Vessel.Server.Hosts.Agent;

/// <summary>Copies two connected sockets into each other until both directions end (each end half-closes the other side).</summary>
internal static class Splice
{
    public static Task BothWaysAsync(Socket a, Socket b) => Task.WhenAll(OneWayAsync(a, b), OneWayAsync(b, a));

    private static async Task OneWayAsync(Socket from, Socket to)
    {
        byte[] buffer = new byte[256 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // One side failed: end both, so the other direction does not wait forever.
            try
            {
                from.Shutdown(SocketShutdown.Both);
                to.Shutdown(SocketShutdown.Both);
            }
            catch (Exception again) when (again is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>
    /// The same between streams (a migration's TLS stream and a VMM's socket): each end of input
    /// is passed on (TLS close_notify, or a socket's half-close); a failure ends both.
    /// </summary>
    public static async Task BothWaysAsync(Stream a, Stream b)
    {
        await Task.WhenAll(OneWayAsync(a, b), OneWayAsync(b, a));
    }

    private static async Task OneWayAsync(Stream from, Stream to)
    {
        byte[] buffer = new byte[256 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read));
            }

            await to.FlushAsync();
            switch (to)
            {
                case SslStream tls:
                    await tls.ShutdownAsync();
                    break;
                case NetworkStream network:
                    network.Socket.Shutdown(SocketShutdown.Send);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // One side failed: end both, so the other direction does not wait forever.
            from.Dispose();
            to.Dispose();
        }
    }
}
