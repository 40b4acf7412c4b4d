using System.Diagnostics;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>
/// A private network namespace for a test (iproute2's <c>ip netns</c>), deleted at dispose.
/// <see cref="TryCreate"/> says why when this process may not make one (no root or
/// CAP_NET_ADMIN, no iproute2), so the test can skip with that reason.
/// </summary>
public sealed class NetNamespace : IDisposable
{
    private NetNamespace(string name) => Name = name;

    public string Name { get; }

    public static NetNamespace? TryCreate(out string reason)
    {
        string name = "vessel-t" + Guid.NewGuid().ToString("N")[..8];
        (int code, string output) = Run("ip", $"netns add {name}");
        if (code != 0)
        {
            reason = $"cannot create a network namespace (needs root/CAP_NET_ADMIN and iproute2): {output.Trim()}";
            return null;
        }

        reason = string.Empty;
        var ns = new NetNamespace(name);
        ns.Ip("link set lo up");
        return ns;
    }

    /// <summary>Runs <c>ip -n NAME ARGS</c> and fails the test when it fails.</summary>
    public string Ip(string arguments)
    {
        (int code, string output) = Run("ip", $"-n {Name} {arguments}");
        Assert.True(code == 0, $"ip -n {Name} {arguments}: {output}");
        return output;
    }

    /// <summary>Runs a program inside the namespace.</summary>
    public (int Code, string Output) Exec(string command, string arguments, int timeoutMs = 30000) =>
        Run("ip", $"netns exec {Name} {command} {arguments}", timeoutMs);

    /// <summary>Starts a long-running program inside the namespace (killed by the caller).</summary>
    public Process Start(string command, string arguments)
    {
        var info = new ProcessStartInfo("ip", $"netns exec {Name} {command} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return Process.Start(info)!;
    }

    public static (int Code, string Output) Run(string file, string arguments, int timeoutMs = 30000)
    {
        try
        {
            var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process process = Process.Start(info)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeoutMs))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{file} {arguments} timed out");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file}: {e.Message}");
        }
    }

    public void Dispose() => Run("ip", $"netns del {Name}");
}
