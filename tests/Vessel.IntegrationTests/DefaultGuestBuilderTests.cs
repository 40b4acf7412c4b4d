using System.Runtime.Versioning;
using Vessel.Cli;
using Vessel.IntegrationTests.Infrastructure;
using static Vessel.IntegrationTests.Infrastructure.GuestBuilderScript;

namespace Vessel.IntegrationTests;

/// <summary>
/// What the default guest's builder shows and decides before and around the long build, without
/// building: its progress display over a stand-in for make, its refusal to install packages,
/// and the quick way it finds the cache key when nothing changed.
/// </summary>
[SupportedOSPlatform("linux")] // The builder is a bash script for Debian.
public sealed class DefaultGuestBuilderTests : IDisposable
{
    // How long a test waits for something that should come within seconds; only reached when
    // it never comes.
    private static readonly TimeSpan s_patience = TimeSpan.FromMinutes(1);

    private readonly string _temp = Directory.CreateTempSubdirectory("vessel-guest-builder-test-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Builder => DefaultGuest.FindBuilder(AppContext.BaseDirectory);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ProgressOfALongBuildReachesTheUserWhileItRuns(bool terminal)
    {
        // A stand-in for make that compiles three of six objects, then waits for the test to
        // have seen them counted before it compiles the rest: so the progress shown while it
        // waits can only have come while the build was running.
        string go = Path.Combine(_temp, "go");
        string fakeMake = WriteScript("fake-make", $$"""
            for i in 1 2 3; do echo "  CC      obj$i.o"; done
            for i in $(seq 1200); do [ -e "{{go}}" ] && break; sleep 0.1; done
            [ -e "{{go}}" ] || exit 1
            for i in 4 5 6; do echo "  CC      obj$i.o"; done
            """);
        // The builder as the CLI runs it, with its build replaced by the progress display of
        // the kernel build over the stand-in.
        string built = Directory.CreateDirectory(Path.Combine(_temp, "built")).FullName;
        string builder = WriteScript("fake-build-guest", $$"""
            [ "${1:-}" = --check ] && exit 1
            bash "{{Builder}}" --progress-test 6 bash "{{fakeMake}}"
            for f in Image initrd.gz rootfs.ext4; do echo "$f" > "{{built}}/$f"; echo "{{built}}/$f"; done
            """);

        var user = new RecordingWriter();
        Task<DefaultGuestFiles> build = Task.Run(() => DefaultGuest.Ensure(user, builder, cacheHome: null, progressIsTerminal: terminal));
        bool sawProgress = user.WaitFor("build-guest: kernel: 3/6 objects, 50%", s_patience);
        File.WriteAllText(go, string.Empty);
        Assert.True(sawProgress, $"no progress line while the build ran; the user saw:\n{user}");
        DefaultGuestFiles files = await build.WaitAsync(s_patience);
        Assert.Equal(Path.Combine(built, "Image"), files.Kernel);

        string text = user.ToString();
        Assert.Contains("build-guest: the command made 6 objects", text);
        if (terminal)
        {
            // One line redrawn in place, and every line feed with a carriage return so that
            // lines start at the left edge even on a terminal left in raw mode.
            Assert.Contains("\r\u001b[Kbuild-guest: kernel: 3/6 objects", text);
            Assert.DoesNotMatch("[^\r]\n", text);
        }
        else
        {
            // Lines of their own, for a log or a pipe.
            Assert.Contains("\nbuild-guest: kernel: 3/6 objects, 50%", "\n" + text);
            Assert.DoesNotContain("\r", text);
        }
    }

    [Theory]
    [InlineData(new[] { "--no-install" }, "")]
    [InlineData(new string[0], "1")]
    public void RefusingToInstallNamesTheMissingPackagesInOneSentence(string[] arguments, string noInstallVariable)
    {
        Dictionary<string, string> environment = FakePackageTools(missing: ["flex", "cpio"]);
        if (noInstallVariable.Length > 0)
        {
            environment["VESSEL_NO_INSTALL"] = noInstallVariable;
        }

        (int exitCode, string output, string error) = Run([Builder, .. arguments], Path.Combine(_temp, "cache"), environment);

        Assert.Equal(1, exitCode);
        Assert.Equal(string.Empty, output);
        string sentence = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("build-guest: ", sentence);
        Assert.Contains("flex cpio", sentence);
        Assert.EndsWith(".", sentence);
        Assert.False(File.Exists(AptLog), "apt-get ran although installing was refused");
    }

    [Fact]
    public void SaysWhichPackagesItInstallsAndWhyBeforeInstallingThem()
    {
        Dictionary<string, string> environment = FakePackageTools(missing: ["flex", "cpio"]);

        (int exitCode, _, string error) = Run([Builder], Path.Combine(_temp, "cache"), environment);

        // The stand-in apt-get fails, so the builder ends there, in a sentence of its own.
        Assert.Equal(1, exitCode);
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int announcement = Array.FindIndex(lines, line => line.StartsWith("build-guest: installing 2 Debian packages", StringComparison.Ordinal));
        Assert.True(announcement >= 0, error);
        Assert.Contains("flex (the kernel configuration's parser)", lines[announcement]);
        Assert.Contains("cpio (packs the initramfs)", lines[announcement]);
        Assert.Contains("VESSEL_NO_INSTALL=1", lines[announcement + 1]);
        int firstAptLine = Array.FindIndex(lines, line => line.StartsWith("apt-get ", StringComparison.Ordinal));
        Assert.True(firstAptLine > announcement, error);

        // apt-get was asked for exactly those, without a terminal to put into raw mode.
        string[] calls = File.ReadAllLines(AptLog);
        Assert.Contains(calls, call => call.EndsWith("install -y --no-install-recommends flex cpio stdin=no-terminal", StringComparison.Ordinal));
        Assert.All(calls, call => Assert.Contains("-o Dpkg::Use-Pty=0", call));
    }

    [Fact]
    public void TheQuickCheckFindsWhatTheFullComputationFindsAndFollowsChanges()
    {
        string script = CopyTo(Builder, Path.Combine(_temp, "guest"));
        string cacheHome = Path.Combine(_temp, "cache");
        string records = Path.Combine(cacheHome, "vessel", "guest", ".fingerprints");

        // The first look computes the key in full and records it with the fingerprint.
        string entry = CacheDirectory(script, cacheHome);
        LayOutEntry(entry);
        string record = Assert.Single(Directory.GetFiles(records));
        Assert.Equal(Path.GetFileName(entry), File.ReadLines(record).First());

        // With the record and without it (the full computation), --check finds the same build.
        (int exitCode, string quick, string error) = Run([script, "--check"], cacheHome);
        Assert.True(exitCode == 0, error);
        Assert.Equal(PathsOf(entry), quick);
        Directory.Delete(records, recursive: true);
        (exitCode, string full, error) = Run([script, "--check"], cacheHome);
        Assert.True(exitCode == 0, error);
        Assert.Equal(quick, full);
        record = Assert.Single(Directory.GetFiles(records));

        // The record is what an unchanged state is answered from: pointed at another complete
        // entry, --check names that one.
        string other = Path.Combine(Path.GetDirectoryName(entry)!, "0123456789abcdef");
        LayOutEntry(other);
        string[] recordLines = File.ReadAllLines(record);
        File.WriteAllLines(record, ["0123456789abcdef", .. recordLines.Skip(1)]);
        Assert.Equal(PathsOf(other), Run([script, "--check"], cacheHome).Output);

        // A changed input changes the fingerprint: its key is computed again, and has no build.
        string init = Path.Combine(Path.GetDirectoryName(script)!, "overlay", "initramfs", "init");
        string initText = File.ReadAllText(init);
        File.AppendAllText(init, "# changed\n");
        (exitCode, string changed, _) = Run([script, "--check"], cacheHome);
        Assert.Equal(1, exitCode);
        Assert.Equal(string.Empty, changed);

        // Put back as it was, the file has the original key again (and not the record's planted one).
        File.WriteAllText(init, initText);
        Assert.Equal(PathsOf(entry), Run([script, "--check"], cacheHome).Output);
    }

    private string AptLog => Path.Combine(_temp, "apt-get.log");

    /// <summary>
    /// Stand-ins, first on PATH, for dpkg-query (reports <paramref name="missing"/> as not
    /// installed and every other package as installed, whatever this machine has), apt-get (logs its arguments and whether its
    /// input is a terminal, then fails) and sudo (runs the command as is).
    /// </summary>
    private Dictionary<string, string> FakePackageTools(string[] missing)
    {
        string bin = Directory.CreateDirectory(Path.Combine(_temp, "bin")).FullName;
        string pattern = string.Join('|', missing);
        WriteScript(Path.Combine("bin", "dpkg-query"), $$"""
            for argument in "$@"; do
              case "$argument" in
                {{pattern}}) echo "unknown ok not-installed "; exit 1 ;;
              esac
            done
            echo "install ok installed 1.0-test"
            """);
        WriteScript(Path.Combine("bin", "apt-get"), $$"""
            terminal=no-terminal; [ -t 0 ] && terminal=terminal
            echo "apt-get $* stdin=$terminal" >> "{{AptLog}}"
            echo "apt-get $*: refused by the test" >&2
            exit 100
            """);
        WriteScript(Path.Combine("bin", "sudo"), "exec \"$@\"");
        return new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" };
    }

    private string WriteScript(string name, string body)
    {
        string path = Path.Combine(_temp, name);
        File.WriteAllText(path, "#!/usr/bin/env bash\nset -euo pipefail\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
