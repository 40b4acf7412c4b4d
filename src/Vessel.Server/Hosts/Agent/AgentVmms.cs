using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
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
public sealed class AgentVmms(ServerOptions options, MigrationTls migrationTls, TextWriter log)
{
    private readonly ConcurrentDictionary<Guid, MigrationGate> _incoming = new();

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
                case Command.KindOneofCase.PrepareDisks:
                    PrepareDisks(command.PrepareDisks);
                    break;
                case Command.KindOneofCase.RemoveFiles:
                    RemoveFiles(command.RemoveFiles);
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
        MigrationGate? gate = null;
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
            gate = new MigrationGate(launch.MigrationTicket, incoming, migrationTls, log);
        }

        result.ProcessId = await VmmLauncher.LaunchAsync(options, spec, cancellationToken);
        if (gate is not null)
        {
            _incoming[vmId] = gate;
            result.Address = gate.Start().ToString(System.Globalization.CultureInfo.InvariantCulture);
            _ = gate.Done.ContinueWith(_ => _incoming.TryRemove(new KeyValuePair<Guid, MigrationGate>(vmId, gate)), TaskScheduler.Default);
        }

        log.WriteLine($"vessel: started the VMM of VM {launch.Name} (process {result.ProcessId}){(gate is null ? "" : ", waiting for its state")}");
    }

    private void Kill(Guid vmId)
    {
        VmmPaths paths = VmmPaths.For(options, vmId);
        if (VmmLauncher.ReadPid(paths.PidFile) is { } pid && VmmLauncher.IsVmmAlive(pid, paths))
        {
            VmmLauncher.KillIfAlive(pid, paths);
            log.WriteLine($"vessel: killed the VMM of VM {vmId} (process {pid})");
        }
    }

    private void EndIncoming(Guid vmId)
    {
        if (_incoming.TryRemove(vmId, out MigrationGate? gate))
        {
            gate.Dispose();
        }

        Kill(vmId);
    }

    /// <summary>
    /// Empty images for a block migration's disks: each written under a temporary name and renamed
    /// into place, never over a file that exists; if one cannot be made, those made before go too.
    /// </summary>
    private void PrepareDisks(PrepareDisks prepare)
    {
        var made = new List<string>();
        try
        {
            foreach (DiskImage image in prepare.Images)
            {
                if (!Path.IsPathFullyQualified(image.Path) || image.VirtualBytes <= 0 || image.Format is not ("qcow2" or "raw"))
                {
                    throw new FormatException("The manager asked for a disk image without a full path, a size or a known format.");
                }

                if (File.Exists(image.Path))
                {
                    throw new OperationFailedException($"There is a file at {image.Path} already; a migration's disk never replaces one.");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(image.Path)!);
                string part = Storage.VolumeService.PartPath(image.Path);
                Vessel.Storage.Operations.ImageCreator.Create(part, image.Format == "raw" ? Vessel.Storage.ImageFormat.Raw : Vessel.Storage.ImageFormat.Qcow2, image.VirtualBytes);
                File.Move(part, image.Path);
                made.Add(image.Path);
            }
        }
        catch
        {
            made.ForEach(File.Delete);
            throw;
        }

        log.WriteLine($"vessel: prepared {made.Count} empty disk image(s) for an incoming migration");
    }

    /// <summary>Removes files that are no longer a VM's (a file already gone is fine).</summary>
    private void RemoveFiles(RemoveFiles remove)
    {
        foreach (string path in remove.Paths)
        {
            if (!Path.IsPathFullyQualified(path) || Directory.Exists(path))
            {
                throw new FormatException($"'{path}' is not a file's full path.");
            }

            File.Delete(path);
            log.WriteLine($"vessel: removed {path}");
        }
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
                var destination = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await destination.ConnectAsync(IPEndPoint.Parse(relay.Destination), timeout.Token);
                }
                catch
                {
                    destination.Dispose();
                    throw;
                }

                // From here the TLS stream owns the socket (and closes it if the handshake fails).
                using SslStream secured = await migrationTls.ConnectAsync(new NetworkStream(destination, ownsSocket: true), relay.DestinationPeer);
                await secured.WriteAsync(Encoding.ASCII.GetBytes(relay.Ticket + "\n"), timeout.Token);
                using var vmmStream = new NetworkStream(vmm, ownsSocket: false);
                await Splice.BothWaysAsync(vmmStream, secured);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or FormatException or IOException or System.Security.Authentication.AuthenticationException)
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
}
