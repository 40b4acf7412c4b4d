using System.Diagnostics;
using System.Globalization;
using Vessel.Server.Hosting;
using Vessel.Server.Operations;

namespace Vessel.Server.Vmm;

/// <summary>Where one VM's VMM keeps its sockets and pidfile: <c>DATA/run/ID/</c>.</summary>
public sealed record VmmPaths(string Directory)
{
    public static VmmPaths For(ServerOptions options, Guid vmId) => new(Path.Combine(options.RunDirectory, vmId.ToString("N")));

    public string Qmp => Path.Combine(Directory, "qmp.sock");

    public string Console => Path.Combine(Directory, "console.sock");

    /// <summary>The VNC server of a VM with a display: a Unix socket only (mode 0600), never a port on the network.</summary>
    public string Vnc => Path.Combine(Directory, "vnc.sock");

    public string PidFile => Path.Combine(Directory, "vmm.pid");
}

/// <summary>What to start: the <c>vessel run</c> options that define the machine, and how it begins.</summary>
public sealed record VmmLaunchSpec(Guid VmId, string Name, IReadOnlyList<string> MachineArguments)
{
    /// <summary>Restore this state (<c>--incoming</c>) instead of booting.</summary>
    public string? Incoming { get; init; }

    /// <summary>Start with the guest stopped (<c>-S</c>).</summary>
    public bool Paused { get; init; }

    /// <summary>Give the VM a screen, a keyboard and a tablet, served by VNC on <see cref="VmmPaths.Vnc"/>.</summary>
    public bool Display { get; init; }
}

/// <summary>
/// Starts a VMM as <c>vessel run … --qmp … --serial … [--display vnc=unix:…] --daemonize --pidfile … --name …</c>: the
/// command returns once the VM is up (or with the reason it could not start), and the VMM lives
/// on in a session of its own, independent of the daemon.
/// </summary>
public static class VmmLauncher
{
    public static async Task<int> LaunchAsync(ServerOptions options, VmmLaunchSpec spec, CancellationToken cancellationToken)
    {
        VmmPaths paths = VmmPaths.For(options, spec.VmId);
        PrepareDirectory(paths);
        await StartDetachedAsync(options, [.. RunArguments(spec, paths), "--qmp", $"unix:{paths.Qmp},server=on,wait=off"], paths.Directory, cancellationToken);
        return ReadPid(paths.PidFile) ?? throw new OperationFailedException($"The VMM started but wrote no pidfile at {paths.PidFile}.");
    }

    /// <summary>
    /// Runs <c>vessel run ARGUMENTS --daemonize</c> in <paramref name="workingDirectory"/> and
    /// waits until the VMM is up and detached (or throws with the sentence it ended with).
    /// </summary>
    public static async Task StartDetachedAsync(ServerOptions options, IEnumerable<string> runArguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.VesselProgram)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string argument in options.VesselPrefixArguments.Append("run").Concat(runArguments).Append("--daemonize"))
        {
            start.ArgumentList.Add(argument);
        }

        // The VMM must not inherit the daemon's environment quirks that change the guest.
        start.Environment.Remove("VESSEL_DAEMON_CHILD");
        using Process process = Process.Start(start) ?? throw new OperationFailedException("The VMM process could not be started.");
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        string errorText = await error;
        await output;
        if (process.ExitCode != 0)
        {
            string reason = errorText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault(l => l.StartsWith("vessel: ", StringComparison.Ordinal))?["vessel: ".Length..]
                ?? $"vessel run exited with code {process.ExitCode}";
            throw new OperationFailedException($"The VMM did not start: {reason}");
        }
    }

    /// <summary>
    /// The <c>vessel run</c> options of <paramref name="spec"/>'s machine in its runtime directory:
    /// everything but how the process is reached (<c>--qmp</c>) and detached (<c>--daemonize</c>),
    /// which a pooled VMM (<see cref="VmmPool"/>) already has.
    /// </summary>
    public static List<string> RunArguments(VmmLaunchSpec spec, VmmPaths paths)
    {
        List<string> arguments = [.. spec.MachineArguments, "--name", spec.Name, "--serial", $"unix:{paths.Console}"];
        if (spec.Display)
        {
            arguments.AddRange(["--display", $"vnc=unix:{paths.Vnc}"]);
        }

        arguments.AddRange(["--pidfile", paths.PidFile]);
        if (spec.Incoming is not null)
        {
            arguments.AddRange(["--incoming", spec.Incoming]);
        }

        if (spec.Paused)
        {
            arguments.Add("-S");
        }

        return arguments;
    }

    /// <summary>Makes the VM's runtime directory (mode 0700: its sockets are reached through the daemon only), without the sockets of an earlier run.</summary>
    public static void PrepareDirectory(VmmPaths paths)
    {
        System.IO.Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (string stale in new[] { paths.Qmp, paths.Console, paths.Vnc })
        {
            File.Delete(stale);
        }
    }

    public static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? WorkingDirectory(int pid)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Ends (SIGKILL) the VMM <paramref name="pid"/> if it is still the live VMM of <paramref name="paths"/>, and waits a moment for it to go.</summary>
    public static void KillIfAlive(int pid, VmmPaths paths)
    {
        if (!IsVmmAlive(pid, paths))
        {
            return;
        }

        try
        {
            using Process process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // It ended meanwhile.
        }
    }

    /// <summary>Whether <paramref name="pid"/> is a live VMM of the VM whose runtime directory is <paramref name="paths"/> (not a reused pid).</summary>
    public static bool IsVmmAlive(int pid, VmmPaths paths)
    {
        try
        {
            string cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            bool zombie = close > 0 && close + 2 < stat.Length && stat[close + 2] == 'Z';
            // A VMM started with its machine names its directory on its command line; one taken
            // from the pool (VmmPool) was started in a directory since renamed to the VM's, and
            // the kernel shows its working directory under that new name.
            return !zombie && (cmdline.Contains(paths.Directory, StringComparison.Ordinal) || WorkingDirectory(pid) == paths.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
