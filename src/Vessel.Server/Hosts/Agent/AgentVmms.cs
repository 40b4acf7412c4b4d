using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Operations;
using Vessel.Server.Vmm;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// The VMMs of a host, as the manager's commands drive them (an agent's, and the manager's own
/// host for the ends of a migration that are there): started with the same
/// launcher as the manager's own (<c>DATA/run/VMID/</c>, detached, so they outlive the agent),
/// killed, their sockets tunnelled to the manager, and the two ends of a migration between
/// agents: the destination accepts one connection that presents the manager's one-time ticket,
/// the source relays the VMM's outgoing stream to it.
/// </summary>
public sealed class AgentVmms(ServerOptions options, TextWriter log)
{
    private readonly ConcurrentDictionary<Guid, IncomingGate> _incoming = new();

    /// <summary>Every VMM of this host that is alive (pidfile and process agree).</summary>
    public IEnumerable<RunningVmm> Running()
    {
        if (!Directory.Exists(options.RunDirectory))
        {
            yield break;
        }

        foreach (string directory in Directory.EnumerateDirectories(options.RunDirectory))
        {
            if (!Guid.TryParseExact(Path.GetFileName(directory), "N", out Guid vmId))
            {
                continue;
            }

            var paths = new VmmPaths(directory);
            if (VmmLauncher.ReadPid(paths.PidFile) is { } pid && VmmLauncher.IsVmmAlive(pid, paths))
            {
                yield return new RunningVmm { VmId = vmId.ToString("D"), ProcessId = pid };
            }
        }
    }

    /// <summary>Carries out one command; a failure is the result's sentence, never an exception.</summary>
    public async Task<CommandResult> ExecuteAsync(Command command, HostAgent.HostAgentClient? client, CancellationToken cancellationToken)
    {
        var result = new CommandResult { Id = command.Id };
        try
        {
            switch (command.KindCase)
            {
                case Command.KindOneofCase.Launch:
                    await LaunchAsync(command.Launch, result, cancellationToken);
                    break;
                case Command.KindOneofCase.Kill:
                    Kill(ParseVm(command.Kill.VmId));
                    break;
                case Command.KindOneofCase.OpenTunnel when client is not null:
                    await OpenTunnelAsync(command.OpenTunnel, client, cancellationToken);
                    break;
                case Command.KindOneofCase.RelayMigration:
                    result.Address = StartRelay(command.RelayMigration);
                    break;
                case Command.KindOneofCase.EndIncoming:
                    EndIncoming(ParseVm(command.EndIncoming.VmId));
                    break;
                default:
                    result.Error = "This agent does not know that command; update it to the manager's version.";
                    break;
            }
        }
        catch (Exception e) when (e is OperationFailedException or IOException or SocketException or UnauthorizedAccessException or FormatException)
        {
            result.Error = Api.Sentences.Of(e.Message);
        }

        return result;
    }

    private static Guid ParseVm(string text) =>
        Guid.TryParse(text, out Guid id) ? id : throw new FormatException("The manager named no valid VM id.");

    private async Task LaunchAsync(LaunchVmm launch, CommandResult result, CancellationToken cancellationToken)
    {
        Guid vmId = ParseVm(launch.VmId);
        var spec = new VmmLaunchSpec(vmId, launch.Name, [.. launch.MachineArguments]) { Paused = launch.Paused, Display = launch.Display };
        VmmPaths paths = VmmPaths.For(options, vmId);
        IncomingGate? gate = null;
        if (launch.MigrationTicket.Length > 0)
        {
            // The destination of a migration: the state comes on a socket of the VM's own
            // directory, which only the gate (after the ticket) connects to.
            string incoming = Path.Combine(paths.Directory, "incoming.sock");
            if (Directory.Exists(paths.Directory))
            {
                File.Delete(incoming);
            }

            spec = spec with { Incoming = $"unix:{incoming}" };
            gate = new IncomingGate(launch.MigrationTicket, incoming, log);
        }

        result.ProcessId = await VmmLauncher.LaunchAsync(options, spec, cancellationToken);
        if (gate is not null)
        {
            _incoming[vmId] = gate;
            result.Address = gate.Start().ToString(System.Globalization.CultureInfo.InvariantCulture);
            _ = gate.Done.ContinueWith(_ => _incoming.TryRemove(new KeyValuePair<Guid, IncomingGate>(vmId, gate)), TaskScheduler.Default);
        }

        log.WriteLine($"vessel: started the VMM of VM {launch.Name} (process {result.ProcessId}){(gate is null ? "" : ", waiting for its state")}");
    }

    private void Kill(Guid vmId)
    {
        VmmPaths paths = VmmPaths.For(options, vmId);
        if (VmmLauncher.ReadPid(paths.PidFile) is { } pid && VmmLauncher.IsVmmAlive(pid, paths))
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
            log.WriteLine($"vessel: killed the VMM of VM {vmId} (process {pid})");
        }
    }

    private void EndIncoming(Guid vmId)
    {
        if (_incoming.TryRemove(vmId, out IncomingGate? gate))
        {
            gate.Dispose();
        }

        Kill(vmId);
    }

    private async Task OpenTunnelAsync(OpenTunnel open, HostAgent.HostAgentClient client, CancellationToken cancellationToken)
    {
        VmmPaths paths = VmmPaths.For(options, ParseVm(open.VmId));
        string path = open.Socket switch
        {
            "qmp" => paths.Qmp,
            "console" => paths.Console,
            "vnc" => paths.Vnc,
            _ => throw new FormatException($"There is no VMM socket called '{open.Socket}'."),
        };
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw new OperationFailedException($"The VM's {open.Socket} socket on this host does not answer; its VMM is not running.");
        }

        AsyncDuplexStreamingCall<TunnelChunk, TunnelChunk> call = client.Tunnel(cancellationToken: CancellationToken.None);
        await call.RequestStream.WriteAsync(new TunnelChunk { TunnelId = open.TunnelId }, cancellationToken);
        _ = PumpAsync(socket, call);
    }

    /// <summary>Relays a VMM socket and a tunnel both ways until either side ends, then closes both.</summary>
    private static async Task PumpAsync(Socket socket, AsyncDuplexStreamingCall<TunnelChunk, TunnelChunk> call)
    {
        using var stop = new CancellationTokenSource();
        using (socket)
        using (call)
        {
            Task up = Task.Run(async () =>
            {
                byte[] buffer = new byte[TunnelStream.ChunkBytes];
                try
                {
                    int read;
                    while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token)) > 0)
                    {
                        await call.RequestStream.WriteAsync(new TunnelChunk { Data = ByteString.CopyFrom(buffer, 0, read) }, stop.Token);
                    }

                    await call.RequestStream.CompleteAsync();
                }
                catch (Exception e) when (e is SocketException or RpcException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
                {
                }
            });
            Task down = Task.Run(async () =>
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(stop.Token))
                    {
                        await socket.SendAsync(call.ResponseStream.Current.Data.Memory, SocketFlags.None, stop.Token);
                    }
                }
                catch (Exception e) when (e is SocketException or RpcException or OperationCanceledException or ObjectDisposedException)
                {
                }
            });
            await Task.WhenAny(up, down);
            await stop.CancelAsync();
            await Task.WhenAll(up, down);
        }
    }

    /// <summary>
    /// The source's half: listens on <c>outgoing.sock</c> in the VM's directory for the VMM's
    /// migration stream, and relays it to the destination agent after the ticket line.
    /// </summary>
    private string StartRelay(RelayMigration relay)
    {
        VmmPaths paths = VmmPaths.For(options, ParseVm(relay.VmId));
        string path = Path.Combine(paths.Directory, "outgoing.sock");
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                using Socket vmm = await listener.AcceptAsync(timeout.Token);
                listener.Dispose();
                File.Delete(path);
                using var destination = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await destination.ConnectAsync(IPEndPoint.Parse(relay.Destination), timeout.Token);
                await destination.SendAsync(Encoding.ASCII.GetBytes(relay.Ticket + "\n"), SocketFlags.None, timeout.Token);
                await Splice.BothWaysAsync(vmm, destination);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or FormatException or IOException)
            {
                // The VMM sees its stream end, reports the migration failed and runs on.
                log.WriteLine($"vessel: the migration relay of VM {relay.VmId} to {relay.Destination} ended: {e.Message}");
            }
            finally
            {
                listener.Dispose();
                File.Delete(path);
            }
        });
        return path;
    }

    /// <summary>
    /// The destination's half: a TCP port on every address of the host that takes exactly one
    /// connection presenting the ticket (compared in constant time) and splices it to the waiting
    /// VMM's incoming socket. A wrong ticket is dropped; after the right one the port closes, so a
    /// replayed ticket finds nobody listening.
    /// </summary>
    private sealed class IncomingGate(string ticket, string incomingSocket, TextWriter log) : IDisposable
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
                    byte[]? presented = await ReadLineAsync(peer);
                    if (presented is null || !CryptographicOperations.FixedTimeEquals(presented, expected))
                    {
                        log.WriteLine($"vessel: refused a migration connection from {peer.RemoteEndPoint}: its ticket is not the one the manager issued");
                        peer.Dispose();
                        continue;
                    }

                    _listener.Stop();
                    using (peer)
                    using (var vmm = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                    {
                        await vmm.ConnectAsync(new UnixDomainSocketEndPoint(incomingSocket), _end.Token);
                        await Splice.BothWaysAsync(peer, vmm);
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
        private static async Task<byte[]?> ReadLineAsync(Socket peer)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var line = new List<byte>(64);
            byte[] one = new byte[1];
            try
            {
                while (line.Count < 256)
                {
                    if (await peer.ReceiveAsync(one, SocketFlags.None, timeout.Token) == 0)
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
            catch (Exception e) when (e is SocketException or OperationCanceledException)
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
}

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
}
