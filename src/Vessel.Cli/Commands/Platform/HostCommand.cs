using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel host add|list|show|remove</c>: the manager's hosts and their agents' join tokens.</summary>
internal static class HostCommand
{
    public static Command Create() => ClientCommand.Group("host", "List, add and remove hosts, and put them in maintenance (a host joins with vessel agent --join URL --token TOKEN).", List(), Add(), Show(), Remove(), Maintenance());

    private static Command List()
    {
        var command = new Command("list", "List hosts, their states and capacity");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<HostInfo> hosts = await client.ListHostsAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(hosts);
                return 0;
            }

            Table.Write(["NAME", "STATE", "HARTS", "MEMORY FREE/TOTAL", "VMS", "LOAD", "ADDRESS", "LAST HEARTBEAT"], hosts.Select(h => (IReadOnlyList<string>)[
                h.Local ? $"{h.Name} (local)" : h.Name,
                h.State,
                h.Harts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.MemoryTotalBytes > 0 ? $"{ClientCommand.Size(h.MemoryAvailableBytes)}/{ClientCommand.Size(h.MemoryTotalBytes)}" : "",
                h.RunningVms.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.LoadAverage.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
                h.Address ?? "",
                h.LastHeartbeatAt is { } last ? $"{last:yyyy-MM-dd HH:mm:ss}" : ""]));
            return 0;
        });
        return command;
    }

    private static Command Add()
    {
        var name = new Argument<string>("NAME") { Description = "The new host's name" };
        var lifetime = new Option<int?>("--token-lifetime") { Description = "Seconds the join token stays valid (default 3600)", HelpName = "SECONDS" };
        var command = new Command("add", "Add a host and print its one-time join token (shown this once)") { name, lifetime };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            HostCreated created = await client.AddHostAsync(new HostCreateRequest(parseResult.GetValue(name)!, parseResult.GetValue(lifetime)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(created);
                return 0;
            }

            // The token alone on stdout (scripts take it from there); how to use it on stderr.
            Console.Out.WriteLine(created.JoinToken);
            Console.Error.WriteLine($"vessel: host {created.Host.Name} added ({created.Host.State}); on it run: vessel agent --join https://MANAGER:PORT --token {created.JoinToken}");
            Console.Error.WriteLine($"vessel: the token is shown this once and joins one host until {created.TokenExpiresAt:yyyy-MM-dd HH:mm:ss} UTC");
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var name = new Argument<string>("NAME") { Description = "The host (name or id; 'local' is the manager's own)" };
        var command = new Command("show", "Show a host") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            HostInfo host = await client.GetHostAsync(parseResult.GetValue(name)!, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(host);
                return 0;
            }

            Console.Out.WriteLine($"name:            {host.Name}{(host.Local ? " (the manager's own host)" : "")}");
            Console.Out.WriteLine($"id:              {host.Id}");
            Console.Out.WriteLine($"state:           {host.State}{(host.Maintenance is { } m ? $" ({m})" : "")}");
            Console.Out.WriteLine($"address:         {host.Address}");
            Console.Out.WriteLine($"harts:           {host.Harts}");
            Console.Out.WriteLine($"memory:          {ClientCommand.Size(host.MemoryAvailableBytes)} free of {ClientCommand.Size(host.MemoryTotalBytes)}");
            Console.Out.WriteLine($"running VMs:     {host.RunningVms}");
            Console.Out.WriteLine($"load average:    {host.LoadAverage.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}");
            Console.Out.WriteLine($"agent version:   {host.AgentVersion}");
            Console.Out.WriteLine($"last heartbeat:  {host.LastHeartbeatAt:yyyy-MM-dd HH:mm:ss}");
            Console.Out.WriteLine($"certificate:     {host.CertificateFingerprint}");
            Console.Out.WriteLine($"joined:          {host.JoinedAt:yyyy-MM-dd HH:mm:ss}");
            return 0;
        });
        return command;
    }

    private static Command Maintenance()
    {
        var enterName = new Argument<string>("NAME") { Description = "The host (name or id; 'local' is the manager's own)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Print the operation and return at once instead of waiting for it" };
        var enter = new Command("enter", "Put the host in maintenance: it takes no new VMs and its running VMs migrate away") { enterName, noWait };
        enter.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.EnterMaintenanceAsync(parseResult.GetValue(enterName)!, cancellationToken);
            if (parseResult.GetValue(noWait))
            {
                ClientCommand.Report(parseResult, operation);
                return 0;
            }

            await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken);
            return 0;
        });
        var exitName = new Argument<string>("NAME") { Description = "The host" };
        var exit = new Command("exit", "Take the host out of maintenance: it takes VMs again") { exitName };
        exit.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            HostInfo host = await client.ExitMaintenanceAsync(parseResult.GetValue(exitName)!, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(host);
            }
            else
            {
                Console.Out.WriteLine($"host {host.Name} {host.State}");
            }

            return 0;
        });
        return new Command("maintenance", "Put a host in maintenance (its VMs move away) or take it out") { enter, exit };
    }

    private static Command Remove()
    {
        var name = new Argument<string>("NAME") { Description = "The host" };
        var command = new Command("remove", "Remove a host: its agent is cut off and its certificate refused from then on") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            HostInfo host = await client.RemoveHostAsync(parseResult.GetValue(name)!, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(host);
            }
            else
            {
                Console.Out.WriteLine($"host {host.Name} {host.State}");
            }

            return 0;
        });
        return command;
    }
}
