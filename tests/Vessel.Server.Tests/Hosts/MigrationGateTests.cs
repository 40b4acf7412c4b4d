using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts;
using Vessel.Server.Hosts.Agent;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// The destination's gate of a migration between hosts: only a connection over TLS with a
/// certificate of the manager's CA, presenting the manager's one-time ticket, reaches the waiting
/// VMM's socket; plain TCP, another CA's certificate or a wrong ticket reach nothing, the ticket
/// once used (replayed) finds the port closed, and the source refuses a destination that is not
/// the host it was sent to.
/// </summary>
public sealed class MigrationGateTests
{
    [Fact]
    public async Task OnlyTheTicketReachesTheVmmAndAReplayedTicketFindsThePortClosed()
    {
        using var temp = new TempDirectory();
        string incoming = temp.File("incoming.sock");
        using var vmm = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        vmm.Bind(new UnixDomainSocketEndPoint(incoming));
        vmm.Listen(4);
        var log = new StringWriter();
        HostCertificateAuthority authority = Authority(temp.File("manager"));
        MigrationTls ours = new(authority.IssueEndpointCertificate(), authority.Certificate);
        using var gate = new MigrationGate("the-ticket", incoming, ours, log);
        int port = gate.Start();

        // Plain TCP, even with the ticket: no TLS handshake, dropped.
        using (Socket plain = await ConnectAsync(port))
        {
            await plain.SendAsync(Encoding.ASCII.GetBytes("the-ticket\nSTATE"));
            await AssertClosedAsync(plain);
        }

        // TLS with another manager's certificate, even with the ticket: dropped.
        HostCertificateAuthority stranger = Authority(temp.File("stranger"));
        MigrationTls theirs = new(stranger.IssueEndpointCertificate(), stranger.Certificate);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using SslStream foreign = await theirs.ConnectAsync(new NetworkStream(await ConnectAsync(port), ownsSocket: true), MigrationTls.PeerOf(null));
        });
        Assert.Contains("did not present a certificate of this manager's hosts", log.ToString(), StringComparison.Ordinal);

        // The source checks the destination too: a host other than the one it was sent to is refused.
        await Assert.ThrowsAsync<AuthenticationException>(async () =>
        {
            using SslStream wrongHost = await ours.ConnectAsync(new NetworkStream(await ConnectAsync(port), ownsSocket: true), MigrationTls.PeerOf(Guid.NewGuid()));
        });

        // A forged ticket over good TLS: dropped, and nothing reaches the VMM.
        using (SslStream forged = await ours.ConnectAsync(new NetworkStream(await ConnectAsync(port), ownsSocket: true), MigrationTls.PeerOf(null)))
        {
            await forged.WriteAsync(Encoding.ASCII.GetBytes("not-the-ticket\nSTATE"));
            Assert.Equal(0, await ReadAsync(forged, new byte[16]));
        }

        Assert.Contains("its ticket is not the one the manager issued", log.ToString(), StringComparison.Ordinal);
        Task<Socket> accepted = vmm.AcceptAsync();
        Assert.NotSame(accepted, await Task.WhenAny(accepted, Task.Delay(300)));

        // The ticket: the stream after it reaches the VMM, byte for byte, and answers come back.
        using (SslStream genuine = await ours.ConnectAsync(new NetworkStream(await ConnectAsync(port), ownsSocket: true), MigrationTls.PeerOf(null)))
        {
            await genuine.WriteAsync(Encoding.ASCII.GetBytes("the-ticket\nSTATE-STREAM"));
            using Socket inside = await accepted.WaitAsync(TimeSpan.FromSeconds(30));
            byte[] buffer = new byte[64];
            int read = 0;
            while (read < "STATE-STREAM".Length)
            {
                read += await ReceiveAsync(inside, buffer.AsMemory(read));
            }

            Assert.Equal("STATE-STREAM", Encoding.ASCII.GetString(buffer, 0, read));
            await inside.SendAsync(Encoding.ASCII.GetBytes("ACK"));
            int got = await ReadAsync(genuine, buffer);
            Assert.Equal("ACK", Encoding.ASCII.GetString(buffer, 0, got));

            // Replayed while the first is in use, and after: nobody listens any more.
            SocketException replay = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port));
            Assert.Equal(SocketError.ConnectionRefused, replay.SocketErrorCode);
        }

        await gate.Done.WaitAsync(TimeSpan.FromSeconds(30));
        SocketException after = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port));
        Assert.Equal(SocketError.ConnectionRefused, after.SocketErrorCode);
    }

    private static HostCertificateAuthority Authority(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        return new HostCertificateAuthority(new ServerOptions { DataDirectory = dataDirectory, VesselProgram = "vessel", VesselPrefixArguments = [] }, TimeProvider.System, NullLogger<HostCertificateAuthority>.Instance);
    }

    /// <summary>Closed by the gate: an orderly end, or a reset (the kernel resets a socket closed with unread bytes).</summary>
    private static async Task AssertClosedAsync(Socket socket)
    {
        try
        {
            Assert.Equal(0, await ReceiveAsync(socket, new byte[16]));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    private static async Task<int> ReadAsync(Stream stream, Memory<byte> buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return await stream.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            return 0; // reset by the gate
        }
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
    }
}
