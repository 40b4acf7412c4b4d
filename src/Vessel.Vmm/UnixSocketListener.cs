using System.Net.Sockets;

namespace Vessel.Vmm;

/// <summary>
/// Listening Unix sockets for the VMM's endpoints (QMP, the serial console): a socket file left
/// behind by a VMM that died is replaced, a live one or any other file is refused.
/// </summary>
public static class UnixSocketListener
{
    /// <summary>Binds and listens on <paramref name="path"/>; <paramref name="option"/> names the flag in error sentences.</summary>
    /// <exception cref="VmmException">The path is in use by a running VMM, is not a socket, or cannot be bound.</exception>
    public static Socket Bind(string path, string option)
    {
        if (File.Exists(path))
        {
            if (!IsStaleSocket(path, option))
            {
                throw new VmmException($"{option} '{path}' exists and is not a socket.");
            }

            File.Delete(path);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(16);
            return listener;
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new VmmException($"cannot listen on {option} '{path}': {e.Message.TrimEnd('.')}.");
        }
    }

    /// <summary>Deletes the socket file at exit.</summary>
    public static void Remove(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsStaleSocket(string path, string option)
    {
        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            // Refused: a socket nobody listens on (stale). Anything else: not a socket.
            return e.SocketErrorCode == SocketError.ConnectionRefused;
        }

        throw new VmmException($"{option} '{path}' is in use by a running VM.");
    }
}
