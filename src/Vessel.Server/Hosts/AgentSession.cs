using System.Collections.Concurrent;
using Grpc.Core;
using Vessel.Server.Hosts.Channel;
using Vessel.Server.Operations;

namespace Vessel.Server.Hosts;

/// <summary>
/// One connected agent's stream, as the manager uses it: commands sent down it and answered by
/// id, and tunnels to its VMMs' sockets, which the agent opens on request. Cancelled when the host
/// is removed, a newer connection of it arrives, or the stream ends; every command and tunnel
/// still waiting then fails with a sentence that says the agent went away.
/// </summary>
public sealed class AgentSession(Guid hostId, string hostName, IAsyncStreamWriter<ManagerMessage> writer) : IDisposable
{
    private readonly CancellationTokenSource _cut = new();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResult>> _commands = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Stream>> _tunnels = new();

    public Guid HostId { get; } = hostId;

    public string HostName { get; } = hostName;

    public CancellationToken Cut => _cut.Token;

    /// <summary>The manager's address as this agent reached it: where the agent connects for a migration whose destination is the manager's own host.</summary>
    public string? ManagerAddress { get; init; }

    /// <summary>The VMMs the agent last reported running (hello and heartbeats): VM id → process id.</summary>
    public IReadOnlyDictionary<Guid, int> RunningVmms { get; set; } = new Dictionary<Guid, int>();

    public void Cancel()
    {
        _cut.Cancel();
        string why = $"The agent of host '{HostName}' disconnected.";
        foreach (TaskCompletionSource<CommandResult> pending in _commands.Values)
        {
            pending.TrySetException(new OperationFailedException(why));
        }

        foreach (TaskCompletionSource<Stream> pending in _tunnels.Values)
        {
            pending.TrySetException(new OperationFailedException(why));
        }
    }

    /// <summary>Sends a command and waits for its result; a result with an error throws it as the operation's sentence.</summary>
    public async Task<CommandResult> SendAsync(Command command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        command.Id = Guid.NewGuid().ToString("N");
        var result = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands[command.Id] = result;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cut.Token);
            await WriteAsync(new ManagerMessage { Command = command }, linked.Token);
            CommandResult answer;
            try
            {
                answer = await result.Task.WaitAsync(timeout, linked.Token);
            }
            catch (TimeoutException)
            {
                throw new OperationFailedException($"The agent of host '{HostName}' did not answer within {timeout.TotalSeconds:0} seconds.");
            }

            return answer.Error.Length > 0 ? throw new OperationFailedException(answer.Error) : answer;
        }
        catch (OperationCanceledException) when (_cut.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException($"The agent of host '{HostName}' disconnected.");
        }
        finally
        {
            _commands.TryRemove(command.Id, out _);
        }
    }

    /// <summary>The agent's answer to a command.</summary>
    public void Complete(CommandResult result)
    {
        if (_commands.TryGetValue(result.Id, out TaskCompletionSource<CommandResult>? pending))
        {
            pending.TrySetResult(result);
        }
    }

    /// <summary>Asks the agent for a byte stream to one of a VM's VMM sockets (<c>qmp</c>, <c>console</c>, <c>vnc</c>).</summary>
    public async Task<Stream> OpenTunnelAsync(Guid vmId, string socket, CancellationToken cancellationToken)
    {
        string tunnelId = Guid.NewGuid().ToString("N");
        var opened = new TaskCompletionSource<Stream>(TaskCreationOptions.RunContinuationsAsynchronously);
        _tunnels[tunnelId] = opened;
        try
        {
            await SendAsync(new Command { OpenTunnel = new OpenTunnel { TunnelId = tunnelId, VmId = vmId.ToString("D"), Socket = socket } }, TimeSpan.FromSeconds(30), cancellationToken);
            return await opened.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new OperationFailedException($"The agent of host '{HostName}' did not open the {socket} tunnel within 30 seconds.");
        }
        finally
        {
            // A tunnel that arrives after we gave up finds no taker and is refused (AcceptTunnel).
            opened.TrySetCanceled(CancellationToken.None);
            _tunnels.TryRemove(tunnelId, out _);
        }
    }

    /// <summary>The agent's tunnel call arrived: hands it to whoever asked for it; false when nobody did (a stale or forged id).</summary>
    public bool AcceptTunnel(string tunnelId, Stream stream) =>
        _tunnels.TryRemove(tunnelId, out TaskCompletionSource<Stream>? pending) && pending.TrySetResult(stream);

    public async Task WriteAsync(ManagerMessage message, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await writer.WriteAsync(message, cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public void Dispose()
    {
        _cut.Dispose();
        _writeGate.Dispose();
    }
}
