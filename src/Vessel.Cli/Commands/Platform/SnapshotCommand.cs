using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel snapshot create|list|revert|delete</c>: a VM's snapshot tree.</summary>
internal static class SnapshotCommand
{
    private static readonly Argument<string> s_vm = new("VM") { Description = "The VM" };
    private static readonly Argument<string> s_name = new("NAME") { Description = "The snapshot" };

    public static Command Create() => ClientCommand.Group("snapshot", "Take, list, revert to and delete a VM's snapshots.", CreateSnapshot(), List(), Revert(), Delete());

    private static Command CreateSnapshot()
    {
        var memory = new Option<bool>("--memory") { Description = "Save the running VM's memory too: reverting resumes it at this moment" };
        var description = new Option<string?>("--description") { Description = "What the snapshot is", HelpName = "TEXT" };
        var command = new Command("create", "Take a snapshot of a VM's disks (and memory with --memory)") { s_vm, s_name, memory, description };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.CreateSnapshotAsync(parseResult.GetValue(s_vm)!, new SnapshotCreateRequest { Name = parseResult.GetValue(s_name)!, Memory = parseResult.GetValue(memory), Description = parseResult.GetValue(description) }, cancellationToken);
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List a VM's snapshots as a tree, marking the current one") { s_vm };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            SnapshotTree tree = await client.ListSnapshotsAsync(parseResult.GetValue(s_vm)!, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(tree);
                return 0;
            }

            var rows = new List<IReadOnlyList<string>>();
            void Add(string? parent, int depth)
            {
                foreach (SnapshotInfo snapshot in tree.Snapshots.Where(s => s.Parent == parent))
                {
                    rows.Add([new string(' ', depth * 2) + snapshot.Name + (snapshot.Current ? " *" : ""), snapshot.Memory ? "disks+memory" : "disks", snapshot.VmState, snapshot.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss"), snapshot.Description]);
                    Add(snapshot.Name, depth + 1);
                }
            }

            Add(null, 0);
            Table.Write(["NAME", "HOLDS", "VM WAS", "TAKEN (UTC)", "DESCRIPTION"], rows);
            return 0;
        });
        return command;
    }

    private static Command Revert()
    {
        var command = new Command("revert", "Revert a VM to a snapshot (with memory: running again at that moment)") { s_vm, s_name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.RevertSnapshotAsync(parseResult.GetValue(s_vm)!, parseResult.GetValue(s_name)!, cancellationToken);
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var command = new Command("delete", "Delete a snapshot (its children move up to its parent)") { s_vm, s_name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.DeleteSnapshotAsync(parseResult.GetValue(s_vm)!, parseResult.GetValue(s_name)!, cancellationToken);
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }
}
