using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

// The integration tests lay out cache entries and call the internals below directly.
[assembly: InternalsVisibleTo("Vessel.IntegrationTests")]

namespace Vessel.Cli;

/// <summary>
/// Finds or builds the guest that <c>vessel run</c> boots when no kernel is given. The work is
/// done by the repository's <c>tools/guest/build-guest</c> script, which also owns the cache
/// (<c>${XDG_CACHE_HOME:-~/.cache}/vessel/guest/&lt;key&gt;/</c>) and the cache key, so this
/// class only asks it, first whether a build is cached, then, when not, to build one.
/// </summary>
internal static partial class DefaultGuest
{
    /// <summary>Boots the initramfs with its shell on the first serial port.</summary>
    public const string CommandLine = "console=ttyS0 panic=-1";

    /// <summary>Boots the root disk attached as the first virtio block device.</summary>
    public const string RootDiskCommandLine = "console=ttyS0 root=/dev/vda rw init=/init panic=-1";

    /// <summary>Where the builder lives, relative to the repository root.</summary>
    public const string BuilderRelativePath = "tools/guest/build-guest";

    private const int SignalTerminate = 15;

    // Asking whether a build is cached takes milliseconds when nothing changed since the last
    // look, and hashes the inputs and asks dpkg and apt for versions when something did: a few
    // seconds, more on a loaded shared machine.
    private static readonly TimeSpan s_checkTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Returns the default guest, building it first (minutes, with progress on
    /// <paramref name="progress"/>) when this checkout's inputs have no cached build yet.
    /// </summary>
    /// <param name="progress">Where the build's progress goes.</param>
    /// <param name="progressIsTerminal">
    /// True when <paramref name="progress"/> is a terminal: the builder then redraws one progress
    /// line in place instead of printing a new one every few seconds.
    /// </param>
    /// <exception cref="UserErrorException">The builder cannot be found, run, or fails.</exception>
    public static DefaultGuestFiles Ensure(TextWriter progress, bool progressIsTerminal) =>
        Ensure(progress, FindBuilder(AppContext.BaseDirectory), cacheHome: null, progressIsTerminal);

    /// <summary>
    /// As <see cref="Ensure(TextWriter, bool)"/>, with the builder script given and, when
    /// <paramref name="cacheHome"/> is set, the cache under it instead of the user's
    /// <c>XDG_CACHE_HOME</c>.
    /// </summary>
    public static DefaultGuestFiles Ensure(TextWriter progress, string builder, string? cacheHome, bool progressIsTerminal = false)
    {
        DefaultGuestFiles? cached = TryFindCached(builder, cacheHome);
        if (cached is not null)
        {
            return cached;
        }

        progress.Write("vessel: no --kernel given and the default guest is not built yet: building it from Debian's packages, once (later runs start at once)."
            + (progressIsTerminal ? "\r\n" : "\n"));
        var relay = new BuilderOutputRelay(progress, progressIsTerminal);
        BuilderResult result = RunBuilder(builder, cacheHome, mode: null, relay, progressIsTerminal, timeout: Timeout.InfiniteTimeSpan);
        if (result.ExitCode != 0)
        {
            // The builder ends a failure with one sentence naming the cause; pass it on.
            string reason = result.LastMessage ?? $"{builder} exited with code {result.ExitCode}";
            throw UserErrorException.Failure($"could not build the default guest: {reason}");
        }

        return ParsePaths(result.Output)
            ?? throw UserErrorException.Failure(
                $"the default guest builder ({builder}) finished but did not name the kernel, initramfs and root disk it built");
    }

    /// <summary>The cached build for the current inputs, or null when there is none (never builds).</summary>
    public static DefaultGuestFiles? TryFindCached(string builder, string? cacheHome)
    {
        BuilderResult result = RunBuilder(builder, cacheHome, mode: "--check", relay: null, progressIsTerminal: false, s_checkTimeout);
        return result.ExitCode == 0 ? ParsePaths(result.Output) : null;
    }

    /// <summary>
    /// Finds <see cref="BuilderRelativePath"/> in <paramref name="startDirectory"/> or one of its
    /// parents: the CLI runs from <c>&lt;repo&gt;/artifacts/cli/</c>, the tests from
    /// <c>&lt;repo&gt;/tests/.../bin/...</c>.
    /// </summary>
    public static string FindBuilder(string startDirectory)
    {
        for (DirectoryInfo? directory = new(startDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, BuilderRelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw UserErrorException.Failure(
            $"cannot find {BuilderRelativePath} above {startDirectory} to build the default guest; run Vessel from its source checkout (./vessel run) or give a kernel with --kernel");
    }

    /// <summary>The builder prints the kernel, initramfs and root disk paths, one a line.</summary>
    private static DefaultGuestFiles? ParsePaths(string output)
    {
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != 3 || !lines.All(File.Exists))
        {
            return null;
        }

        return new DefaultGuestFiles(lines[0], lines[1], lines[2], CommandLine, RootDiskCommandLine);
    }

    private readonly record struct BuilderResult(int ExitCode, string Output, string? LastMessage);

    /// <summary>
    /// Runs the builder with bash (its executable bit may be lost in a copy). Its stdout is
    /// collected; its stderr (progress) goes through <paramref name="relay"/> as it comes, or is
    /// dropped when that is null. Stdin stays the terminal so that sudo can ask for a password.
    /// </summary>
    private static BuilderResult RunBuilder(
        string builder, string? cacheHome, string? mode, BuilderOutputRelay? relay, bool progressIsTerminal, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(builder);
        if (mode is not null)
        {
            startInfo.ArgumentList.Add(mode);
        }

        if (cacheHome is not null)
        {
            startInfo.Environment["XDG_CACHE_HOME"] = cacheHome;
        }

        // The builder's stderr is a pipe to us; it cannot see that the user's is a terminal.
        startInfo.Environment["VESSEL_PROGRESS"] = progressIsTerminal ? "terminal" : "lines";

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw UserErrorException.Failure($"cannot run bash to build the default guest ({e.Message}); install bash or give a kernel with --kernel");
        }

        // A `vessel run` that is terminated or loses its terminal takes its build along: the
        // builder would otherwise go on for many minutes unseen (Ctrl-C reaches both anyway).
        // SIGTERM lets the builder stop its jobs and remove its work folder.
        using PosixSignalRegistration terminated = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Terminate(process));
        using PosixSignalRegistration hungUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => Terminate(process));

        Task errors = relay is null ? process.StandardError.ReadToEndAsync() : relay.RelayAsync(process.StandardError);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        bool exited = timeout == Timeout.InfiniteTimeSpan ? WaitForever(process) : process.WaitForExit(timeout);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            throw UserErrorException.Failure($"the default guest builder ({builder}) did not answer within {timeout.TotalSeconds:0} s");
        }

        // WaitForExit(TimeSpan) does not wait for the redirected streams to drain; these do.
        output.Wait();
        errors.Wait();
        return new BuilderResult(process.ExitCode, output.Result, relay?.LastMessage);
    }

    private static void Terminate(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                _ = SendSignal(process.Id, SignalTerminate);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started or already gone: nothing to stop.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int processId, int signal);

    private static bool WaitForever(Process process)
    {
        process.WaitForExit();
        return true;
    }
}
