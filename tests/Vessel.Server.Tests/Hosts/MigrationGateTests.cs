using System.Net;
using System.Net.Sockets;
using System.Text;
using Vessel.Server.Hosts.Agent;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// The destination's gate of a migration between hosts: only a connection presenting the
/// manager's one-time ticket reaches the waiting VMM's socket; a wrong ticket reaches nothing,
/// and the ticket once used (replayed) finds the port closed.
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
        using var gate = new MigrationGate("the-ticket", incoming, log);
        int port = gate.Start();

        // A forged ticket: dropped, and nothing reaches the VMM.
        using (Socket forged = await ConnectAsync(port))
        {
            await forged.SendAsync(Encoding.ASCII.GetBytes("not-the-ticket\nSTATE"));
            // Closed by the gate: an orderly end, or a reset (the kernel resets a socket closed with unread bytes).
            try
            {
                Assert.Equal(0, await ReceiveAsync(forged, new byte[16]));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
            }
        }

        Assert.Contains("its ticket is not the one the manager issued", log.ToString(), StringComparison.Ordinal);
        Task<Socket> accepted = vmm.AcceptAsync();
        Assert.NotSame(accepted, await Task.WhenAny(accepted, Task.Delay(300)));

        // The ticket: the stream after it reaches the VMM, byte for byte, and answers come back.
        using (Socket genuine = await ConnectAsync(port))
        {
            await genuine.SendAsync(Encoding.ASCII.GetBytes("the-ticket\nSTATE-STREAM"));
            using Socket inside = await accepted.WaitAsync(TimeSpan.FromSeconds(30));
            byte[] buffer = new byte[64];
            int read = 0;
            while (read < "STATE-STREAM".Length)
            {
                read += await ReceiveAsync(inside, buffer.AsMemory(read));
            }

            Assert.Equal("STATE-STREAM", Encoding.ASCII.GetString(buffer, 0, read));
            await inside.SendAsync(Encoding.ASCII.GetBytes("ACK"));
            int got = await ReceiveAsync(genuine, buffer);
            Assert.Equal("ACK", Encoding.ASCII.GetString(buffer, 0, got));

            // Replayed while the first is in use, and after: nobody listens any more.
            SocketException replay = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port));
            Assert.Equal(SocketError.ConnectionRefused, replay.SocketErrorCode);
        }

        await gate.Done.WaitAsync(TimeSpan.FromSeconds(30));
        SocketException after = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port));
        Assert.Equal(SocketError.ConnectionRefused, after.SocketErrorCode);
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
