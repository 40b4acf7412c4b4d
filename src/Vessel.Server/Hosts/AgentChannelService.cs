using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts.Channel;

namespace Vessel.Server.Hosts;

/// <summary>
/// The manager's end of the agent channel. An agent's stream is admitted only with a client
/// certificate of the manager's CA, for a host that exists, is not removed, and whose current
/// certificate it is, and only when the hello names the certificate's host: an agent presenting
/// another host's certificate is refused and the attempt logged and audited. Each refusal ends
/// the call with PERMISSION_DENIED and one sentence, which the agent prints.
/// </summary>
public sealed class AgentChannelService(HostCertificateAuthority authority, HostRegistry registry) : HostAgent.HostAgentBase
{
    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<ManagerMessage> responseStream, ServerCallContext context)
    {
        HttpContext http = context.GetHttpContext();
        string address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        X509Certificate2? certificate = http.Connection.ClientCertificate;
        (Guid? certified, string? refusal) = authority.IdentifyHost(certificate);
        if (certified is not { } hostId)
        {
            throw await RefuseAsync(address, "host:?", refusal!);
        }

        Hello hello = await ReadHelloAsync(requestStream, context.CancellationToken);
        if (!Guid.TryParse(hello.HostId, out Guid claimed) || claimed != hostId)
        {
            throw await RefuseAsync(address, $"host:{hostId}",
                $"The agent says it is host {Short(hello.HostId)} but presents the certificate of host {hostId}; an agent may only use its own host's certificate.");
        }

        HostRecord? host = await registry.FindAsync(hostId, context.CancellationToken);
        string? why = host switch
        {
            null => "The manager knows no host of this certificate; join the host again with a new token from vessel host add.",
            { State: HostStates.Removed } => $"The host '{host.Name}' was removed from the manager; add it again with vessel host add and join with the new token.",
            { IsLocal: true } => "The manager's own host does not connect as an agent.",
            _ when host.CertificateSerial != certificate!.SerialNumber => $"This certificate is not the one issued to host '{host.Name}' when it last joined; use the agent's current data directory or join again.",
            _ => null,
        };
        if (why is not null)
        {
            throw await RefuseAsync(address, $"host:{host?.Name ?? hostId.ToString()}", why);
        }

        string hostName = host!.Name;
        AgentSession session = registry.Attach(hostId, hostName, responseStream, http.Connection.LocalIpAddress?.ToString());
        try
        {
            session.RunningVmms = RunningOf(hello.Vmms);
            // Its pool first: a host shown up has its pool.
            await registry.EnsureHostPoolAsync(hostId, hostName, hello.DataDir, context.CancellationToken);
            await registry.ReportAsync(hostId, hello.Capacity ?? new Capacity(), hello.AgentVersion, address, context.CancellationToken);
            await session.WriteAsync(new ManagerMessage { Welcome = new Welcome { HostName = hostName, HeartbeatSeconds = registry.HeartbeatInterval.TotalSeconds } }, context.CancellationToken);
            registry.Announce(session);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, session.Cut);
            while (await requestStream.MoveNext(linked.Token))
            {
                switch (requestStream.Current.KindCase)
                {
                    case AgentMessage.KindOneofCase.Heartbeat:
                        session.RunningVmms = RunningOf(requestStream.Current.Heartbeat.Vmms);
                        await registry.ReportAsync(hostId, requestStream.Current.Heartbeat.Capacity ?? new Capacity(), null, address, linked.Token);
                        break;
                    case AgentMessage.KindOneofCase.Result:
                        session.Complete(requestStream.Current.Result);
                        break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException && session.Cut.IsCancellationRequested)
        {
            // Cut off by the manager: a removed host hears why; a replaced stream (the agent
            // reconnected) just ends.
            if ((await registry.FindAsync(hostId, CancellationToken.None))?.State == HostStates.Removed)
            {
                throw await RefuseAsync(address, $"host:{hostName}", $"The host '{hostName}' was removed from the manager; add it again with vessel host add and join with the new token.");
            }
        }
        finally
        {
            registry.Detach(session);
            session.Dispose();
        }
    }

    /// <summary>
    /// A tunnel the agent opened because the manager asked for it: admitted only from the host the
    /// manager asked (its certificate) and for an id the manager is waiting on; it lives until the
    /// manager's side disposes it or the agent ends it.
    /// </summary>
    public override async Task Tunnel(IAsyncStreamReader<TunnelChunk> requestStream, IServerStreamWriter<TunnelChunk> responseStream, ServerCallContext context)
    {
        HttpContext http = context.GetHttpContext();
        (Guid? certified, string? refusal) = authority.IdentifyHost(http.Connection.ClientCertificate);
        if (certified is not { } hostId)
        {
            throw await RefuseAsync(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", "host:?", refusal!);
        }

        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return;
        }

        string tunnelId = requestStream.Current.TunnelId;
        // Not disposed here: the stream (whoever holds it) cancels it when done, also after this call ended.
        var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var stream = new TunnelStream(requestStream, responseStream, null, call);
        if (registry.FindSession(hostId) is not { } session || !session.AcceptTunnel(tunnelId, stream))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "The manager asked this host for no such tunnel."));
        }

        try
        {
            await Task.Delay(Timeout.Infinite, call.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Dictionary<Guid, int> RunningOf(IEnumerable<RunningVmm> vmms) =>
        vmms.Where(v => Guid.TryParse(v.VmId, out _)).ToDictionary(v => Guid.Parse(v.VmId), v => v.ProcessId);

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<AgentMessage> requests, CancellationToken cancellationToken)
    {
        // An agent that connects and says nothing holds a stream open for nothing: it has a few intervals.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(registry.UnreachableAfter);
        try
        {
            if (await requests.MoveNext(wait.Token) && requests.Current.KindCase == AgentMessage.KindOneofCase.Hello)
            {
                return requests.Current.Hello;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException && wait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
        }

        throw new RpcException(new Status(StatusCode.InvalidArgument, "The agent's first message must be its hello."));
    }

    private async Task<RpcException> RefuseAsync(string address, string target, string reason)
    {
        await registry.RecordRefusalAsync(address, target, reason);
        return new RpcException(new Status(StatusCode.PermissionDenied, reason));
    }

    private static string Short(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
