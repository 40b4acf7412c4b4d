using System.CommandLine;
using System.Globalization;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel template list|create|delete</c>: read-only VMs that others are deployed from (<c>vessel vm create NAME --template T</c>).</summary>
internal static class TemplateCommand
{
    public static Command Create() => ClientCommand.Group("template", "List templates, turn a stopped VM into one, delete one (deploy with vessel vm create NAME --template T).", List(), Make(), Delete());

    private static Command List()
    {
        var command = new Command("list", "List templates");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Page<VmSummary> templates = await client.ListTemplatesAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(templates.Items);
                return 0;
            }

            Table.Write(["NAME", "CPUS", "MEMORY", "CREATED (UTC)"], templates.Items.Select(t => (IReadOnlyList<string>)
                [t.Name, t.Cpus.ToString(CultureInfo.InvariantCulture), ClientCommand.Size(t.MemoryBytes), t.CreatedAt.ToString("yyyy-MM-dd HH:mm")]));
            return 0;
        });
        return command;
    }

    private static Command Make()
    {
        var vm = new Argument<string>("VM") { Description = "The stopped VM to turn into a template" };
        var command = new Command("create", "Turn a stopped VM into a read-only template") { vm };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            VmDetails template = await client.MakeTemplateAsync(parseResult.GetValue(vm)!, cancellationToken);
            return await VmCommand.PrintVmAsync(parseResult, client, template.Name, cancellationToken);
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("NAME") { Description = "The template" };
        var disks = new Option<bool>("--delete-disks") { Description = "Delete its disks too" };
        var command = new Command("delete", "Delete a template no VM depends on") { name, disks };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.DeleteVmAsync(parseResult.GetValue(name)!, parseResult.GetValue(disks), cancellationToken);
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }
}
