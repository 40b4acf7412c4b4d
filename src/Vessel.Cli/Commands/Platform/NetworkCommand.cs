using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel network list|create|delete</c>: nat, isolated and bridged networks.</summary>
internal static class NetworkCommand
{
    public static Command Create() => ClientCommand.Group("network", "List, create and delete networks (nat, isolated, bridged).", List(), Add(), Delete());

    private static Command List()
    {
        var command = new Command("list", "List networks and the VMs on them");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<NetworkInfo> networks = await client.ListNetworksAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(networks);
                return 0;
            }

            Table.Write(["NAME", "KIND", "BRIDGE", "VMS"], networks.Select(n => (IReadOnlyList<string>)[n.Name, n.Kind, n.Bridge ?? "", string.Join(", ", n.UsedBy)]));
            return 0;
        });
        return command;
    }

    private static Command Add()
    {
        var name = new Argument<string>("NAME") { Description = "The network's name" };
        var kind = new Option<string>("--kind") { Description = "nat (each VM's own NAT), isolated (a virtual switch between VMs) or bridged (TAP on a host bridge, as root)", DefaultValueFactory = _ => "isolated" }.OneOf("nat", "isolated", "bridged");
        var bridge = new Option<string?>("--bridge") { Description = "The host bridge of a bridged network", HelpName = "NAME" };
        var command = new Command("create", "Create a network") { name, kind, bridge };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            NetworkInfo network = await client.CreateNetworkAsync(new NetworkCreateRequest(parseResult.GetValue(name)!, parseResult.GetValue(kind)!, parseResult.GetValue(bridge)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(network);
            }
            else
            {
                Console.Out.WriteLine($"network {network.Name} ({network.Kind})");
            }

            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("NAME") { Description = "The network" };
        var command = new Command("delete", "Delete a network no NIC uses") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteNetworkAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}
