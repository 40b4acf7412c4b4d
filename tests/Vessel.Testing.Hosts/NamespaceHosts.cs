using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Vessel.Testing.Hosts;

/// <summary>
/// N hosts for a test, each a network namespace of its own, joined by veth pairs to a bridge
/// that lives in a further namespace (never in the root one), as machines on one switch:
/// <code>
///   vessel-hosts-PID-ID-h1 (eth0 10.a.b.11) ─┐
///   vessel-hosts-PID-ID-h2 (eth0 10.a.b.12) ─┼─ bridge br0 in vessel-hosts-PID-ID-br
///   ...                                     ─┘
/// </code>
/// Names carry the process id and a random id, so parallel runs never collide, and the /24 is
/// drawn at random per run. A host's loopback is up and its own: nothing of the root namespace
/// (its 127.0.0.1 included) is reachable from a host. Programs run inside a host through
/// <see cref="Start"/> / <see cref="Run"/> (<c>ip netns exec</c>); sockets of this process are
/// made inside one with <see cref="NamespaceHost.Enter{T}"/>. <see cref="Dispose"/> kills every
/// process in the namespaces and deletes them (their interfaces go with them); namespaces that a
/// crashed run left behind (its process gone) are deleted by the next run.
/// </summary>
public sealed class NamespaceHosts : IDisposable
{
    /// <summary>The start of every namespace name this class makes.</summary>
    public const string NamePrefix = "vessel-hosts-";

    private static readonly Lazy<string?> s_unavailableReason = new(Probe);

    private readonly List<NamespaceHost> _hosts = [];
    private readonly List<Process> _started = [];
    private readonly object _gate = new();
    private bool _disposed;

    /// <summary>Creates <paramref name="count"/> hosts on one bridge.</summary>
    /// <exception cref="InvalidOperationException">An <c>ip</c> command failed (its message says which).</exception>
    public NamespaceHosts(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 200);
        RemoveLeftovers();
        RunId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        Prefix = $"{NamePrefix}{Environment.ProcessId}-{RunId}";
        byte[] subnet = RandomNumberGenerator.GetBytes(2);
        Network = new IPAddress([10, subnet[0], subnet[1], 0]);
        BridgeNamespace = $"{Prefix}-br";
        BridgeName = $"vb{RunId}";
        AppDomain.CurrentDomain.ProcessExit += DisposeOnExit;
        try
        {
            Ip("netns", "add", BridgeNamespace);
            IpIn(BridgeNamespace, "link", "set", "lo", "up");
            IpIn(BridgeNamespace, "link", "add", BridgeName, "type", "bridge");
            IpIn(BridgeNamespace, "link", "set", BridgeName, "up");
            for (int i = 1; i <= count; i++)
            {
                var host = new NamespaceHost(this, i, $"{Prefix}-h{i}", new IPAddress([10, subnet[0], subnet[1], (byte)(10 + i)]), $"vh{RunId}-{i}");
                _hosts.Add(host);
                Ip("netns", "add", host.Namespace);
                IpIn(host.Namespace, "link", "set", "lo", "up");
                Ip("link", "add", NamespaceHost.InterfaceName, "netns", host.Namespace, "type", "veth", "peer", "name", host.BridgePort, "netns", BridgeNamespace);
                IpIn(BridgeNamespace, "link", "set", host.BridgePort, "master", BridgeName);
                IpIn(BridgeNamespace, "link", "set", host.BridgePort, "up");
                IpIn(host.Namespace, "address", "add", $"{host.Address}/24", "dev", NamespaceHost.InterfaceName);
                IpIn(host.Namespace, "link", "set", NamespaceHost.InterfaceName, "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Null when namespaces can be made here, else why not (tests skip with it).</summary>
    public static string? UnavailableReason => s_unavailableReason.Value;

    /// <summary>Random per run: part of every name.</summary>
    public string RunId { get; }

    /// <summary>The start of this run's namespace names.</summary>
    public string Prefix { get; }

    /// <summary>The run's /24 (its first address).</summary>
    public IPAddress Network { get; }

    /// <summary>The namespace that holds the bridge.</summary>
    public string BridgeNamespace { get; }

    /// <summary>The bridge's name in <see cref="BridgeNamespace"/>.</summary>
    public string BridgeName { get; }

    public IReadOnlyList<NamespaceHost> Hosts => _hosts;

    public NamespaceHost this[int index] => _hosts[index];

    /// <summary>Every namespace of the run, the bridge's first.</summary>
    public IEnumerable<string> Namespaces => [BridgeNamespace, .. _hosts.Select(h => h.Namespace)];

    /// <summary>Every interface name of the run outside the hosts' own (bridge and its ports).</summary>
    public IEnumerable<string> InterfaceNames => [BridgeName, .. _hosts.Select(h => h.BridgePort)];

    /// <summary>
    /// Starts <paramref name="program"/> inside <paramref name="host"/> with its output on pipes;
    /// it is killed at <see cref="Dispose"/> if still running.
    /// </summary>
    public Process Start(NamespaceHost host, string program, params IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["netns", "exec", host.Namespace, program, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program} in {host.Namespace}");
        lock (_gate)
        {
            _started.Add(process);
        }

        return process;
    }

    /// <summary>Runs <paramref name="program"/> inside <paramref name="host"/> to its end and returns its output.</summary>
    /// <exception cref="InvalidOperationException">It exited with a non-zero code (its output in the message).</exception>
    public string Run(NamespaceHost host, string program, params IEnumerable<string> arguments) =>
        Execute("ip", ["netns", "exec", host.Namespace, program, .. arguments]);

    /// <summary>The arguments that run a program inside <paramref name="host"/> (for a caller that starts it itself).</summary>
    public static IReadOnlyList<string> ExecPrefix(NamespaceHost host) => ["ip", "netns", "exec", host.Namespace];

    /// <summary>Namespace names that exist now (<c>ip netns list</c>).</summary>
    public static IReadOnlyList<string> ListNamespaces() =>
        [.. Execute("ip", ["netns", "list"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')[0])];

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        AppDomain.CurrentDomain.ProcessExit -= DisposeOnExit;
        foreach (Process process in _started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        HashSet<string> existing = [.. ListNamespaces()];
        foreach (string name in Namespaces.Reverse().Where(existing.Contains))
        {
            Remove(name);
        }
    }

    internal static string IpIn(string namespaceName, params IEnumerable<string> arguments) =>
        Execute("ip", ["netns", "exec", namespaceName, "ip", .. arguments]);

    private static string Ip(params IEnumerable<string> arguments) => Execute("ip", arguments);

    /// <summary>
    /// Kills whatever still runs in <paramref name="name"/> (processes a test started by other
    /// means too) and deletes it; deleting a namespace destroys its veth ends and its bridge.
    /// </summary>
    private static void Remove(string name)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            string[] pids;
            try
            {
                pids = Execute("ip", ["netns", "pids", name]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (InvalidOperationException)
            {
                break;
            }

            if (pids.Length == 0)
            {
                break;
            }

            foreach (string pid in pids)
            {
                try
                {
                    using Process process = Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture));
                    process.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or System.ComponentModel.Win32Exception)
                {
                }
            }

            Thread.Sleep(20);
        }

        try
        {
            Execute("ip", ["netns", "delete", name]);
        }
        catch (InvalidOperationException)
        {
            // Gone already, or a teardown on the way out; the next run sweeps it.
        }
    }

    /// <summary>Deletes namespaces of runs whose process no longer exists (a crash, a killed test host).</summary>
    private static void RemoveLeftovers()
    {
        foreach (string name in ListNamespaces().Where(n => n.StartsWith(NamePrefix, StringComparison.Ordinal)))
        {
            string[] parts = name[NamePrefix.Length..].Split('-');
            if (parts.Length >= 1 && int.TryParse(parts[0], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                Remove(name);
            }
        }
    }

    private static string Execute(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{program} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {error.Result.Trim()}");
    }

    /// <summary>Tries what the harness needs: root, <c>ip</c>, and a namespace made and deleted.</summary>
    private static string? Probe()
    {
        if (Environment.UserName != "root" && !File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t", StringComparison.Ordinal))
        {
            return "network namespaces as hosts need root (ip netns add), and the tests do not run as root";
        }

        string probe = $"{NamePrefix}{Environment.ProcessId}-probe";
        try
        {
            Execute("ip", ["netns", "add", probe]);
            Execute("ip", ["netns", "exec", probe, "ip", "link", "add", "vprobe", "type", "bridge"]);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"network namespaces cannot be made here: {e.Message}";
        }
        finally
        {
            if (ListNamespacesOrNone().Contains(probe))
            {
                Remove(probe);
            }
        }
    }

    private static IReadOnlyList<string> ListNamespacesOrNone()
    {
        try
        {
            return ListNamespaces();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return [];
        }
    }

    private void DisposeOnExit(object? sender, EventArgs e) => Dispose();
}
