using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Events;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Vmm;

/// <summary>
/// Keeps one QMP connection to every running VMM and the inventory's idea of each VM's state in
/// line with it: the VMM's events move the state (STOP → paused, RESUME → running), and a VMM
/// that goes away without being asked to and without the guest powering off has crashed. At
/// daemon start it adopts the VMMs a previous daemon left running, through their pidfiles and
/// QMP sockets, and marks those that died meanwhile crashed.
/// </summary>
public sealed partial class VmmSupervisor(ServerOptions options, VmmPool pool, IServiceScopeFactory scopes, EventHub events, HostRegistry hosts, ILogger<VmmSupervisor> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Guid, VmmInstance> _instances = new();

    // Set while the daemon stops: the QMP connections it closes are not VMMs ending.
    private volatile bool _daemonStopping;

    /// <summary>A running VMM as the daemon sees it, on the manager's own host or (through its agent) on another.</summary>
    public sealed class VmmInstance(Guid vmId, string name, int pid, QmpConnection qmp, VmmPaths paths, Guid? hostId = null, Func<string, CancellationToken, Task<Stream>>? openSocket = null)
    {
        public Guid VmId { get; } = vmId;
        public string Name { get; set; } = name;
        public int ProcessId { get; } = pid;
        public QmpConnection Qmp { get; } = qmp;

        /// <summary>Its runtime directory on its own host (on an agent's host: in the agent's data directory).</summary>
        public VmmPaths Paths { get; } = paths;

        /// <summary>The agent's host it runs on; null: the manager's own.</summary>
        public Guid? HostId { get; } = hostId;

        public bool IsRemote => HostId is not null;

        /// <summary>A byte stream to one of its sockets: <c>console</c> or <c>vnc</c>.</summary>
        public Task<Stream> OpenSocketAsync(string socket, CancellationToken cancellationToken) =>
            openSocket is not null ? openSocket(socket, cancellationToken) : ConnectLocalAsync(socket == "vnc" ? Paths.Vnc : Paths.Console, cancellationToken);

        private static async Task<Stream> ConnectLocalAsync(string path, CancellationToken cancellationToken)
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        /// <summary>Set before the daemon ends the VMM, so that its exit is not a crash.</summary>
        public volatile bool ExitExpected;

        /// <summary>The guest powered off (SHUTDOWN): the exit that follows is not a crash.</summary>
        public volatile bool ShutdownSeen;

        /// <summary>The VM moved to another host: this VMM's end changes nothing of the VM's state.</summary>
        public volatile bool MigratedAway;

        /// <summary>A migration to another host is under way: the stop at its end is not a pause.</summary>
        public volatile bool Emigrating;

        /// <summary>Completes once the exit has been recorded in the inventory.</summary>
        public TaskCompletionSource Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<JsonObject> RecentEvents { get; } = new();

        /// <summary>The state and disk bases saved for instant clones while the VM stays paused.</summary>
        public ClonePoint? CurrentClonePoint { get; set; }
    }

    /// <summary>A saved state and the bases its disks were frozen into, which instant clones start from.</summary>
    public sealed record ClonePoint(string StatePath, IReadOnlyDictionary<int, Guid> Bases);

    public VmmInstance? Find(Guid vmId) => _instances.TryGetValue(vmId, out VmmInstance? instance) ? instance : null;

    public IReadOnlyCollection<VmmInstance> Instances => _instances.Values.ToArray();

    public VmmInstance Require(Guid vmId, string name) =>
        Find(vmId) ?? throw new OperationFailedException($"VM '{name}' has no running VMM.");

    /// <summary>Starts the VMM (on <paramref name="hostId"/>'s host when that is an agent's) and waits until its QMP answers; records the state.</summary>
    public async Task<VmmInstance> StartAsync(VmmLaunchSpec spec, Guid? hostId, CancellationToken cancellationToken)
    {
        if (hostId is { } remote && RemoteSession(remote) is { } session)
        {
            return await StartRemoteAsync(spec, session, cancellationToken);
        }

        await SetStateAsync(spec.VmId, spec.Name, VmStates.Starting, null);
        int pid;
        QmpConnection qmp;
        VmmPaths paths = VmmPaths.For(options, spec.VmId);
        try
        {
            if (await pool.TryLaunchAsync(spec, cancellationToken) is { } launched)
            {
                (pid, qmp) = (launched.ProcessId, launched.Qmp);
            }
            else
            {
                pid = await VmmLauncher.LaunchAsync(options, spec, cancellationToken);
                qmp = await QmpConnection.ConnectAsync(paths.Qmp, TimeSpan.FromMinutes(1), cancellationToken);
            }
        }
        catch
        {
            await SetStateAsync(spec.VmId, spec.Name, VmStates.Stopped, null);
            throw;
        }

        VmmInstance instance = Attach(spec.VmId, spec.Name, pid, qmp, paths);
        string state = await QueryStateAsync(instance, cancellationToken);
        await SetStateAsync(spec.VmId, spec.Name, state, pid);
        return instance;
    }

    private VmmInstance Attach(Guid vmId, string name, int pid, QmpConnection qmp, VmmPaths paths, AgentSession? session = null)
    {
        var instance = session is null
            ? new VmmInstance(vmId, name, pid, qmp, paths)
            : new VmmInstance(vmId, name, pid, qmp, paths, session.HostId, (socket, cancellationToken) => session.OpenTunnelAsync(vmId, socket, cancellationToken));
        _instances[vmId] = instance;
        qmp.EventReceived += message => OnEvent(instance, message);
        _ = qmp.Closed.ContinueWith(_ => OnClosedAsync(instance), TaskScheduler.Default).Unwrap();
        return instance;
    }

    /// <summary>The VMM's run state in the API's words.</summary>
    public static async Task<string> QueryStateAsync(VmmInstance instance, CancellationToken cancellationToken)
    {
        JsonNode? status = await instance.Qmp.ExecuteAsync("query-status", null, cancellationToken);
        return status?["status"]?.GetValue<string>() switch
        {
            "running" => VmStates.Running,
            _ => VmStates.Paused,
        };
    }

    private void OnEvent(VmmInstance instance, JsonObject message)
    {
        instance.RecentEvents.Enqueue(message);
        while (instance.RecentEvents.Count > 200)
        {
            instance.RecentEvents.TryDequeue(out _);
        }

        switch (message["event"]?.GetValue<string>())
        {
            case "STOP" when !instance.Emigrating && !instance.MigratedAway:
                _ = SetStateIfAsync(instance, VmStates.Paused, [VmStates.Running]);
                break;
            case "RESUME":
                if (instance.CurrentClonePoint is { } point)
                {
                    // Its clones have the state mapped; the file is no longer needed.
                    instance.CurrentClonePoint = null;
                    File.Delete(point.StatePath);
                }

                _ = SetStateIfAsync(instance, VmStates.Running, [VmStates.Paused, VmStates.Starting]);
                break;
            case "SHUTDOWN":
                instance.ShutdownSeen = true;
                break;
            case "RESET":
                events.Publish("vm.reset", "vm", instance.Name);
                break;
        }
    }

    private async Task OnClosedAsync(VmmInstance instance)
    {
        if (_daemonStopping)
        {
            return;
        }

        _instances.TryRemove(new KeyValuePair<Guid, VmmInstance>(instance.VmId, instance));
        try
        {
            await instance.Qmp.DisposeAsync();
            if (instance.IsRemote && !instance.ExitExpected && !instance.ShutdownSeen && !instance.MigratedAway)
            {
                // The tunnel ended: the VMM, or only the agent's connection. Not a guess: unknown
                // until the agent says whether the VMM still runs.
                await OnRemoteLostAsync(instance);
                return;
            }

            if (instance.MigratedAway)
            {
                return;
            }

            if (instance.ExitExpected || instance.ShutdownSeen)
            {
                await SetStateAsync(instance.VmId, instance.Name, VmStates.Stopped, null);
            }
            else
            {
                logger.LogWarning("The VMM of VM {Name} (pid {Pid}) ended without being asked to: crashed", instance.Name, instance.ProcessId);
                await SetStateAsync(instance.VmId, instance.Name, VmStates.Crashed, null);
                events.Publish("vm.crashed", "vm", instance.Name, VmStates.Crashed, $"The VMM of VM '{instance.Name}' (process {instance.ProcessId}) ended unexpectedly.");
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Could not record the end of VM {Name}", instance.Name);
        }
        finally
        {
            instance.Exited.TrySetResult();
        }
    }

    /// <summary>Ends the VMM (QMP quit, then SIGKILL if it does not go) and waits until its end is recorded.</summary>
    public async Task QuitAsync(VmmInstance instance, TimeSpan timeout)
    {
        instance.ExitExpected = true;
        try
        {
            await instance.Qmp.ExecuteAsync("quit", null, CancellationToken.None).WaitAsync(timeout);
        }
        catch (Exception e) when (e is QmpCommandException or TimeoutException or IOException)
        {
        }

        try
        {
            await instance.Exited.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            await KillAsync(instance);
            await instance.Exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Waits for the VMM to end by itself (a guest that powers off).</summary>
    public static async Task<bool> WaitForExitAsync(VmmInstance instance, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await instance.Exited.Task.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task KillAsync(VmmInstance instance)
    {
        if (instance.HostId is { } hostId)
        {
            if (hosts.FindSession(hostId) is { } session)
            {
                await session.SendAsync(new Hosts.Channel.Command { Kill = new Hosts.Channel.KillVmm { VmId = instance.VmId.ToString("D") } }, TimeSpan.FromSeconds(30), CancellationToken.None);
            }

            return;
        }

        KillVmm(instance.ProcessId);
    }

    private static void KillVmm(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>Runs a QMP job command (snapshot-save/-load/-delete) and waits for it to conclude; throws with the job's error.</summary>
    public static async Task RunJobAsync(VmmInstance instance, string command, JsonObject arguments, CancellationToken cancellationToken)
    {
        string jobId = $"vessel-{Guid.NewGuid():N}";
        arguments["job-id"] = jobId;
        await instance.Qmp.ExecuteAsync(command, arguments, cancellationToken);
        while (true)
        {
            JsonNode? jobs = await instance.Qmp.ExecuteAsync("query-jobs", null, cancellationToken);
            JsonObject? job = jobs?.AsArray().OfType<JsonObject>().FirstOrDefault(j => j["id"]?.GetValue<string>() == jobId);
            if (job is null)
            {
                return;
            }

            string status = job["status"]?.GetValue<string>() ?? "";
            if (status is "concluded" or "null")
            {
                string? error = job["error"]?.GetValue<string>();
                try
                {
                    await instance.Qmp.ExecuteAsync("job-dismiss", new JsonObject { ["id"] = jobId }, cancellationToken);
                }
                catch (QmpCommandException)
                {
                }

                if (error is not null)
                {
                    throw new OperationFailedException(Api.Sentences.Of(error));
                }

                return;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Saves the VM's whole state to <paramref name="path"/> (QMP migrate to file:) and waits until it is complete.</summary>
    public static async Task SaveStateAsync(VmmInstance instance, string path, CancellationToken cancellationToken)
    {
        await instance.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"file:{path}" }, cancellationToken);
        while (true)
        {
            JsonNode? info = await instance.Qmp.ExecuteAsync("query-migrate", null, cancellationToken);
            switch (info?["status"]?.GetValue<string>())
            {
                case "completed":
                    return;
                case "failed" or "cancelled":
                    throw new OperationFailedException(Api.Sentences.Of($"Saving the VM's state failed: {info?["error-desc"]?.GetValue<string>() ?? "no reason given"}"));
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Records a VM's state and tells the subscribers.</summary>
    public async Task SetStateAsync(Guid vmId, string name, string state, int? processId)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        DateTime now = DateTime.UtcNow;
        await db.Vms.Where(v => v.Id == vmId).ExecuteUpdateAsync(s => s
            .SetProperty(v => v.State, state)
            .SetProperty(v => v.ProcessId, processId)
            .SetProperty(v => v.UpdatedAt, now)
            .SetProperty(v => v.Version, v => v.Version + 1));
        events.Publish("vm.state", "vm", name, state);
    }

    private async Task SetStateIfAsync(VmmInstance instance, string state, string[] from)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        DateTime now = DateTime.UtcNow;
        int changed = await db.Vms.Where(v => v.Id == instance.VmId && from.Contains(v.State)).ExecuteUpdateAsync(s => s
            .SetProperty(v => v.State, state)
            .SetProperty(v => v.UpdatedAt, now)
            .SetProperty(v => v.Version, v => v.Version + 1));
        if (changed > 0)
        {
            events.Publish("vm.state", "vm", instance.Name, state);
        }
    }

    /// <summary>Adopts the VMMs a previous daemon left running; marks those that are gone crashed.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.RunDirectory);
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        string[] live = [VmStates.Running, VmStates.Paused, VmStates.Starting, VmStates.Stopping, VmStates.Suspending];
        hosts.SessionChanged += OnSessionChanged;
        HashSet<Guid> agentHosts = (await db.Hosts.AsNoTracking().Where(h => !h.IsLocal).Select(h => h.Id).ToListAsync(cancellationToken)).ToHashSet();
        var vms = await db.Vms.AsNoTracking().Where(v => live.Contains(v.State)).Select(v => new { v.Id, v.Name, v.State, v.HostId }).ToListAsync(cancellationToken);
        foreach (var vm in vms)
        {
            if (vm.HostId is { } hostId && agentHosts.Contains(hostId))
            {
                // Its agent says what became of it when it connects (OnSessionChanged).
                await SetStateAsync(vm.Id, vm.Name, VmStates.Unknown, null);
                continue;
            }

            VmmPaths paths = VmmPaths.For(options, vm.Id);
            int? pid = VmmLauncher.ReadPid(paths.PidFile);
            if (pid is { } p && VmmLauncher.IsVmmAlive(p, paths))
            {
                try
                {
                    QmpConnection qmp = await QmpConnection.ConnectAsync(paths.Qmp, TimeSpan.FromSeconds(10), cancellationToken);
                    VmmInstance instance = Attach(vm.Id, vm.Name, p, qmp, paths);
                    string state = await QueryStateAsync(instance, cancellationToken);
                    await SetStateAsync(vm.Id, vm.Name, state, p);
                    events.Publish("vm.adopted", "vm", vm.Name, state, $"Adopted the running VMM of VM '{vm.Name}' (process {p}).");
                    logger.LogInformation("Adopted VM {Name} (pid {Pid}, {State})", vm.Name, p, state);
                    continue;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or QmpCommandException or TimeoutException)
                {
                    logger.LogWarning(e, "VM {Name}: its VMM (pid {Pid}) does not answer on QMP", vm.Name, p);
                }
            }

            // Stopping, suspending: the previous daemon was ending it; a VMM gone now is not a crash.
            string final = vm.State == VmStates.Stopping ? VmStates.Stopped : VmStates.Crashed;
            await SetStateAsync(vm.Id, vm.Name, final, null);
            if (final == VmStates.Crashed)
            {
                events.Publish("vm.crashed", "vm", vm.Name, VmStates.Crashed, $"The VMM of VM '{vm.Name}' ended while the daemon was not running.");
            }
        }
    }

    /// <summary>The daemon stopping leaves every VMM running (they are adopted at the next start).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _daemonStopping = true;
        foreach (VmmInstance instance in _instances.Values)
        {
            _instances.TryRemove(instance.VmId, out _);
            await instance.Qmp.DisposeAsync();
        }
    }
}
