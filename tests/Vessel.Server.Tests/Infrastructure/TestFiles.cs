using System.Diagnostics;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>Where the tests find the vessel CLI and the reference guest (<c>../shared/guest</c>).</summary>
public static class TestFiles
{
    private static readonly Lazy<string> s_repositoryRoot = new(() =>
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Vessel.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Vessel.sln above {AppContext.BaseDirectory}.");
    });

    private static readonly Lazy<string> s_rootFs = new(DecompressRootFs);

    public static string RepositoryRoot => s_repositoryRoot.Value;

    public static string VesselAssembly => Path.Combine(AppContext.BaseDirectory, "vessel.dll");

    public static string GuestDirectory => Path.GetFullPath(Path.Combine(s_repositoryRoot.Value, "..", "shared", "guest"));

    public static string Kernel => Path.Combine(GuestDirectory, "Image");

    public static string Initrd => Path.Combine(GuestDirectory, "initrd.gz");

    public const string CommandLine = "console=ttyS0 panic=-1 quiet";

    public const string Prompt = "/ # ";

    /// <summary>The reference root file system (ext4), decompressed once per test run.</summary>
    public static string RootFs => s_rootFs.Value;

    private static string DecompressRootFs()
    {
        string target = Path.Combine(Path.GetTempPath(), $"vessel-server-tests-rootfs-{Environment.ProcessId}.ext4");
        using var process = Process.Start(new ProcessStartInfo("xz", ["-dkc", Path.Combine(GuestDirectory, "rootfs.ext4.xz")]) { RedirectStandardOutput = true })!;
        using (FileStream file = File.Create(target))
        {
            process.StandardOutput.BaseStream.CopyTo(file);
        }

        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(target);
        return target;
    }
}

/// <summary>Ends the VMMs a test's daemon started (found by their pidfiles in its data directory).</summary>
public static class VmmProcesses
{
    /// <summary>The VM's live VMM process in <paramref name="dataDirectory"/> (a daemon's or an agent's), by its pidfile, as the daemon itself judges it; null when none runs.</summary>
    public static int? LiveIn(string dataDirectory, Guid vmId)
    {
        var paths = new Vessel.Server.Vmm.VmmPaths(Path.Combine(dataDirectory, "run", vmId.ToString("N")));
        return Vessel.Server.Vmm.VmmLauncher.ReadPid(paths.PidFile) is { } pid && Vessel.Server.Vmm.VmmLauncher.IsVmmAlive(pid, paths) ? pid : null;
    }

    public static void KillAll(string dataDirectory)
    {
        string run = Path.Combine(dataDirectory, "run");
        if (!Directory.Exists(run))
        {
            return;
        }

        foreach (string pidFile in Directory.EnumerateFiles(run, "vmm.pid", SearchOption.AllDirectories))
        {
            try
            {
                int pid = int.Parse(File.ReadAllText(pidFile).Trim());
                if (File.ReadAllText($"/proc/{pid}/cmdline").Contains(dataDirectory, StringComparison.Ordinal))
                {
                    using Process process = Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit(10_000);
                }
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }

        string networks = Path.Combine(dataDirectory, "networks");
        if (Directory.Exists(networks))
        {
            foreach (string pidFile in Directory.EnumerateFiles(networks, "switch.pid", SearchOption.AllDirectories))
            {
                try
                {
                    using Process process = Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim()));
                    process.Kill();
                }
                catch (Exception e) when (e is IOException or FormatException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }
        }
    }
}
