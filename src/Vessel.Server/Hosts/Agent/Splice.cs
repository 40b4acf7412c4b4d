using System.Net.Security;
using System.Net.Sockets;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// Copies a migration's TLS stream and a VMM's socket into each other until both directions end:
/// each end of input is passed on (TLS close_notify, or a socket's half-close); a failure ends both.
/// </summary>
internal static class Splice
{
    public static Task BothWaysAsync(Stream a, Stream b) => Task.WhenAll(OneWayAsync(a, b), OneWayAsync(b, a));

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
