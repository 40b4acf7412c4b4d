using System.CommandLine;
using Vessel.Client;
using Vessel.Server.Hosting;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel serve</c>: the host daemon. Keeps the inventory (SQLite in the data directory, or
/// PostgreSQL with <c>--database</c>),
/// serves the API on the data directory's Unix socket, and runs each VM as its own VMM process.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Where the inventory, volumes and sockets live (default: VESSEL_DATA_DIR, /var/lib/vessel as root, $XDG_DATA_HOME/vessel otherwise)", HelpName = "DIR" };
        var noTemplate = new Option<bool>("--no-default-template") { Description = "Do not make the default template from Vessel's own guest on first start" };
        var adminPasswordFile = new Option<string?>("--admin-password-file") { Description = "On first start, admin@vessel's password from this file (else a one-time password is printed)", HelpName = "FILE" };
        var listen = new Option<string[]>("--listen")
        {
            Description = "Serve the API on the network: https://ADDRESS:PORT (several allowed; http://ADDRESS:PORT only redirects to HTTPS; none: the Unix socket only) [default: https://127.0.0.1:8006]",
            HelpName = "URL",
            AllowMultipleArgumentsPerToken = false,
        };
        var tlsCertificate = new Option<string?>("--tls-cert") { Description = "The HTTPS certificate (PEM, intermediates after it) instead of DATA_DIR/tls/cert.pem, which is made on first start", HelpName = "FILE" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The certificate's private key (PEM)", HelpName = "FILE" };
        var auditRetention = new Option<int?>("--audit-retention-days") { Description = "Keep audit entries this many days (default 365; a setting made through the API wins)", HelpName = "DAYS" };
        var database = new Option<string?>("--database") { Description = "Keep the inventory in PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DATABASE (default: VESSEL_DATABASE, else SQLite in DATA_DIR/vessel.db)", HelpName = "URL" };
        var migrateFrom = new Option<string?>("--migrate-database-from") { Description = "First copy this SQLite inventory (a DATA_DIR/vessel.db) into the empty PostgreSQL database of --database", HelpName = "SQLITE_FILE" };
        var vmmPool = new Option<int?>("--vmm-pool") { Description = "VMM processes kept started ahead of need, so that a VM (a boot, a resume, an instant clone) starts without waiting for one; 0: none [default: 2]", HelpName = "N" };
        var command = new Command("serve", "Run the host daemon: the API on DATA_DIR/vessel.sock and over HTTPS, VMs that live on, snapshots, clones, templates, storage and networks.") { dataDir, noTemplate, listen, tlsCertificate, tlsKey, auditRetention, adminPasswordFile, database, migrateFrom, vmmPool };
        command.SetAction(parseResult =>
        {
            if (!OperatingSystem.IsLinux())
            {
                throw UserErrorException.Failure("vessel serve runs on Linux only");
            }

            string directory = DataDirectory.Resolve(parseResult.GetValue(dataDir));
            bool template = !parseResult.GetValue(noTemplate);
            string? passwordFile = parseResult.GetValue(adminPasswordFile) is { } file ? Path.GetFullPath(file) : null;
            string[] listenValues = parseResult.GetValue(listen) is { Length: > 0 } given ? given : [ListenAddress.Default];
            if (parseResult.GetValue(auditRetention) is { } days && days is < 1 or > Vessel.Server.Audit.AuditLog.MaxRetentionDays)
            {
                throw UserErrorException.Usage($"--audit-retention-days is 1 to {Vessel.Server.Audit.AuditLog.MaxRetentionDays}, not {days}");
            }

            // The URL holds a password: the environment keeps it out of the process list.
            string? databaseUrl = parseResult.GetValue(database) ?? Environment.GetEnvironmentVariable("VESSEL_DATABASE");
            int? poolSize = parseResult.GetValue(vmmPool) is not { } size || size is >= 0 and <= 64
                ? parseResult.GetValue(vmmPool)
                : throw UserErrorException.Usage($"--vmm-pool must be between 0 and 64, not {size}");
            string? migrateSource = parseResult.GetValue(migrateFrom) is { } source ? Path.GetFullPath(source) : null;
            return ServerApplication.Run([], Console.Error, builder =>
            {
                builder.Configuration["Vessel:DataDirectory"] = directory;
                builder.Configuration["Vessel:DefaultTemplate"] = template ? "true" : "false";
                builder.Configuration["Vessel:AdminPasswordFile"] = passwordFile;
                builder.Configuration["Vessel:Listen"] = string.Join(';', listenValues);
                builder.Configuration["Vessel:TlsCertificate"] = parseResult.GetValue(tlsCertificate);
                builder.Configuration["Vessel:TlsKey"] = parseResult.GetValue(tlsKey);
                builder.Configuration["Vessel:Database"] = databaseUrl;
                builder.Configuration["Vessel:MigrateDatabaseFrom"] = migrateSource;
                builder.Configuration["Vessel:VmmPool"] = poolSize?.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (parseResult.GetValue(auditRetention) is { } retention)
                {
                    builder.Configuration["Vessel:AuditRetentionDays"] = retention.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            });
        });
        return command;
    }
}
