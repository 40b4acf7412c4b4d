using System.Text.Json;
using System.CommandLine;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel volume list|create|upload|import|resize|copy|delete</c>: disks and ISO images in pools.</summary>
internal static class VolumeCommand
{
    private static readonly Option<string> s_pool = new("--pool") { Description = "The pool", HelpName = "NAME", DefaultValueFactory = _ => "default" };

    public static Command Create() => ClientCommand.Group("volume", "Manage volumes (qcow2 and raw disks, ISO images) in storage pools.",
        List(), CreateEmpty(), Upload(), Import(), Resize(), Copy(), Delete());

    private static Command List()
    {
        var command = new Command("list", "List a pool's volumes: virtual and allocated size, backing volume, users") { s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Page<VolumeInfo> volumes = await client.ListVolumesAsync(parseResult.GetValue(s_pool)!, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(volumes);
                return 0;
            }

            Table.Write(["NAME", "FORMAT", "SIZE", "ALLOCATED", "BACKING", "USED BY"], volumes.Items.Select(v => (IReadOnlyList<string>)
                [v.Name + (v.ReadOnly ? " (ro)" : ""), v.Format, ClientCommand.Size(v.VirtualBytes), ClientCommand.Size(v.AllocatedBytes), v.Backing ?? "", string.Join(", ", v.UsedBy)]));
            return 0;
        });
        return command;
    }

    private static Command CreateEmpty()
    {
        var name = new Argument<string>("NAME") { Description = "The volume's name" };
        var size = new Argument<string>("SIZE") { Description = "Its size, e.g. 8G" };
        var format = new Option<string>("--format", "-f") { Description = "qcow2 or raw", DefaultValueFactory = _ => "qcow2" }.OneOf("qcow2", "raw");
        var command = new Command("create", "Create an empty volume") { name, size, format, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            JsonNode result = await client.CreateVolumeAsync(parseResult.GetValue(s_pool)!, new VolumeCreateRequest
            {
                Name = parseResult.GetValue(name)!,
                Format = parseResult.GetValue(format),
                SizeBytes = ClientCommand.ParseSize("SIZE", parseResult.GetValue(size)!),
            }, cancellationToken);
            Console.Out.WriteLine(ClientCommand.Json(parseResult) ? result.ToJsonString(ClientCommand.PrettyJson) : $"volume {parseResult.GetValue(s_pool)}/{parseResult.GetValue(name)} created");
            return 0;
        });
        return command;
    }

    private static Command Upload()
    {
        var name = new Argument<string>("NAME") { Description = "The new volume's name" };
        var file = new Argument<string>("FILE") { Description = "The file to upload (- for standard input)" };
        var format = new Option<string>("--format", "-f") { Description = "What the file is: qcow2, raw or iso", DefaultValueFactory = _ => "raw" }.OneOf("qcow2", "raw", "iso");
        var command = new Command("upload", "Upload a file as a new volume, streamed (never held in memory)") { name, file, format, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string path = parseResult.GetValue(file)!;
            await using Stream content = path == "-" ? Console.OpenStandardInput() : OpenForUpload(path);
            long? length = path == "-" ? null : content.Length;
            VolumeInfo volume = await client.UploadVolumeAsync(parseResult.GetValue(s_pool)!, parseResult.GetValue(name)!, parseResult.GetValue(format)!, content, length, cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(volume);
            }
            else
            {
                Console.Out.WriteLine($"volume {volume.Pool}/{volume.Name} ({volume.Format}, {ClientCommand.Size(volume.VirtualBytes)})");
            }

            return 0;
        });
        return command;
    }

    private static FileStream OpenForUpload(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw UserErrorException.Failure($"there is no file '{path}' to upload");
        }
    }

    private static Command Import()
    {
        var name = new Argument<string>("NAME") { Description = "The new volume's name" };
        var file = new Argument<string>("FILE") { Description = "An image file on the server's host" };
        var format = new Option<string>("--format", "-f") { Description = "The new volume's format: qcow2, raw or iso", DefaultValueFactory = _ => "qcow2" }.OneOf("qcow2", "raw", "iso");
        var command = new Command("import", "Copy or convert an image file on the server's host into a new volume") { name, file, format, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            JsonNode started = await client.CreateVolumeAsync(parseResult.GetValue(s_pool)!, new VolumeCreateRequest
            {
                Name = parseResult.GetValue(name)!,
                Format = parseResult.GetValue(format),
                Import = Path.GetFullPath(parseResult.GetValue(file)!),
            }, cancellationToken);
            OperationInfo operation = started.Deserialize<OperationInfo>(VesselClient.JsonOptions)!;
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Resize()
    {
        var name = new Argument<string>("NAME") { Description = "The volume" };
        var size = new Argument<string>("SIZE") { Description = "The new (larger) size" };
        var command = new Command("resize", "Grow a volume (its VM stopped)") { name, size, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            VolumeInfo volume = await client.ResizeVolumeAsync(parseResult.GetValue(s_pool)!, parseResult.GetValue(name)!, ClientCommand.ParseSize("SIZE", parseResult.GetValue(size)!), cancellationToken);
            Console.Out.WriteLine(ClientCommand.Json(parseResult) ? System.Text.Json.JsonSerializer.Serialize(volume, ClientCommand.PrettyJson) : $"volume {volume.Pool}/{volume.Name} is {ClientCommand.Size(volume.VirtualBytes)}");
            return 0;
        });
        return command;
    }

    private static Command Copy()
    {
        var name = new Argument<string>("NAME") { Description = "The volume to copy" };
        var target = new Argument<string>("NEW") { Description = "The copy's name" };
        var targetPool = new Option<string?>("--to-pool") { Description = "The pool of the copy (default: the same)", HelpName = "NAME" };
        var format = new Option<string?>("--format", "-f") { Description = "Convert to qcow2 or raw", HelpName = "FORMAT" };
        var command = new Command("copy", "Copy or convert a volume into a new one") { name, target, targetPool, format, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            OperationInfo operation = await client.CopyVolumeAsync(parseResult.GetValue(s_pool)!, parseResult.GetValue(name)!, new VolumeCopyRequest(parseResult.GetValue(target)!, parseResult.GetValue(targetPool), parseResult.GetValue(format)), cancellationToken);
            ClientCommand.Report(parseResult, await ClientCommand.FollowAsync(parseResult, client, operation, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("NAME") { Description = "The volume" };
        var command = new Command("delete", "Delete a volume nothing uses") { name, s_pool };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteVolumeAsync(parseResult.GetValue(s_pool)!, parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}
