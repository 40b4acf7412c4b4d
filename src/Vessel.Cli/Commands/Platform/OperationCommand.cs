using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel operation list|show|wait|cancel</c>: the daemon's long operations.</summary>
internal static class OperationCommand
{
    private static readonly Argument<Guid> s_id = new("ID") { Description = "The operation's id" };

    public static Command Create() => ClientCommand.Group("operation", "List, show, wait for and cancel long operations.", List(), Show(), Wait(), Cancel());

    private static Command List()
    {
        var status = new Option<string?>("--status") { Description = "Only operations in this status (running, succeeded, failed, cancelled)", HelpName = "STATUS" };
        var command = new Command("list", "List recent operations, newest first") { status };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Page<OperationInfo> operations = await client.ListOperationsAsync(100, parseResult.GetValue(status), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(operations);
                return 0;
            }

            Table.Write(["ID", "KIND", "TARGET", "STATUS", "PROGRESS", "STARTED (UTC)"], operations.Items.Select(o => (IReadOnlyList<string>)
                [o.Id.ToString(), o.Kind, o.Target ?? "", o.Status, $"{o.Progress * 100:0}%", o.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss")]));
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var command = new Command("show", "Show an operation with its log") { s_id };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Print(parseResult, await client.GetOperationAsync(parseResult.GetValue(s_id), 0, cancellationToken));
            return 0;
        });
        return command;
    }

    private static void Print(ParseResult parseResult, OperationInfo operation)
    {
        if (ClientCommand.Json(parseResult))
        {
            ClientCommand.WriteJson(operation);
            return;
        }

        Console.Out.WriteLine($"{operation.Id}  {operation.Kind} {operation.Target}: {operation.Status} ({operation.Progress * 100:0}%)");
        foreach (string line in operation.Log)
        {
            Console.Out.WriteLine("  " + line);
        }

        if (operation.Result is not null)
        {
            Console.Out.WriteLine($"result: {operation.Result}");
        }
    }

    private static Command Wait()
    {
        var command = new Command("wait", "Wait for an operation to end (exit 1 if it failed)") { s_id };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.GetOperationAsync(parseResult.GetValue(s_id), 0, cancellationToken);
            Print(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Cancel()
    {
        var command = new Command("cancel", "Cancel a running operation") { s_id };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Print(parseResult, await client.CancelOperationAsync(parseResult.GetValue(s_id), cancellationToken));
            return 0;
        });
        return command;
    }
}
