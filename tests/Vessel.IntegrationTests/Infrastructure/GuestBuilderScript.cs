using System.Diagnostics;
using System.Runtime.Versioning;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>Runs the default guest's builder (<c>tools/guest/build-guest</c>) and its copies with bash.</summary>
[SupportedOSPlatform("linux")] // The builder is a bash script for Debian.
public static class GuestBuilderScript
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs <c>bash ARGUMENTS</c> to its end with <c>XDG_CACHE_HOME</c> set to
    /// <paramref name="cacheHome"/> when given, and the variables of <paramref name="environment"/>.
    /// </summary>
    public static (int ExitCode, string Output, string Error) Run(
        string[] arguments, string? cacheHome, IReadOnlyDictionary<string, string>? environment = null)
    {
        using Process process = Start(arguments, cacheHome, environment);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"bash {string.Join(' ', arguments)} did not finish in {s_timeout}");
        }

        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts <c>bash ARGUMENTS</c> with stdout and stderr redirected, stdin closed.</summary>
    public static Process Start(string[] arguments, string? cacheHome, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (cacheHome is not null)
        {
            startInfo.Environment["XDG_CACHE_HOME"] = cacheHome;
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        Process process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        return process;
    }

    /// <summary>The cache folder the builder at <paramref name="script"/> names for its current inputs.</summary>
    public static string CacheDirectory(string script, string cacheHome)
    {
        (int exitCode, string output, string error) = Run([script, "--print-cache-dir"], cacheHome);
        Assert.True(exitCode == 0, error);
        return output.Trim();
    }

    /// <summary>
    /// Copies the builder's folder (script, fragment, overlay, lib) to <paramref name="destination"/>,
    /// modes included, so that a test can change its files; returns the copy's script.
    /// </summary>
    public static string CopyTo(string builder, string destination)
    {
        string source = Path.GetDirectoryName(builder)!;
        Directory.CreateDirectory(destination);
        foreach (string directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, directory)));
        }

        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(destination, Path.GetRelativePath(source, file));
            File.Copy(file, target);
            File.SetUnixFileMode(target, File.GetUnixFileMode(file));
        }

        return Path.Combine(destination, Path.GetFileName(builder));
    }

    /// <summary>Lays out a complete cache entry (the four files the builder checks) in <paramref name="entry"/>.</summary>
    public static void LayOutEntry(string entry)
    {
        Directory.CreateDirectory(entry);
        foreach (string name in new[] { "Image", "initrd.gz", "rootfs.ext4", "manifest" })
        {
            File.WriteAllText(Path.Combine(entry, name), name);
        }
    }

    /// <summary>The three paths <c>--check</c> and a build print for <paramref name="entry"/>.</summary>
    public static string PathsOf(string entry) =>
        string.Join('\n', new[] { "Image", "initrd.gz", "rootfs.ext4" }.Select(name => Path.Combine(entry, name))) + "\n";
}
