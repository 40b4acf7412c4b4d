using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Scalar.AspNetCore;
using Vessel.Server.Access;
using Vessel.Server.Access.Pam;
using Vessel.Server.Api;
using Vessel.Server.Events;
using Vessel.Server.Inventory;
using Vessel.Server.Metrics;
using Vessel.Server.Networks;
using Vessel.Server.Operations;
using Vessel.Server.Vmm;

namespace Vessel.Server.Hosting;

/// <summary>
/// Builds and runs <c>vessel serve</c>: the inventory, the services, the API under
/// <c>/api/v1</c> with its OpenAPI document and reference page, the Unix socket listener in
/// the data directory (mode 0660: whoever may open it administers the host) and the network
/// listeners of <c>--listen</c> (<see cref="NetworkListener"/>).
/// </summary>
public static class ServerApplication
{
    /// <summary>Builds the application from configuration (<c>Vessel:DataDirectory</c>, ...) and arguments.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        // Options are read from the final configuration (tests add theirs when the host is built).
        builder.Services.AddSingleton(s => OptionsFrom(s.GetRequiredService<IConfiguration>()));
        // The inventory: SQLite in the data directory, or PostgreSQL with --database. Which
        // context class is made depends on the provider (each has its own migrations), and is
        // known only from the final configuration: a scoped factory, not AddDbContext.
        builder.Services.AddSingleton(s => InventoryConnection.For(s.GetRequiredService<ServerOptions>(), s));
        builder.Services.AddScoped(s => s.GetRequiredService<InventoryConnection>().CreateContext());
        // One clock for expiries (sessions, tokens, tickets, licences): tests give a fake one.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AccessModelCache>();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<PamAuthenticator>();
        builder.Services.AddSingleton<AccessBootstrap>();
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddSingleton<OperationManager>();
        builder.Services.AddSingleton<VmmPool>();
        builder.Services.AddHostedService(s => s.GetRequiredService<VmmPool>());
        builder.Services.AddSingleton<VmmSupervisor>();
        builder.Services.AddHostedService(s => s.GetRequiredService<VmmSupervisor>());
        builder.Services.AddSingleton<NetworkService>();
        builder.Services.AddSingleton<VmLifecycle>();
        builder.Services.AddSingleton<VmCreation>();
        builder.Services.AddSingleton<VmMigration>();
        builder.Services.AddSingleton<SnapshotService>();
        builder.Services.AddSingleton<MetricsSampler>();
        builder.Services.AddHostedService(s => s.GetRequiredService<MetricsSampler>());
        builder.Services.AddSingleton<ConsoleTickets>();
        NetworkListener.AddServices(builder.Services);
        Hosts.HostsSetup.AddServices(builder.Services);
        builder.Services.AddAuditAndLicensing();
        builder.Services.AddSingleton<StartupTasks.DefaultTemplateStatus>();
        builder.Services.AddHostedService<StartupTasks>();
        // Numbers are JSON numbers: the web defaults' numbers-in-strings made every integer of the
        // OpenAPI document "integer or string", and the typed web client with it.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Vessel";
            document.Info.Description = "The API of vessel serve: VMs, snapshots, clones, templates, storage, networks, operations and events.";
            return Task.CompletedTask;
        }));
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            ServerOptions options = OptionsFrom(context.Configuration, findVessel: false);
            kestrel.ListenUnixSocket(options.SocketPath);
            NetworkListener.Configure(kestrel, options);
        });

        WebApplication app = builder.Build();
        ServerOptions options = app.Services.GetRequiredService<ServerOptions>();
        PrepareDataDirectory(options);
        if (options.Listen.Any(l => l.Https))
        {
            app.Services.GetRequiredService<ServerCertificates>().Prepare();
        }

        using (IServiceScope scope = app.Services.CreateScope())
        {
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            InventoryDatabase.Prepare(db, options);
            OperationManager.FailInterrupted(db);
            app.Services.GetRequiredService<AccessBootstrap>().EnsureAdministrator(db, options, app.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
            Hosts.HostMonitor.EnsureLocalHost(db, app.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
        }

        NetworkListener.Use(app);
        WebInterface.Use(app);
        // Before the audit middleware: Kestrel tells a WebSocket request apart only once this has
        // run, and the audit records every console and events session opened (or refused).
        app.UseWebSockets();
        app.UseAuditAndLicenseWarning();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        NetworkListener.UseSameOriginWebSockets(app);
        // Inside the audit middleware, which reads the caller this sets once the request is answered.
        app.UseMiddleware<AccessMiddleware>();
        app.MapOpenApi("/api/v1/openapi.json").AllowAnonymous();
        app.MapScalarApiReference("/api/v1/docs", o => o.WithOpenApiRoutePattern("/api/v1/openapi.json").WithTitle("Vessel API")).AllowAnonymous();
        RouteGroupBuilder api = app.MapGroup("/api/v1");
        api.MapGet("/", async (InventoryContext db, StartupTasks.DefaultTemplateStatus status) => new Client.Contracts.ServerInfo(
            typeof(ServerApplication).Assembly.GetName().Version?.ToString(3) ?? "0",
            options.DataDirectory,
            await db.Vms.CountAsync(v => !v.IsTemplate),
            await db.Vms.CountAsync(v => v.State == Client.Contracts.VmStates.Running),
            status.Template,
            status.Message)).WithTags("Host").WithSummary("The host: version, data directory, counts, default template").RequirePrivilege(Privileges.SysAudit);
        AccessEndpoints.Map(api);
        VmEndpoints.Map(api);
        StorageEndpoints.Map(api);
        NetworkEndpoints.Map(api);
        OperationEndpoints.Map(api);
        EventEndpoints.Map(api);
        ConsoleEndpoint.Map(api);
        CertificateEndpoints.Map(api);
        Hosts.HostEndpoints.Map(api);
        MetricsEndpoints.Map(app, api);
        RecordsSetup.MapAuditAndLicense(api);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (File.Exists(options.SocketPath))
            {
                File.SetUnixFileMode(options.SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }
        });
        return app;
    }

    private static ServerOptions OptionsFrom(IConfiguration configuration, bool findVessel = true)
    {
        string dataDirectory = Path.GetFullPath(configuration["Vessel:DataDirectory"] ?? ServerOptions.DefaultDataDirectory());
        (string program, string[] prefix) = findVessel && !EF.IsDesignTime ? ServerOptions.FindVessel(configuration["Vessel:VesselAssembly"]) : ("", []);
        return new ServerOptions
        {
            DataDirectory = dataDirectory,
            VesselProgram = program,
            VesselPrefixArguments = prefix,
            CreateDefaultTemplate = configuration.GetValue("Vessel:DefaultTemplate", true),
            MetricsIntervalSeconds = configuration.GetValue("Vessel:MetricsIntervalSeconds", 5.0),
            AdminPasswordFile = configuration["Vessel:AdminPasswordFile"],
            // Several addresses are separated by ';'. Unset (tests in process, embedders): the Unix socket only.
            Listen = ListenAddress.ParseAll((configuration["Vessel:Listen"] ?? "").Split(';')),
            TlsCertificateFile = FullPathOrNull(configuration["Vessel:TlsCertificate"]),
            TlsKeyFile = FullPathOrNull(configuration["Vessel:TlsKey"]),
            ConsoleTicketLifetime = TimeSpan.FromSeconds(configuration.GetValue("Vessel:ConsoleTicketSeconds", 30.0)),
            VmmPoolSize = findVessel && !EF.IsDesignTime ? configuration.GetValue("Vessel:VmmPool", ServerOptions.DefaultVmmPoolSize) : 0,
            DatabaseUrl = string.IsNullOrEmpty(configuration["Vessel:Database"]) ? null : configuration["Vessel:Database"],
            MigrateDatabaseFrom = FullPathOrNull(configuration["Vessel:MigrateDatabaseFrom"]),
            AgentListen = Hosts.AgentEndpoint.ParseListen(configuration["Vessel:AgentListen"]),
            AgentHeartbeatInterval = TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue("Vessel:AgentHeartbeatSeconds", 5.0), 0.2, 300)),
        };
    }

    private static string? FullPathOrNull(string? path) => string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path);

    /// <summary>Creates the data directory and refuses a second daemon on it; removes a stale socket.</summary>
    private static void PrepareDataDirectory(ServerOptions options)
    {
        try
        {
            Directory.CreateDirectory(options.DataDirectory);
            File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServerStartException($"cannot use the data directory {options.DataDirectory} ({e.Message.TrimEnd('.')}); give another with --data-dir or VESSEL_DATA_DIR");
        }

        if (File.Exists(options.SocketPath))
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(options.SocketPath));
                throw new ServerStartException($"another vessel serve is already running on {options.DataDirectory} (its socket {options.SocketPath} answers)");
            }
            catch (System.Net.Sockets.SocketException)
            {
                File.Delete(options.SocketPath);
            }
        }
    }

    /// <summary>Runs the daemon until SIGTERM or Ctrl-C; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter error, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplication app;
        try
        {
            app = Build(args, configure);
        }
        catch (ServerStartException e)
        {
            error.WriteLine($"vessel: {Sentences.Of(e.Message)}");
            return 1;
        }

        ServerOptions options = app.Services.GetRequiredService<ServerOptions>();
        // Before the listeners start: the administrator exists already, so a failed start must not swallow its only password.
        if (app.Services.GetRequiredService<AccessBootstrap>().OneTimePassword is { } password)
        {
            error.WriteLine($"vessel: created {AccessBootstrap.AdminUser} with the Administrator role; its password, shown this once: {password}");
            error.WriteLine($"vessel: change it with: vessel user passwd {AccessBootstrap.AdminUser}");
        }

        try
        {
            app.Start();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Most often a port in use or an address this host does not have.
            error.WriteLine($"vessel: {Sentences.Of($"cannot listen: {e.Message.TrimEnd('.')}; choose another address or port with --listen")}");
            return 1;
        }

        InventoryConnection inventory = app.Services.GetRequiredService<InventoryConnection>();
        if (inventory.Provider == InventoryProvider.Postgres)
        {
            error.WriteLine($"vessel: the inventory is in the {inventory.Description}{(options.MigrateDatabaseFrom is { } from ? $", copied from {from}" : "")}");
        }

        error.WriteLine($"vessel: serving the API on unix:{options.SocketPath} (data in {options.DataDirectory})");
        IReadOnlyList<string> addresses = NetworkListener.Record(app);
        if (addresses.Count > 0)
        {
            ServerCertificates certificates = app.Services.GetRequiredService<ServerCertificates>();
            foreach (string address in addresses)
            {
                error.WriteLine(address.StartsWith("https://", StringComparison.Ordinal)
                    ? $"vessel: serving the API on {address}"
                    : $"vessel: redirecting {address} to HTTPS");
            }

            // Users compare this with what their client shows before they trust or pin it.
            Client.Contracts.CertificateInfo certificate = certificates.Describe();
            error.WriteLine($"vessel: TLS certificate SHA-256 fingerprint {certificate.FingerprintSha256} ({certificate.Source}, {certificate.Path}, valid until {certificate.NotAfter:yyyy-MM-dd})");
        }

        if (app.Services.GetRequiredService<Hosts.HostRegistry>().AgentEndpointPort is { } agentPort)
        {
            error.WriteLine($"vessel: agents connect on {options.AgentListen!.Host}:{agentPort} (host CA {app.Services.GetRequiredService<Hosts.HostCertificateAuthority>().CertificatePath})");
        }

        app.WaitForShutdown();
        return 0;
    }
}
