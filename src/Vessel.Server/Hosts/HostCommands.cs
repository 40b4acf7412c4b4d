using Vessel.Server.Hosting;
using Vessel.Server.Hosts.Agent;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Operations;

namespace Vessel.Server.Hosts;

/// <summary>
/// Sends a command to a host: an agent's down its stream, the manager's own carried out here with
/// the agents' code (one <see cref="AgentVmms"/> for the manager's host, which holds the gates of
/// migrations arriving there). A failed command throws its sentence.
/// </summary>
public sealed class HostCommands(ServerOptions options, HostRegistry hosts, HostCertificateAuthority authority)
{
    // The manager's own host takes part in migrations with a certificate of its CA, as agents do with theirs.
    private readonly Lazy<AgentVmms> _local = new(() => new AgentVmms(options, new MigrationTls(authority.IssueEndpointCertificate(), authority.Certificate), TextWriter.Null));

    /// <param name="hostId">An agent's host, or null for the manager's own.</param>
    public async Task<CommandResult> SendAsync(Guid? hostId, Command command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (hostId is { } remote)
        {
            AgentSession session = hosts.FindSession(remote) ?? throw new OperationFailedException("The host's agent is not connected.");
            return await session.SendAsync(command, timeout, cancellationToken);
        }

        command.Id = Guid.NewGuid().ToString("N");
        CommandResult result = await _local.Value.ExecuteAsync(command, null, cancellationToken);
        return result.Error.Length > 0 ? throw new OperationFailedException(result.Error) : result;
    }

    /// <summary>Removes files of a host; a host that cannot be reached is logged, not thrown (the files are orphans, never in use).</summary>
    public async Task<bool> TryRemoveFilesAsync(Guid? hostId, IEnumerable<string> paths, ILogger logger)
    {
        var command = new Command { RemoveFiles = new RemoveFiles() };
        command.RemoveFiles.Paths.AddRange(paths);
        try
        {
            await SendAsync(hostId, command, TimeSpan.FromSeconds(30), CancellationToken.None);
            return true;
        }
        catch (Exception e) when (e is OperationFailedException or OperationCanceledException or TimeoutException)
        {
            logger.LogWarning("Could not remove {Files} on host {Host}: {Reason}", string.Join(", ", command.RemoveFiles.Paths), hostId?.ToString() ?? "local", e.Message);
            return false;
        }
    }
}
