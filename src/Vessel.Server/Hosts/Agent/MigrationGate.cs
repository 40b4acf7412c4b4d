using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// The destination's half of a migration between hosts: a TCP port on every address of the host that takes exactly one
/// connection, over TLS from another host of this manager (<see cref="MigrationTls"/>),
/// presenting the ticket (compared in constant time) and splices it to the waiting VMM's
/// incoming socket. A peer without such a certificate or with a wrong ticket is dropped; after
/// the right one the port closes, so a replayed ticket finds nobody listening.
/// </summary>
internal sealed class MigrationGate(string ticket, string incomingSocket, MigrationTls tls, TextWriter log) : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Any, 0);
    private readonly CancellationTokenSource _end = new(TimeSpan.FromMinutes(5));
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;

    public int Start()
    {
        _listener.Start();
        _ = Task.Run(AcceptAsync);
        return ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    private async Task AcceptAsync()
    {
        byte[] expected = Encoding.ASCII.GetBytes(ticket);
        try
        {
            while (true)
            {
                Socket peer = await _listener.AcceptSocketAsync(_end.Token);
                peer.NoDelay = true;
                EndPoint? from = peer.RemoteEndPoint;
                System.Net.Security.SslStream? secured = null;
                byte[]? presented = null;
                try
                {
                    secured = await tls.AcceptAsync(new NetworkStream(peer, ownsSocket: true));
                    presented = await ReadLineAsync(secured);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                    log.WriteLine($"vessel: refused a migration connection from {from}: it did not present a certificate of this manager's hosts ({e.Message.TrimEnd('.')})");
                }

                if (secured is null || presented is null || !CryptographicOperations.FixedTimeEquals(presented, expected))
                {
                    if (secured is not null)
                    {
                        log.WriteLine($"vessel: refused a migration connection from {from}: its ticket is not the one the manager issued");
                    }

                    secured?.Dispose();
                    peer.Dispose();
                    continue;
                }

                _listener.Stop();
                using (secured)
                using (var vmm = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    await vmm.ConnectAsync(new UnixDomainSocketEndPoint(incomingSocket), _end.Token);
                    using var vmmStream = new NetworkStream(vmm, ownsSocket: false);
                    await Splice.BothWaysAsync(secured, vmmStream);
                }

                return;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            _listener.Stop();
            _done.TrySetResult();
        }
    }

    /// <summary>The ticket line: at most 256 bytes, within 10 seconds, byte by byte so nothing of the stream after it is consumed.</summary>
    private static async Task<byte[]?> ReadLineAsync(Stream peer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = new List<byte>(64);
        byte[] one = new byte[1];
        try
        {
            while (line.Count < 256)
            {
                if (await peer.ReadAsync(one, timeout.Token) == 0)
                {
                    return null;
                }

                if (one[0] == (byte)'\n')
                {
                    return [.. line];
                }

                line.Add(one[0]);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        return null;
    }

    public void Dispose()
    {
        _end.Cancel();
        _listener.Stop();
    }
}
