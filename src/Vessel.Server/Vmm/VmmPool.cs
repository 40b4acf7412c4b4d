using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Vessel.Server.Hosting;
using Vessel.Server.Operations;

namespace Vessel.Server.Vmm;

/// <summary>
/// VMM processes started ahead of need (<c>vessel run --standby</c>, each in
/// <c>DATA/run/standby-ID/</c> with its QMP socket and pidfile), so that starting a VM (a boot,
/// a resume, an instant clone) does not wait for a .NET process to start, twice over with
/// <c>--daemonize</c>: the VM's directory is the standby's, renamed, and the machine's options
/// go to it over QMP (<c>x-vessel-launch</c>). A used standby is replaced in the background, one
/// at a time so that refilling never crowds the host. When none is ready, a VM starts the usual
/// way (<see cref="VmmLauncher"/>).
/// </summary>
/// <remarks>
/// A standby ends by itself when the daemon's QMP connection to it closes before a launch, so a
/// daemon killed with <c>kill -9</c> leaves no standby behind; leftovers of any other kind are
/// ended when the daemon starts.
/// </remarks>
public sealed class VmmPool(ServerOptions options, ILogger<VmmPool> logger) : IHostedService
{
    private const string DirectoryPrefix = "standby-";

    /// <summary>How long launches must have paused before used standbys are replaced (while some are left).</summary>
    private static readonly TimeSpan s_quietPeriod = TimeSpan.FromSeconds(2);

    private readonly ConcurrentQueue<Standby> _ready = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _refilling;

    /// <summary>When a standby was last claimed (<see cref="Environment.TickCount64"/>).</summary>
    private long _lastClaim = long.MinValue / 2;
    private volatile bool _stopped;
    private Task _refill = Task.CompletedTask;

    /// <summary>A VMM taken from the pool and launched: its process and its QMP connection, already negotiated.</summary>
    public sealed record Launched(int ProcessId, QmpConnection Qmp);

    private sealed record Standby(int ProcessId, VmmPaths Paths, QmpConnection Qmp);

    /// <summary>Standbys ready now.</summary>
    public int ReadyCount => _ready.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        EndLeftovers();
        Refill();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        await _stopping.CancelAsync();
        await _refill.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        while (_ready.TryDequeue(out Standby? standby))
        {
            await EndAsync(standby, standby.Paths);
        }
    }

    /// <summary>
    /// Makes a ready standby the VMM of <paramref name="spec"/>'s VM; null when none is ready (the
    /// caller starts one the usual way).
    /// </summary>
    /// <exception cref="OperationFailedException">The VMM refused the machine (one sentence, as <c>vessel run</c> would have ended with).</exception>
    public async Task<Launched?> TryLaunchAsync(VmmLaunchSpec spec, CancellationToken cancellationToken)
    {
        Standby? standby = null;
        while (standby is null && _ready.TryDequeue(out Standby? candidate))
        {
            if (candidate.Qmp.Closed.IsCompleted)
            {
                logger.LogWarning("The standby VMM {Pid} ended while it waited", candidate.ProcessId);
                TryDeleteDirectory(candidate.Paths.Directory);
                continue;
            }

            standby = candidate;
        }

        Volatile.Write(ref _lastClaim, Environment.TickCount64);
        Refill();
        if (standby is null)
        {
            return null;
        }

        VmmPaths paths = VmmPaths.For(options, spec.VmId);
        try
        {
            // The VM's directory of an earlier run holds only what that run left behind.
            TryDeleteDirectory(paths.Directory);
            Directory.Move(standby.Paths.Directory, paths.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not move the standby VMM {Pid} to {Directory}", standby.ProcessId, paths.Directory);
            await EndAsync(standby, standby.Paths);
            return null;
        }

        try
        {
            var arguments = new JsonArray(VmmLauncher.RunArguments(spec, paths).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
            await standby.Qmp.ExecuteAsync("x-vessel-launch", new JsonObject { ["arguments"] = arguments }, cancellationToken);
            return new Launched(standby.ProcessId, standby.Qmp);
        }
        catch (QmpCommandException e)
        {
            await EndAsync(standby, paths);
            string reason = e.Message.EndsWith('.') ? e.Message : e.Message + ".";
            throw new OperationFailedException($"The VMM did not start: {reason}");
        }
        catch
        {
            await EndAsync(standby, paths);
            throw;
        }
    }

    /// <summary>Starts standbys until the pool is full, in the background, one at a time.</summary>
    private void Refill()
    {
        if (_stopped || options.VmmPoolSize <= 0 || _ready.Count >= options.VmmPoolSize || Interlocked.Exchange(ref _refilling, 1) == 1)
        {
            return;
        }

        _refill = Task.Run(async () =>
        {
            try
            {
                while (!_stopped && _ready.Count < options.VmmPoolSize)
                {
                    await WaitForQuietAsync(_stopping.Token);
                    _ready.Enqueue(await StartStandbyAsync(_stopping.Token));
                }
            }
            catch (Exception e) when (!_stopped)
            {
                // The next launch tries again; until then VMs start the usual way.
                logger.LogWarning(e, "Could not start a standby VMM");
            }
            catch (Exception) when (_stopped)
            {
            }
            finally
            {
                Volatile.Write(ref _refilling, 0);
            }
        });
    }

    /// <summary>
    /// While standbys are left and VMs are being launched, waits until launches have paused for
    /// <see cref="s_quietPeriod"/>: a standby's start costs a few hundred milliseconds of CPU,
    /// which would slow the very launches of a burst (50 instant clones) the pool is there for.
    /// An empty pool refills at once.
    /// </summary>
    private async Task WaitForQuietAsync(CancellationToken cancellationToken)
    {
        while (!_ready.IsEmpty)
        {
            long quietFor = Environment.TickCount64 - Volatile.Read(ref _lastClaim);
            if (quietFor >= s_quietPeriod.TotalMilliseconds)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(s_quietPeriod.TotalMilliseconds - quietFor), cancellationToken);
        }
    }

    private async Task<Standby> StartStandbyAsync(CancellationToken cancellationToken)
    {
        var paths = new VmmPaths(Path.Combine(options.RunDirectory, DirectoryPrefix + Guid.NewGuid().ToString("N")));
        VmmLauncher.PrepareDirectory(paths);
        try
        {
            await VmmLauncher.StartDetachedAsync(options, ["--standby", "--qmp", $"unix:{paths.Qmp},server=on,wait=off", "--pidfile", paths.PidFile], paths.Directory, cancellationToken);
            int pid = VmmLauncher.ReadPid(paths.PidFile) ?? throw new OperationFailedException($"The standby VMM wrote no pidfile at {paths.PidFile}.");
            QmpConnection qmp = await QmpConnection.ConnectAsync(paths.Qmp, TimeSpan.FromSeconds(30), cancellationToken);
            if (_stopped)
            {
                await EndAsync(new Standby(pid, paths, qmp), paths);
                throw new OperationCanceledException();
            }

            return new Standby(pid, paths, qmp);
        }
        catch
        {
            // Cancelled (the daemon stops) after the standby came up, or it answered no QMP:
            // it must not wait for a claim that never comes.
            if (VmmLauncher.ReadPid(paths.PidFile) is { } started)
            {
                VmmLauncher.KillIfAlive(started, paths);
            }

            TryDeleteDirectory(paths.Directory);
            throw;
        }
    }

    /// <summary>Ends a standby (or a launch that failed): QMP quit, then SIGKILL if it lingers; its directory goes.</summary>
    private async Task EndAsync(Standby standby, VmmPaths paths)
    {
        try
        {
            await standby.Qmp.ExecuteAsync("quit", null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is QmpCommandException or TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
        }

        await standby.Qmp.DisposeAsync();
        VmmLauncher.KillIfAlive(standby.ProcessId, paths);
        TryDeleteDirectory(paths.Directory);
    }

    /// <summary>Standbys of an earlier daemon that are still there (their directories, and any process still in one).</summary>
    private void EndLeftovers()
    {
        if (!Directory.Exists(options.RunDirectory))
        {
            return;
        }

        foreach (string directory in Directory.EnumerateDirectories(options.RunDirectory, DirectoryPrefix + "*"))
        {
            var paths = new VmmPaths(directory);
            if (VmmLauncher.ReadPid(paths.PidFile) is { } pid)
            {
                VmmLauncher.KillIfAlive(pid, paths);
            }

            TryDeleteDirectory(directory);
        }
    }


    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
