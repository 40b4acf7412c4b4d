using System.Diagnostics;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// Vessel's default guest (Debian's kernel with a screen, keyboard and tablet driver, BusyBox),
/// which the reference guest in <c>../shared/guest</c> is not: it has no virtio-gpu. Found as
/// <c>VESSEL_TEST_DEFAULT_GUEST</c> names it, or as the build that <c>tools/guest/build-guest
/// --check</c> finds cached for this checkout; never built here (that takes many minutes).
/// </summary>
public static class DefaultGuestFiles
{
    public const string Missing = "needs the default guest built for this checkout (./vessel run builds it once), or VESSEL_TEST_DEFAULT_GUEST=DIR naming a build";

    /// <summary>Boots the initramfs with shells on the serial line and on the screen's tty1.</summary>
    public const string CommandLine = "console=ttyS0 panic=-1 quiet";

    private static readonly Lazy<(string Kernel, string Initrd)?> s_found = new(FindOnce);

    /// <summary>The kernel and initramfs, or null when there is no build to use.</summary>
    public static (string Kernel, string Initrd)? Find() => s_found.Value;

    private static (string Kernel, string Initrd)? FindOnce()
    {
        if (Environment.GetEnvironmentVariable("VESSEL_TEST_DEFAULT_GUEST") is { Length: > 0 } directory)
        {
            return (Path.Combine(directory, "Image"), Path.Combine(directory, "initrd.gz"));
        }

        string? builder = null;
        for (DirectoryInfo? at = new(AppContext.BaseDirectory); at is not null && builder is null; at = at.Parent)
        {
            string candidate = Path.Combine(at.FullName, "tools", "guest", "build-guest");
            builder = File.Exists(candidate) ? candidate : null;
        }

        if (builder is null)
        {
            return null;
        }

        using Process check = Process.Start(new ProcessStartInfo("bash", [builder, "--check"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        Task<string> error = check.StandardError.ReadToEndAsync();
        string output = check.StandardOutput.ReadToEnd();
        check.WaitForExit();
        _ = error.Result;
        // The builder names the kernel, the initramfs and the root disk, one a line.
        string[] paths = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return check.ExitCode == 0 && paths.Length == 3 && paths.All(File.Exists) ? (paths[0], paths[1]) : null;
    }
}
