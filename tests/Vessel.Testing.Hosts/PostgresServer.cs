using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;
using Xunit;

namespace Vessel.Testing.Hosts;

/// <summary>
/// A PostgreSQL server of its own for tests, from Debian's packages (<c>postgresql</c>, which
/// <c>scripts/setup</c> installs): <c>initdb</c> in a temporary directory, <c>pg_ctl</c> on a free
/// port of 127.0.0.1 only (no Unix socket outside that directory), password authentication with a
/// random password, run as an unprivileged user (PostgreSQL refuses root: as root the server runs
/// as <c>nobody</c> through <c>runuser</c>). <see cref="CreateDatabase"/> gives each user of it a
/// fresh database. Disposing it stops the server at once and removes the directory; a process
/// that exits without disposing it stops it too. Reusable by developers: <c>new PostgresServer()</c>.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string User = "vessel";

    private readonly string _directory;
    private readonly string _binaries;
    private readonly string? _runAs;
    private int _databases;
    private bool _stopped;

    public PostgresServer()
    {
        _binaries = FindBinaries() ?? throw new InvalidOperationException(UnavailableReason);
        _runAs = IsRoot() ? "nobody" : null;
        _directory = Path.Combine(Path.GetTempPath(), $"vessel-pg-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(_directory);
        Password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        try
        {
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }

        AppDomain.CurrentDomain.ProcessExit += StopOnExit;
    }

    /// <summary>Null when a server can be started here, else why not (the tests that need one skip with it).</summary>
    public static string? UnavailableReason => FindBinaries() is null
        ? "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin; scripts/setup installs Debian's postgresql)"
        : IsRoot() && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser")
            ? "the tests run as root and runuser is missing, so PostgreSQL (which refuses root) cannot be run as another user"
            : null;

    public int Port { get; private set; }

    /// <summary>The superuser <see cref="User"/>'s password (random per server).</summary>
    public string Password { get; }

    /// <summary>The server's log (initdb's and the server's), for a failing test's message.</summary>
    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    private string DataDirectory => Path.Combine(_directory, "data");

    private string LogFile => Path.Combine(_directory, "server.log");

    /// <summary>Makes a new empty database and returns its <c>postgres://</c> URL.</summary>
    public string CreateDatabase()
    {
        string name = $"vessel_test_{Interlocked.Increment(ref _databases)}";
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        command.ExecuteNonQuery();
        return UrlOf(name);
    }

    public string UrlOf(string database) => $"postgres://{User}:{Password}@127.0.0.1:{Port}/{database}";

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Password = Password, Database = database, Pooling = false }.ConnectionString;

    private void Start()
    {
        string passwordFile = Path.Combine(_directory, "password");
        File.WriteAllText(passwordFile, Password);
        Directory.CreateDirectory(DataDirectory);
        if (_runAs is not null)
        {
            // The server's user owns its data directory (its socket goes there too) and its log;
            // the parent stays root's, open to reach them.
            File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Create(LogFile).Dispose();
            Run("chown", [_runAs, DataDirectory, passwordFile, LogFile], asServer: false);
        }

        Run(Path.Combine(_binaries, "initdb"), ["-D", DataDirectory, "-U", User, "--pwfile", passwordFile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"], asServer: true);
        File.Delete(passwordFile);
        // A port that was free a moment ago may be taken by the time the server binds it: try a few.
        for (int attempt = 1; ; attempt++)
        {
            Port = FreePort();
            string settings = $"-c listen_addresses=127.0.0.1 -p {Port} -k {DataDirectory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
            try
            {
                Run(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", settings, "start"], asServer: true);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && Log.Contains("could not bind", StringComparison.Ordinal))
            {
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Run(string program, IReadOnlyList<string> arguments, bool asServer)
    {
        var start = new ProcessStartInfo(asServer && _runAs is not null ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        if (asServer && _runAs is not null)
        {
            foreach (string argument in new[] { "-u", _runAs, "--", program })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed ({process.ExitCode}): {output.Result}{error.Result}\n{Log}");
        }
    }

    private static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out int version) ? version : 0)
                .FirstOrDefault()
            : null;

    private static bool IsRoot() => File.ReadAllLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";

    private void StopOnExit(object? sender, EventArgs e) => Dispose();

    public void Dispose()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        AppDomain.CurrentDomain.ProcessExit -= StopOnExit;
        NpgsqlConnection.ClearAllPools();
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                // Immediate: the data is thrown away anyway.
                Run(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], asServer: true);
            }
            catch (InvalidOperationException)
            {
                KillPostmaster();
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>When pg_ctl cannot stop it: the postmaster's pid is the pid file's first line.</summary>
    private void KillPostmaster()
    {
        try
        {
            string first = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First();
            using Process postmaster = Process.GetProcessById(int.Parse(first, System.Globalization.CultureInfo.InvariantCulture));
            postmaster.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or InvalidOperationException)
        {
        }
    }
}

/// <summary>
/// One PostgreSQL server per test class (<c>IClassFixture&lt;PostgresFixture&gt;</c>), or the
/// reason it cannot run here, for <c>Skip.If</c>.
/// </summary>
public sealed class PostgresFixture : IDisposable
{
    private readonly Lazy<PostgresServer> _server = new(() => new PostgresServer());

    /// <summary>Started on first use, so that a class whose tests all skip starts nothing.</summary>
    public PostgresServer Server => _server.Value;

    public static string? UnavailableReason => PostgresServer.UnavailableReason;

    /// <summary>Skips the calling test when no server can run here; otherwise a fresh database's URL.</summary>
    public string NewDatabase()
    {
        Skip.If(UnavailableReason is not null, UnavailableReason);
        return Server.CreateDatabase();
    }

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }
    }
}
