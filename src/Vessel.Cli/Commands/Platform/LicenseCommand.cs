using System.CommandLine;
using System.Globalization;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel license show|install FILE|remove</c>: the host's licence.</summary>
internal static class LicenseCommand
{
    public static Command Create() => ClientCommand.Group("license", "Show, install and remove the host's licence.", Show(), Install(), Remove());

    private static Command Show()
    {
        var command = new Command("show", "Show the licence (or the evaluation): licensee, edition, capacity, features and validity");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Print(parseResult, await client.GetLicenseAsync(cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Install()
    {
        var file = new Argument<string>("FILE") { Description = "The licence file, as the vendor issued it" };
        var command = new Command("install", "Install a licence file (replacing the licence installed)") { file };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string path = parseResult.GetRequiredValue(file);
            if (!File.Exists(path))
            {
                throw UserErrorException.Usage($"there is no licence file {path}");
            }

            Print(parseResult, await client.InstallLicenseAsync(await File.ReadAllTextAsync(path, cancellationToken), cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Remove()
    {
        var command = new Command("remove", "Remove the licence: the host is back in its evaluation (which may have ended)");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Print(parseResult, await client.RemoveLicenseAsync(cancellationToken));
            return 0;
        });
        return command;
    }

    private static void Print(ParseResult parseResult, LicenseInfo license)
    {
        if (ClientCommand.Json(parseResult))
        {
            ClientCommand.WriteJson(license);
            return;
        }

        static string Limit(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "unlimited";
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "mode", license.Mode },
        };
        if (license.Id is not null)
        {
            rows.Add(["id", license.Id]);
            rows.Add(["licensee", license.Licensee ?? ""]);
        }

        rows.Add(["edition", license.Edition ?? ""]);
        rows.Add(["valid", $"{license.ValidFrom:yyyy-MM-dd} to {license.ExpiresAt:yyyy-MM-dd} ({(license.Expired ? "expired" : $"{license.DaysLeft} days left")})"]);
        rows.Add(["running VMs", Limit(license.Capacity.RunningVms)]);
        rows.Add(["vCPUs", Limit(license.Capacity.Vcpus)]);
        rows.Add(["hosts", Limit(license.Capacity.Hosts)]);
        rows.Add(["sockets", Limit(license.Capacity.Sockets)]);
        rows.Add(["features", string.Join(", ", license.Features)]);
        Table.Write(["", ""], rows);
    }
}
