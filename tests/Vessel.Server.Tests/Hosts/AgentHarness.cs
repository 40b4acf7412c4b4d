using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// A manager for the host tests: a real <c>vessel serve</c> with its HTTPS listener on a port the
/// system chose and its agent endpoint on a free loopback port fixed for its life (a restarted
/// manager comes back on the same one, where its agents look for it), heartbeats every second.
/// </summary>
public sealed class Manager : IDisposable
{
    public const double HeartbeatSeconds = 1;

    private readonly string[] _arguments;
    private readonly IReadOnlyList<string> _prefix;
    private readonly string _address;

    private Manager(IReadOnlyList<string> prefix, string address, string dataDirectory, int agentPort, ServeProcess serve, Uri https, string[] arguments)
    {
        _prefix = prefix;
        _address = address;
        _arguments = arguments;
        DataDirectory = dataDirectory;
        AgentPort = agentPort;
        Serve = serve;
        Https = https;
    }

    public string DataDirectory { get; }

    public int AgentPort { get; }

    public ServeProcess Serve { get; private set; }

    /// <summary>The HTTPS listener agents join through.</summary>
    public Uri Https { get; private set; }

    /// <summary>Starts the manager with <paramref name="arguments"/> added (<c>--database URL</c>).</summary>
    public static Task<Manager> StartAsync(string dataDirectory, params string[] arguments) =>
        StartOnAsync([], "127.0.0.1", FreePort(), dataDirectory, arguments);

    /// <summary>Starts the manager behind <paramref name="prefix"/> (<c>ip netns exec NS</c>), listening on <paramref name="address"/>.</summary>
    public static async Task<Manager> StartOnAsync(IReadOnlyList<string> prefix, string address, int agentPort, string dataDirectory, params string[] arguments)
    {
        (ServeProcess serve, Uri https) = await StartServeAsync(prefix, address, dataDirectory, agentPort, arguments);
        return new Manager(prefix, address, dataDirectory, agentPort, serve, https, arguments);
    }

    private static async Task<(ServeProcess, Uri)> StartServeAsync(IReadOnlyList<string> prefix, string address, string dataDirectory, int agentPort, string[] arguments)
    {
        ServeProcess serve = await ServeProcess.StartInAsync(prefix, dataDirectory,
            // No standby VMMs: the machine is shared.
            ["--vmm-pool", "0", "--listen", $"https://{address}:0", "--agent-listen", $"{address}:{agentPort}",
            "--agent-heartbeat-seconds", HeartbeatSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        try
        {
            string https = await serve.WaitForLineAsync("vessel: serving the API on https://");
            await serve.WaitForLineAsync("vessel: agents connect on ");
            return (serve, new Uri($"https://{https}"));
        }
        catch
        {
            serve.Dispose();
            throw;
        }
    }

    /// <summary>Kills the manager (SIGKILL) and starts it again on the same data directory and agent port.</summary>
    public async Task RestartAsync()
    {
        Serve.KillHard();
        Serve.Dispose();
        (Serve, Https) = await StartServeAsync(_prefix, _address, DataDirectory, AgentPort, _arguments);
    }

    public Task<HostCreated> AddHostAsync(string name, int? tokenLifetimeSeconds = null) =>
        Serve.Client.AddHostAsync(new HostCreateRequest(name, tokenLifetimeSeconds));

    public Task<HostInfo> HostAsync(string name) => Serve.Client.GetHostAsync(name);

    /// <summary>Waits until the host is in <paramref name="state"/> (the wait is bounded; its length is not what is tested).</summary>
    public async Task<HostInfo> WaitForStateAsync(string name, string state, AgentProcess? agent = null)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            HostInfo host = await HostAsync(name);
            if (host.State == state)
            {
                return host;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"host {name} stayed {host.State}, not {state}\nagent:\n{agent?.Log}\nmanager:\n{Serve.Log}");
            }

            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose() => Serve.Dispose();
}

/// <summary>A real <c>vessel agent</c> process with its own data directory; its stderr is kept.</summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private AgentProcess(string dataDirectory, Process process)
    {
        DataDirectory = dataDirectory;
        _process = process;
    }

    public string DataDirectory { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>vessel agent --data-dir DIR</c> with <paramref name="arguments"/> (<c>--join URL --token T</c> to join).</summary>
    public static AgentProcess Start(string dataDirectory, params string[] arguments) => StartIn([], dataDirectory, arguments);

    /// <summary>Starts the agent behind <paramref name="prefix"/> (<c>ip netns exec NS</c>: on a test host).</summary>
    public static AgentProcess StartIn(IReadOnlyList<string> prefix, string dataDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        IEnumerable<string> program = prefix.Count > 0 ? [.. prefix.Skip(1), "dotnet"] : [];
        foreach (string argument in program.Concat([TestFiles.VesselAssembly, "agent", "--data-dir", dataDirectory]).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        // A manager that is away is tried again soon: its restart is what the tests wait for.
        start.Environment["VESSEL_AGENT_RETRY_MAX_SECONDS"] = "2";
        var agent = new AgentProcess(dataDirectory, Process.Start(start)!);
        agent._process.StandardInput.Close();
        agent._process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Joins: starts the agent with the manager's URL and the token.</summary>
    public static AgentProcess Join(string dataDirectory, Manager manager, string token) =>
        Start(dataDirectory, "--join", manager.Https.ToString(), "--token", token);

    /// <summary>Waits for the agent to end (it must, within minutes) and returns its exit code and the last line it printed.</summary>
    public async Task<(int ExitCode, string LastLine)> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"vessel agent did not end:\n{Log}");
        }

        // The asynchronous readers may still hold the last lines: WaitForExit() without a timeout drains them.
        _process.WaitForExit();
        string[] lines = Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (_process.ExitCode, lines.Length > 0 ? lines[^1] : "");
    }

    /// <summary>How many lines the agent printed that start with <paramref name="prefix"/>.</summary>
    public int CountLines(string prefix) => Log.Split('\n').Count(l => l.TrimEnd('\r').StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Waits until the agent has printed <paramref name="count"/> lines starting with <paramref name="prefix"/>.</summary>
    public async Task WaitForLinesAsync(string prefix, int count = 1)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (CountLines(prefix) < count)
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new InvalidOperationException($"vessel agent did not print '{prefix}' {count} times:\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    /// <summary>Kills the agent (SIGKILL: it has no chance to say goodbye) and waits until it is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
