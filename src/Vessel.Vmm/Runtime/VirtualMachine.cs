using System.Text.Json.Nodes;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.Console;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// The VMM's one virtual machine: builds the board, boots it or waits for a saved state, runs
/// it on the calling thread (<see cref="Run"/>) and carries out control requests from other
/// threads (QMP, the console's Ctrl-A x): stop, continue, reset, power-down, quit, save and
/// restore. It keeps QEMU's run state and raises QEMU's events.
/// </summary>
/// <remarks>
/// The class is split by concern: this file holds the life cycle and the run loop,
/// <c>VirtualMachine.Incoming.cs</c> starting from a saved state.
/// </remarks>
public sealed partial class VirtualMachine : IDisposable
{
    private readonly object _gate = new();
    private readonly RiscvVirtMachine _machine;
    private readonly HostConsole _console;
    private VmRunState _state = VmRunState.Prelaunch;
    private bool _hostResetRequested;
    private bool _quitRequested;
    private string? _failure;
    private readonly System.Diagnostics.Stopwatch _age = System.Diagnostics.Stopwatch.StartNew();

    public VirtualMachine(VirtualMachineConfiguration configuration, HostConsole console)
    {
        Configuration = configuration;
        _console = console;
        _machine = new RiscvVirtMachine(configuration, console);
        Uuid = configuration.Uuid ?? Guid.NewGuid();
        console.QuitRequested += OnConsoleQuit;
        WatchBalloon();
        try
        {
            StartDisplay();
        }
        catch
        {
            _machine.Dispose();
            throw;
        }
    }

    public VirtualMachineConfiguration Configuration { get; }

    /// <summary>The board (for state, statistics and tests).</summary>
    public RiscvVirtMachine Machine => _machine;

    /// <summary>The VM's name (<c>--name</c>), or null.</summary>
    public string? Name => Configuration.Name;

    /// <summary>The VM's UUID (given, or made at start).</summary>
    public Guid Uuid { get; }

    /// <summary>Raised on any thread for each event, in the order they happen.</summary>
    public event Action<MachineEvent>? EventRaised;

    /// <summary>What the VM is doing.</summary>
    public VmRunState RunState
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Runs a VM in the foreground until it ends, and returns the process's exit code.</summary>
    public static int Run(VirtualMachineConfiguration configuration, HostConsole console)
    {
        using var vm = new VirtualMachine(configuration, console);
        vm.Boot();
        return vm.Run();
    }

    /// <summary>Loads the guest and lets it run (or waits for <see cref="Continue"/> when the configuration starts paused).</summary>
    public void Boot()
    {
        _machine.Boot();
        PrepareSavePathWarmUp();
        if (Configuration.StartPaused)
        {
            _machine.Pause();
            SetState(VmRunState.Prelaunch);
        }
        else
        {
            SetState(VmRunState.Running);
        }
    }

    /// <summary>
    /// Runs the guest on the calling thread until it powers off, fails or the VM is told to quit;
    /// a guest reboot or <see cref="SystemReset"/> resets the board in place and goes on.
    /// Returns 0 after a power-off or a quit, the guest's code after a reported failure.
    /// </summary>
    /// <exception cref="VmmException">The VM could not go on (an incoming state failed), in one sentence.</exception>
    public int Run()
    {
        while (true)
        {
            MachineExit exit = _machine.Run();
            ReportStatistics();
            string? failure;
            bool hostReset, quit;
            lock (_gate)
            {
                failure = _failure;
                hostReset = _hostResetRequested;
                quit = _quitRequested;
                _hostResetRequested = false;
            }

            if (failure is not null)
            {
                SetState(VmRunState.InternalError);
                throw new VmmException(failure);
            }

            switch (exit.Kind)
            {
                case MachineExitKind.PowerOff:
                    Shutdown(guest: true, "guest-shutdown");
                    return 0;
                case MachineExitKind.Stopped:
                    Shutdown(guest: false, quit ? "host-qmp-quit" : "host-signal");
                    return 0;
                case MachineExitKind.Failure:
                    SetState(VmRunState.GuestPanicked);
                    Raise("SHUTDOWN", new JsonObject { ["guest"] = true, ["reason"] = "guest-panic" });
                    return exit.Code == 0 ? 1 : exit.Code;
                case MachineExitKind.Reset:
                    _machine.ResetInPlace();
                    Raise("RESET", new JsonObject { ["guest"] = !hostReset, ["reason"] = hostReset ? "host-qmp-system-reset" : "guest-reset" });
                    continue;
            }
        }
    }

    /// <summary>Pauses the guest (QMP <c>stop</c>); raises <c>STOP</c> when it was running.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_state != VmRunState.Running)
            {
                return;
            }

            _machine.Pause();
            _state = VmRunState.Paused;
        }

        Raise("STOP");
    }

    /// <summary>Lets a paused guest run on (QMP <c>cont</c>); raises <c>RESUME</c>.</summary>
    /// <exception cref="VmmException">The VM is in a state it cannot continue from (as QEMU's errors).</exception>
    public void Continue()
    {
        lock (_gate)
        {
            switch (_state)
            {
                case VmRunState.Running:
                    return;
                case VmRunState.InMigrate:
                    throw new VmmException("Guest is waiting for an incoming migration");
                case VmRunState.Shutdown:
                case VmRunState.GuestPanicked:
                case VmRunState.InternalError:
                    throw new VmmException("Resetting the Virtual Machine is required");
                case VmRunState.FinishMigrate:
                case VmRunState.SaveVm:
                case VmRunState.RestoreVm:
                    throw new VmmException($"The VM is busy ({_state.ToQmpName()}); try again when it is done");
                case VmRunState.PostMigrate:
                    // Its disks were let go for a destination; running on needs them back.
                    ActivateDisks(TimeSpan.Zero);
                    break;
            }

            _state = VmRunState.Running;
            _machine.Resume();
        }

        Raise("RESUME");
    }

    /// <summary>Resets the board in place, as a power cycle (QMP <c>system_reset</c>); the run state stays as it is.</summary>
    public void SystemReset()
    {
        lock (_gate)
        {
            _hostResetRequested = true;
        }

        _machine.RequestReset();
    }

    /// <summary>
    /// Asks the guest to power off (QMP <c>system_powerdown</c>): raises <c>POWERDOWN</c>. The
    /// <c>virt</c> board has no power button a guest listens to (QEMU's neither), so the guest
    /// goes on unless something else tells it; management stops it after a timeout.
    /// </summary>
    public void SystemPowerdown() => Raise("POWERDOWN");

    /// <summary>Ends the VM (QMP <c>quit</c>): <see cref="Run"/> returns 0.</summary>
    public void Quit()
    {
        lock (_gate)
        {
            _quitRequested = true;
        }

        _machine.RequestQuit();
    }

    /// <summary>Ends the VM because the host asked (SIGTERM, or SIGINT without a terminal console): <c>SHUTDOWN</c> says <c>host-signal</c>.</summary>
    public void Terminate() => _machine.RequestQuit();

    /// <summary>Stops the VM because it cannot go on; <see cref="Run"/> throws with <paramref name="sentence"/>.</summary>
    internal void Fail(string sentence)
    {
        lock (_gate)
        {
            _failure ??= sentence;
        }

        _machine.RequestQuit();
    }

    /// <summary>Takes every disk with its writer's lock (after an incoming state, or to run on after sending one).</summary>
    internal void ActivateDisks(TimeSpan patience)
    {
        foreach (Vessel.Vmm.Storage.HandoverDisk disk in _machine.HandoverDisks)
        {
            disk.Activate(patience);
        }
    }

    internal void SetState(VmRunState state)
    {
        lock (_gate)
        {
            _state = state;
        }
    }

    internal void Raise(string name, JsonObject? data = null) => EventRaised?.Invoke(MachineEvent.Now(name, data));

    private void Shutdown(bool guest, string reason)
    {
        SetState(VmRunState.Shutdown);
        Raise("SHUTDOWN", new JsonObject { ["guest"] = guest, ["reason"] = reason });
    }

    private void OnConsoleQuit() => _machine.RequestQuit();

    private void ReportStatistics()
    {
        if (Environment.GetEnvironmentVariable("VESSEL_STATS") == "1")
        {
            double seconds = _age.Elapsed.TotalSeconds;
            System.Console.Error.WriteLine(
                $"vessel: {_machine.InstructionsExecuted:N0} instructions in {seconds:F2} s ({_machine.InstructionsExecuted / seconds / 1e6:F1} MIPS), " +
                $"{_machine.Processor.DecodeCache.Invalidations:N0} code page invalidations, " +
                $"{_machine.Scheduler.Rounds:N0} rounds, {_machine.Scheduler.Sleeps:N0} sleeps");

            // CLOCK_MONOTONIC on Linux, as perf's -k CLOCK_MONOTONIC and bench/cpu/startup.sh read it.
            long first = _machine.Scheduler.FirstRunTimestamp;
            System.Console.Error.WriteLine(
                $"vessel: first instruction at monotonic {(double)first / System.Diagnostics.Stopwatch.Frequency:F6} s, " +
                $"unix {(_machine.Scheduler.FirstRunTime - DateTime.UnixEpoch).TotalSeconds:F6} s, " +
                $"after {_machine.Scheduler.FirstRunCpuTime.TotalMilliseconds:F0} ms of process CPU; " +
                $"process CPU {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F2} s");
            System.Console.Error.WriteLine($"vessel: {Hosting.StartupTimeline.Describe(first, _machine.Scheduler.FirstRunCpuTime)}");
        }
    }

    public void Dispose()
    {
        _console.QuitRequested -= OnConsoleQuit;
        _vnc?.Dispose();
        _machine.Dispose();
    }
}
