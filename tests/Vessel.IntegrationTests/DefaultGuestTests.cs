using System.Runtime.Versioning;
using Vessel.Cli;
using static Vessel.IntegrationTests.Infrastructure.GuestBuilderScript;

namespace Vessel.IntegrationTests;

/// <summary>
/// The default guest's builder (<c>tools/guest/build-guest</c>) and its caller
/// <see cref="DefaultGuest"/>, without building a kernel: the script's syntax, its cache key,
/// and finding a cached build.
/// </summary>
[SupportedOSPlatform("linux")] // The builder is a bash script for Debian.
public sealed class DefaultGuestTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("vessel-guest-test-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Builder => DefaultGuest.FindBuilder(AppContext.BaseDirectory);

    [Fact]
    public void BuilderScriptParses()
    {
        string[] scripts = [Builder, .. Directory.GetFiles(Path.Combine(Path.GetDirectoryName(Builder)!, "lib"), "*.sh")];
        Assert.True(scripts.Length > 1, "tools/guest/lib/ has no scripts");
        foreach (string script in scripts)
        {
            (int exitCode, _, string error) = Run(["-n", script], cacheHome: null);
            Assert.True(exitCode == 0, $"{script}: {error}");
        }
    }

    [Fact]
    public void CacheKeyFollowsTheInputsAndOnlyThem()
    {
        // A copy of tools/guest, so the test can change its files.
        string tools = Path.Combine(_temp, "guest");
        string script = CopyTo(Builder, tools);
        string cacheHome = Path.Combine(_temp, "cache");

        string original = CacheDirectory(script, cacheHome);
        Assert.StartsWith(Path.Combine(cacheHome, "vessel", "guest") + "/", original);
        Assert.Equal(original, CacheDirectory(script, cacheHome));

        // A file that is not an input (documentation) leaves the key alone, and so does how
        // the builder shows progress and installs packages (lib/): neither changes the result.
        File.WriteAllText(Path.Combine(tools, "NOTES.md"), "not an input\n");
        Assert.Equal(original, CacheDirectory(script, cacheHome));
        File.AppendAllText(Path.Combine(tools, "lib", "progress.sh"), "# changed\n");
        Assert.Equal(original, CacheDirectory(script, cacheHome));

        // The kernel configuration fragment is an input.
        string fragment = Path.Combine(tools, "kernel.fragment");
        string fragmentText = File.ReadAllText(fragment);
        File.AppendAllText(fragment, "CONFIG_HIGH_RES_TIMERS=y\n");
        string changedFragment = CacheDirectory(script, cacheHome);
        Assert.NotEqual(original, changedFragment);
        File.WriteAllText(fragment, fragmentText);
        Assert.Equal(original, CacheDirectory(script, cacheHome));

        // So are the guest's files: their contents, a new one, and the executable bit.
        string init = Path.Combine(tools, "overlay", "initramfs", "init");
        string initText = File.ReadAllText(init);
        File.AppendAllText(init, "# changed\n");
        Assert.NotEqual(original, CacheDirectory(script, cacheHome));
        File.WriteAllText(init, initText);
        Assert.Equal(original, CacheDirectory(script, cacheHome));

        string extra = Path.Combine(tools, "overlay", "rootfs", "etc", "hostname");
        File.WriteAllText(extra, "vessel\n");
        Assert.NotEqual(original, CacheDirectory(script, cacheHome));
        File.Delete(extra);

        UnixFileMode mode = File.GetUnixFileMode(init);
        File.SetUnixFileMode(init, mode & ~(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
        Assert.NotEqual(original, CacheDirectory(script, cacheHome));
        File.SetUnixFileMode(init, mode);
        Assert.Equal(original, CacheDirectory(script, cacheHome));

        // And the script itself.
        File.AppendAllText(script, "# changed\n");
        Assert.NotEqual(original, CacheDirectory(script, cacheHome));
    }

    [Fact]
    public void CacheKeyNamesThePackagesTheBuildUses()
    {
        (int exitCode, string inputs, string error) = Run([Builder, "--print-inputs"], cacheHome: null);
        Assert.True(exitCode == 0, error);
        string[] names = inputs.Split('\n').Select(line => line.Split(' ')[0]).ToArray();
        Assert.Contains("linux-source-6.1", names);
        Assert.Contains("busybox-source", names);
        Assert.Contains("cross-compiler", names);
        Assert.Contains("libc6-dev-riscv64-cross", names);
    }

    [Fact]
    public void FindsACachedBuildWithoutBuilding()
    {
        string cacheHome = Path.Combine(_temp, "cache");
        Assert.Null(DefaultGuest.TryFindCached(Builder, cacheHome));

        // Lay out an entry where the builder would have put one for the current inputs.
        string entry = CacheDirectory(Builder, cacheHome);
        LayOutEntry(entry);

        // Checked first on its own: were the lookup broken, Ensure would start a real build.
        Assert.NotNull(DefaultGuest.TryFindCached(Builder, cacheHome));
        var progress = new StringWriter();
        DefaultGuestFiles files = DefaultGuest.Ensure(progress, Builder, cacheHome);

        Assert.Equal(Path.Combine(entry, "Image"), files.Kernel);
        Assert.Equal(Path.Combine(entry, "initrd.gz"), files.Initrd);
        Assert.Equal(Path.Combine(entry, "rootfs.ext4"), files.RootDisk);
        Assert.Contains("console=ttyS0", files.CommandLine);
        Assert.Contains("root=/dev/vda", files.RootDiskCommandLine);
        Assert.Equal(string.Empty, progress.ToString());
    }

    [Fact]
    public void AnIncompleteEntryIsNotABuild()
    {
        string cacheHome = Path.Combine(_temp, "cache");
        string entry = CacheDirectory(Builder, cacheHome);
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "Image"), "Image");
        File.WriteAllText(Path.Combine(entry, "initrd.gz"), "initrd");

        Assert.Null(DefaultGuest.TryFindCached(Builder, cacheHome));
    }

    [Fact]
    public void BuildsWhenNothingIsCachedAndPassesTheProgressOn()
    {
        // A stand-in builder: nothing cached, then a "build" that reports progress on stderr
        // and names its three files on stdout, as build-guest does.
        string built = Directory.CreateDirectory(Path.Combine(_temp, "built")).FullName;
        string builder = WriteFakeBuilder($$"""
            [ "${1:-}" = --check ] && exit 1
            echo "build-guest: building the kernel" >&2
            for f in Image initrd.gz rootfs.ext4; do echo "$f" > "{{built}}/$f"; echo "{{built}}/$f"; done
            """);

        var progress = new StringWriter();
        DefaultGuestFiles files = DefaultGuest.Ensure(progress, builder, cacheHome: null);

        Assert.Equal(Path.Combine(built, "Image"), files.Kernel);
        Assert.Equal(Path.Combine(built, "initrd.gz"), files.Initrd);
        Assert.Equal(Path.Combine(built, "rootfs.ext4"), files.RootDisk);
        Assert.Contains("build-guest: building the kernel", progress.ToString());
    }

    [Fact]
    public void AFailedBuildEndsInTheBuildersSentence()
    {
        string builder = WriteFakeBuilder("""
            [ "${1:-}" = --check ] && exit 1
            echo "build-guest: installing flex" >&2
            echo "some tool's own output" >&2
            echo "build-guest: could not install flex with apt-get; see apt's messages above." >&2
            exit 1
            """);

        var progress = new StringWriter();
        var error = Assert.Throws<UserErrorException>(() => DefaultGuest.Ensure(progress, builder, cacheHome: null));

        Assert.Equal("could not build the default guest: could not install flex with apt-get; see apt's messages above.", error.Message);
        Assert.Contains("some tool's own output", progress.ToString());
    }

    [Fact]
    public void ABuildThatNamesNoFilesIsAnError()
    {
        string builder = WriteFakeBuilder("""
            [ "${1:-}" = --check ] && exit 1
            echo "/nonexistent/Image"
            """);

        Assert.Throws<UserErrorException>(() => DefaultGuest.Ensure(new StringWriter(), builder, cacheHome: null));
    }

    [Fact]
    public void FindsTheBuilderAboveTheStartFolder()
    {
        string repo = Path.Combine(_temp, "repo");
        string builder = Path.Combine(repo, "tools", "guest", "build-guest");
        Directory.CreateDirectory(Path.GetDirectoryName(builder)!);
        File.WriteAllText(builder, "#!/bin/sh\n");
        string deep = Directory.CreateDirectory(Path.Combine(repo, "artifacts", "cli")).FullName;

        Assert.Equal(builder, DefaultGuest.FindBuilder(deep));

        string elsewhere = Directory.CreateDirectory(Path.Combine(_temp, "elsewhere")).FullName;
        var error = Assert.Throws<UserErrorException>(() => DefaultGuest.FindBuilder(elsewhere));
        Assert.Contains("tools/guest/build-guest", error.Message);
    }

    private string WriteFakeBuilder(string body)
    {
        string path = Path.Combine(_temp, "fake-build-guest");
        File.WriteAllText(path, "set -euo pipefail\n" + body + "\n");
        return path;
    }
}
