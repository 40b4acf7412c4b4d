using System.CommandLine;
using System.Globalization;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel pool list|create|delete</c>: directory storage pools.</summary>
internal static class PoolCommand
{
    public static Command Create() => ClientCommand.Group("pool", "List, add and remove directory storage pools.", List(), Add(), Delete());

    private static Command List()
    {
        var command = new Command("list", "List pools with capacity and allocation");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<PoolInfo> pools = await client.ListPoolsAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(pools);
                return 0;
            }

            Table.Write(["NAME", "HOST", "PATH", "VOLUMES", "ALLOCATED", "AVAILABLE", "CAPACITY"], pools.Select(p => (IReadOnlyList<string>)
                [p.Name, p.Shared ? "(every host)" : p.Host ?? "-", p.Path, p.Volumes.ToString(CultureInfo.InvariantCulture), ClientCommand.Size(p.AllocatedBytes), ClientCommand.Size(p.AvailableBytes), ClientCommand.Size(p.CapacityBytes)]));
            return 0;
        });
        return command;
    }

    private static Command Add()
    {
        var name = new Argument<string>("NAME") { Description = "The pool's name" };
        var path = new Argument<string>("PATH") { Description = "The directory that holds its volumes" };
        var shared = new Option<bool>("--shared") { Description = "Every host sees this directory at the same path (NFS, a cluster filesystem): its VMs may run on any host and move between them" };
        var command = new Command("create", "Add a directory pool") { name, path, shared };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            PoolInfo pool = await client.CreatePoolAsync(new PoolCreateRequest(parseResult.GetValue(name)!, Path.GetFullPath(parseResult.GetValue(path)!), parseResult.GetValue(shared)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(pool);
            }
            else
            {
                Console.Out.WriteLine($"pool {pool.Name} at {pool.Path}{(pool.Shared ? ", shared by every host" : "")}");
            }

            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("NAME") { Description = "The pool" };
        var command = new Command("delete", "Remove an empty pool (its directory stays)") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeletePoolAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}
