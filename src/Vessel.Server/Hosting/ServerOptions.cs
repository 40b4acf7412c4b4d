namespace Vessel.Server.Hosting;

/// <summary>Where the daemon keeps its state and how it starts VMMs.</summary>
public sealed class ServerOptions
{
    /// <summary>The data directory: database, API socket, pools, VM runtime files.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The program that runs <c>vessel</c> (dotnet, or the vessel executable).</summary>
    public required string VesselProgram { get; init; }

    /// <summary>Arguments before the command (<c>vessel.dll</c> when <see cref="VesselProgram"/> is dotnet).</summary>
    public required IReadOnlyList<string> VesselPrefixArguments { get; init; }

    /// <summary>Whether to make the default template from Vessel's guest on first start.</summary>
    public bool CreateDefaultTemplate { get; init; } = true;

    /// <summary>The first start's password for admin@vessel (else one is generated and printed once).</summary>
    public string? AdminPasswordFile { get; init; }

    /// <summary>Seconds between metric samples.</summary>
    public double MetricsIntervalSeconds { get; init; } = 5;

    /// <summary>
    /// The network listeners: <c>https://ADDRESS:PORT</c> serves the API over TLS,
    /// <c>http://ADDRESS:PORT</c> only redirects to the first HTTPS listener. Empty: the Unix
    /// socket only.
    /// </summary>
    public IReadOnlyList<ListenAddress> Listen { get; init; } = [];

    /// <summary>The administrator's certificate and key files (<c>--tls-cert</c>, <c>--tls-key</c>); null: DATA_DIR/tls.</summary>
    public string? TlsCertificateFile { get; init; }

    public string? TlsKeyFile { get; init; }

    /// <summary>
    /// The inventory's PostgreSQL server (<c>--database postgres://USER:PASSWORD@HOST:PORT/DB</c>,
    /// or <c>VESSEL_DATABASE</c>); null: SQLite in the data directory. It holds the password: never print it.
    /// </summary>
    public string? DatabaseUrl { get; init; }

    /// <summary>A SQLite inventory to copy into the empty PostgreSQL one at start (<c>--migrate-database-from</c>).</summary>
    public string? MigrateDatabaseFrom { get; init; }

    /// <summary>
    /// The agent endpoint (<c>--agent-listen ADDRESS:PORT</c>): gRPC on mutual TLS, where host
    /// agents connect. Null: no agents can join.
    /// </summary>
    public ListenAddress? AgentListen { get; init; }

    /// <summary>How often agents send a heartbeat; a host is unreachable after three missed ones.</summary>
    public TimeSpan AgentHeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>VMM processes kept started ahead of need (<c>vessel serve --vmm-pool N</c>; 0: none), so that a VM starts without waiting for one.</summary>
    public int VmmPoolSize { get; init; } = DefaultVmmPoolSize;

    public const int DefaultVmmPoolSize = 2;

    /// <summary>How long a console ticket stays valid.</summary>
    public TimeSpan ConsoleTicketLifetime { get; init; } = TimeSpan.FromSeconds(30);

    public string TlsDirectory => Path.Combine(DataDirectory, "tls");

    public string DatabasePath => Path.Combine(DataDirectory, "vessel.db");

    public string SocketPath => Path.Combine(DataDirectory, SocketFileName);

    public string RunDirectory => Path.Combine(DataDirectory, "run");

    public string DefaultPoolPath => DefaultPoolPathOf(DataDirectory);

    /// <summary>The default pool's directory in a data directory (the daemon's own, or an agent's, whose host pool it is).</summary>
    public static string DefaultPoolPathOf(string dataDirectory) => Path.Combine(dataDirectory, "pools", "default");

    public string StatesDirectory => Path.Combine(DataDirectory, "states");

    public string NetworksDirectory => Path.Combine(DataDirectory, "networks");

    /// <summary>The API socket's name in the data directory, where clients find it.</summary>
    public const string SocketFileName = Vessel.Client.DataDirectory.SocketFileName;

    /// <summary>
    /// The default data directory: <c>VESSEL_DATA_DIR</c>, else <c>/var/lib/vessel</c> as root,
    /// else <c>$XDG_DATA_HOME/vessel</c> (<c>~/.local/share/vessel</c>).
    /// </summary>
    public static string DefaultDataDirectory() => Vessel.Client.DataDirectory.Resolve(null);

    /// <summary>
    /// Runs VMMs as this process was run: <c>dotnet vessel.dll</c> when hosted by dotnet, the
    /// vessel executable otherwise; <paramref name="vesselAssembly"/> overrides the assembly.
    /// </summary>
    public static (string Program, string[] Prefix) FindVessel(string? vesselAssembly = null)
    {
        string assembly = vesselAssembly ?? Path.Combine(AppContext.BaseDirectory, "vessel.dll");
        if (!File.Exists(assembly))
        {
            throw new ServerStartException($"cannot find the vessel program ({assembly}) that runs the VMs; build the CLI (./vessel) and run the daemon from it");
        }

        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? host
            : "dotnet";
        return (dotnet, [assembly]);
    }
}

/// <summary>The daemon cannot start; the message is one sentence for the user.</summary>
public sealed class ServerStartException(string message) : Exception(message);
