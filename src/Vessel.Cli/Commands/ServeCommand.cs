using System.CommandLine;
using Vessel.Client;
using Vessel.Server.Hosting;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel serve</c>: the host daemon. Keeps the inventory (SQLite in the data directory),
/// serves the API on the data directory's Unix socket, and runs each VM as its own VMM process.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Where the inventory, volumes and sockets live (default: VESSEL_DATA_DIR, /var/lib/vessel as root, $XDG_DATA_HOME/vessel otherwise)", HelpName = "DIR" };
        var noTemplate = new Option<bool>("--no-default-template") { Description = "Do not make the default template from Vessel's own guest on first start" };
        var adminPasswordFile = new Option<string?>("--admin-password-file") { Description = "On first start, admin@vessel's password from this file (else a one-time password is printed)", HelpName = "FILE" };
        var command = new Command("serve", "Run the host daemon: the API on DATA_DIR/vessel.sock, VMs that live on, snapshots, clones, templates, storage and networks.") { dataDir, noTemplate, adminPasswordFile };
        command.SetAction(parseResult =>
        {
            if (!OperatingSystem.IsLinux())
            {
                throw UserErrorException.Failure("vessel serve runs on Linux only");
            }

            string directory = DataDirectory.Resolve(parseResult.GetValue(dataDir));
            bool template = !parseResult.GetValue(noTemplate);
            string? passwordFile = parseResult.GetValue(adminPasswordFile) is { } file ? Path.GetFullPath(file) : null;
            return ServerApplication.Run([], Console.Error, builder =>
            {
                builder.Configuration["Vessel:DataDirectory"] = directory;
                builder.Configuration["Vessel:DefaultTemplate"] = template ? "true" : "false";
                builder.Configuration["Vessel:AdminPasswordFile"] = passwordFile;
            });
        });
        return command;
    }
}
