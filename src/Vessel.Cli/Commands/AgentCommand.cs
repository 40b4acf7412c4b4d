using System.CommandLine;
using Vessel.Cli.Commands.Platform;
using Vessel.Client;
using Vessel.Server.Hosts.Agent;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel agent</c>: a host's agent. <c>--join URL --token T</c> enrols the host with the
/// manager at URL once (the token from <c>vessel host add</c>); then, and on every later start
/// without a token, it connects to the manager with what it kept and stays connected.
/// </summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var join = new Option<string?>("--join") { Description = "Join the manager at this URL (https://HOST:PORT, its API listener) with --token", HelpName = "URL" };
        var token = new Option<string?>("--token") { Description = "The one-time join token vessel host add printed", HelpName = "TOKEN" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Where the agent keeps its identity (DIR/agent; default: VESSEL_DATA_DIR, /var/lib/vessel as root, $XDG_DATA_HOME/vessel otherwise)", HelpName = "DIR" };
        var command = new Command("agent", "Run this host's agent: join a manager once with --join and --token, then stay connected to it.") { join, token, dataDir };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!OperatingSystem.IsLinux())
            {
                throw UserErrorException.Failure("vessel agent runs on Linux only");
            }

            string directory = DataDirectory.Resolve(parseResult.GetValue(dataDir));
            string? url = parseResult.GetValue(join);
            string? secret = parseResult.GetValue(token) ?? Environment.GetEnvironmentVariable("VESSEL_JOIN_TOKEN");
            if ((url is null) != (secret is null))
            {
                throw UserErrorException.Usage("--join and --token go together: give the manager's URL and the join token vessel host add printed");
            }

            var runner = new HostAgentRunner(directory, Console.Error)
            {
                MaxRetryDelay = TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("VESSEL_AGENT_RETRY_MAX_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0 ? seconds : 30),
            };
            try
            {
                if (url is not null)
                {
                    await runner.JoinAsync(ClientCommand.ServerUri(url), secret!, cancellationToken);
                }

                await runner.RunAsync(cancellationToken);
                return 0;
            }
            catch (AgentException e)
            {
                throw UserErrorException.Failure(e.Message.TrimEnd('.'));
            }
        });
        return command;
    }
}
