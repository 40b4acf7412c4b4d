using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Vessel.Machine.Timing;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// Runs all harts of a processor on the calling thread, round robin, a slice of instructions
/// at a time. Between slices it lets the board update each hart's timer interrupt and flush
/// buffered output; when every hart waits for an interrupt it sleeps until the next timer
/// deadline or until a device raises an interrupt, so an idle guest costs the host nothing.
/// With <see cref="RiscvProcessor.ThreadPerHart"/> every hart runs on a host thread of its own
/// instead (as QEMU's MTTCG), each sleeping on its own in <c>wfi</c>, while the calling thread
/// flushes output.
/// </summary>
/// <remarks>
/// <see cref="Pause"/> parks every thread that runs harts between two slices (a hart is asked to
/// end its slice at once) and returns when all are parked, so the harts' state and guest RAM
/// hold still; <see cref="Resume"/> lets them go on. Pauses nest (a migration's brief pause to
/// take the dirty log inside a user's pause), and pausing before <see cref="Run"/> starts makes
/// the machine start paused. <see cref="ThrottlePercent"/> slows the harts down (migration's
/// auto-converge) by sleeping after each slice.
/// </remarks>
public sealed class HartScheduler
{
    /// <summary>Instructions a hart runs before the scheduler looks at timers and other harts.</summary>
    public const int SliceInstructions = 20_000;

    private readonly RiscvProcessor _processor;
    private readonly Func<int, ulong> _updateTimer;
    private readonly Action _betweenSlices;
    private readonly ManualResetEventSlim _stopSignal = new(false);

    // Pausing: runners (the single scheduling thread, or one thread per hart) park under this
    // lock while _pauseRequested is set; Pause waits until _parked equals _runners.
    private readonly object _pauseGate = new();
    private volatile bool _pauseRequested;
    private int _pauseDepth;
    private long _stepRemaining;
    private volatile int _throttlePercent;
    private int _runners;
    private int _parked;

    /// <param name="processor">The harts to run.</param>
    /// <param name="updateTimer">
    /// Re-evaluates the timer interrupt of a hart (by index) against the clock and returns the
    /// time at which it next changes (<see cref="ulong.MaxValue"/> for never).
    /// </param>
    /// <param name="betweenSlices">Called after every round (e.g. to flush console output).</param>
    public HartScheduler(RiscvProcessor processor, Func<int, ulong> updateTimer, Action betweenSlices)
    {
        _processor = processor;
        _updateTimer = updateTimer;
        _betweenSlices = betweenSlices;
    }

    private long _instructions;
    private long _rounds;
    private long _sleeps;

    private long _firstRunTimestamp;
    private DateTime _firstRunTime;
    private TimeSpan _firstRunCpuTime;

    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when <see cref="Run"/> first began
    /// (0 before): when the first guest instruction ran, for start-up measurements.
    /// </summary>
    public long FirstRunTimestamp => Interlocked.Read(ref _firstRunTimestamp);

    /// <summary>The wall-clock time (UTC) of <see cref="FirstRunTimestamp"/>.</summary>
    public DateTime FirstRunTime => _firstRunTime;

    /// <summary>
    /// The process's CPU time (all threads) at <see cref="FirstRunTimestamp"/>: the VMM's start-up
    /// cost, which unlike the wall-clock time does not grow with the host's load.
    /// </summary>
    public TimeSpan FirstRunCpuTime => _firstRunCpuTime;

    /// <summary>Total instructions executed (statistics).</summary>
    public long InstructionsExecuted => Interlocked.Read(ref _instructions);

    /// <summary>Rounds over the harts (statistics; output flushes when harts have threads).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Times the scheduler (or a hart's thread) slept because nothing was runnable (statistics).</summary>
    public long Sleeps => Interlocked.Read(ref _sleeps);

    /// <summary>Set once <see cref="RequestStop"/> was called (a volatile read).</summary>
    private bool StopRequested => _stopSignal.IsSet;

    /// <summary>Makes <see cref="Run"/> return after the current slice. Thread-safe.</summary>
    public void RequestStop()
    {
        _stopSignal.Set();
        _processor.NotifyActivity();
        lock (_pauseGate)
        {
            Monitor.PulseAll(_pauseGate); // parked runners leave
        }
    }

    /// <summary>Forgets a stop request, so that <see cref="Run"/> can run the machine again (after a reset).</summary>
    public void ClearStopRequest() => _stopSignal.Reset();

    /// <summary>Whether a pause was requested and not yet resumed.</summary>
    public bool IsPaused => _pauseRequested;

    /// <summary>
    /// Share of time (0 to 99) the harts sleep after each slice, to slow a guest that dirties
    /// memory faster than a migration can send it. 0 (the default) never sleeps.
    /// </summary>
    public int ThrottlePercent
    {
        get => _throttlePercent;
        set => _throttlePercent = Math.Clamp(value, 0, 99);
    }

    /// <summary>
    /// Parks every hart between slices and returns once none runs (at once when the machine does
    /// not run). Thread-safe; a hart in the middle of a slice is asked to end it early, so this
    /// takes well under a millisecond on a machine that is not overloaded. Each call needs its
    /// own <see cref="Resume"/>.
    /// </summary>
    public void Pause()
    {
        lock (_pauseGate)
        {
            _pauseDepth++;
            _pauseRequested = true;
        }

        foreach (Hart hart in _processor.Harts)
        {
            hart.RequestYield();
        }

        lock (_pauseGate)
        {
            while (_parked < _runners && !StopRequested)
            {
                Monitor.Wait(_pauseGate);
            }
        }
    }

    /// <summary>Undoes one <see cref="Pause"/>; the harts run again when none is left. Thread-safe.</summary>
    public void Resume()
    {
        lock (_pauseGate)
        {
            if (_pauseDepth == 0)
            {
                return;
            }

            _pauseDepth--;
            _pauseRequested = _pauseDepth > 0;
            if (!_pauseRequested)
            {
                ClearYieldRequests();
            }

            Monitor.PulseAll(_pauseGate);
        }

        _processor.NotifyActivity();
    }

    /// <summary>
    /// Before parked harts go on: a hart that was idle when asked to yield still holds the request
    /// and would end its next slice at once; which harts were idle depends on host timing, so the
    /// requests are forgotten (every hart is parked, so none can be acting on one).
    /// </summary>
    private void ClearYieldRequests()
    {
        foreach (Hart hart in _processor.Harts)
        {
            hart.ClearYieldRequest();
        }
    }

    /// <summary>Counts the calling runner as parked and waits there until resumed or stopped.</summary>
    private void Park()
    {
        lock (_pauseGate)
        {
            _parked++;
            Monitor.PulseAll(_pauseGate);
            while (_pauseRequested && _stepRemaining == 0 && !StopRequested)
            {
                Monitor.Wait(_pauseGate);
            }

            _parked--;
        }
    }

    /// <summary>Sets how many threads run harts (0 when <see cref="Run"/> has returned) and tells a waiting <see cref="Pause"/>.</summary>
    private void SetRunners(int count)
    {
        lock (_pauseGate)
        {
            _runners = count;
            Monitor.PulseAll(_pauseGate);
        }
    }

    /// <summary>
    /// Deterministic mode only: runs the paused machine for <paramref name="instructions"/>
    /// instructions (translated blocks may finish a few more, the same ones each time) and parks
    /// it again. Returns the instructions executed.
    /// </summary>
    public long Step(long instructions)
    {
        if (!_processor.Clock.CountsInstructions)
        {
            throw new InvalidOperationException("Stepping needs the deterministic clock (--clock icount).");
        }

        lock (_pauseGate)
        {
            if (!_pauseRequested)
            {
                throw new InvalidOperationException("Stepping needs a paused machine.");
            }

            long before = Interlocked.Read(ref _instructions);
            ClearYieldRequests();
            _stepRemaining = Math.Max(instructions, 1);
            Monitor.PulseAll(_pauseGate);
            while ((_stepRemaining > 0 || _parked < _runners) && !StopRequested)
            {
                Monitor.Wait(_pauseGate);
            }

            return Interlocked.Read(ref _instructions) - before;
        }
    }

    /// <summary>Whether the single scheduling thread may run harts now: not paused, or in a step.</summary>
    private bool MayRun => !_pauseRequested || Volatile.Read(ref _stepRemaining) > 0;

    /// <summary>Counts a slice against a step in progress, ending the step when it is used up.</summary>
    private void AccountStep(long executed)
    {
        if (Volatile.Read(ref _stepRemaining) == 0)
        {
            return;
        }

        lock (_pauseGate)
        {
            _stepRemaining = Math.Max(0, _stepRemaining - executed);
            if (_stepRemaining == 0)
            {
                Monitor.PulseAll(_pauseGate);
            }
        }
    }

    /// <summary>Runs until <see cref="RequestStop"/> is called.</summary>
    public void Run()
    {
        if (Interlocked.CompareExchange(ref _firstRunTimestamp, System.Diagnostics.Stopwatch.GetTimestamp(), 0) == 0)
        {
            _firstRunTime = DateTime.UtcNow;
            _firstRunCpuTime = Environment.CpuUsage.TotalTime;
        }
        // The deterministic mode runs every hart on this thread, in a fixed order.
        if (_processor.ThreadPerHart && _processor.Harts.Count > 1 && !_processor.Clock.CountsInstructions)
        {
            RunThreaded();
            return;
        }

        SetRunners(1);
        try
        {
            RunOnThisThread();
        }
        finally
        {
            SetRunners(0);
        }
    }

    private void RunOnThisThread()
    {
        IReadOnlyList<Hart> harts = _processor.Harts;
        long thread = Vessel.Machine.Native.HostThread.CurrentId;
        foreach (Hart hart in harts)
        {
            hart.HostThreadId = thread;
        }

        VirtualClock clock = _processor.Clock;
        bool counting = clock.CountsInstructions;
        while (!StopRequested)
        {
            if (!MayRun)
            {
                _betweenSlices();
                Park();
                continue;
            }

            _rounds++;
            bool anyRan = false;
            ulong nextDeadline = ulong.MaxValue;
            for (int i = 0; i < harts.Count && !StopRequested && MayRun; i++)
            {
                Hart hart = harts[i];
                if (hart.RunState == HartRunState.Stopped)
                {
                    continue;
                }

                nextDeadline = Math.Min(nextDeadline, _updateTimer(i));
                if (hart.RunState == HartRunState.WaitingForInterrupt && !hart.InterruptPendingForWakeup())
                {
                    continue;
                }

                long sliceStart = _throttlePercent == 0 ? 0 : Stopwatch.GetTimestamp();
                long step = Volatile.Read(ref _stepRemaining);
                int executed = hart.Run(step > 0 ? (int)Math.Min(step, SliceInstructions) : SliceInstructions);
                Interlocked.Add(ref _instructions, executed);
                if (counting)
                {
                    clock.AdvanceInstructions(executed);
                }

                AccountStep(executed);
                anyRan = true;
                Throttle(sliceStart);
            }

            _betweenSlices();

            if (!anyRan && counting && nextDeadline != ulong.MaxValue && !StopRequested)
            {
                // Deterministic mode: with every hart waiting, time jumps to the next timer, so
                // the guest sees the same time whatever the host did. The host sleeps the jump
                // (at most 100 ms) only to keep an idle guest from spinning; input ends the wait.
                ulong now = clock.Now;
                if (nextDeadline > now)
                {
                    TimeSpan jump = VirtualClock.ToTimeSpan(nextDeadline - now);
                    bool woken = false;
                    if (!_pauseRequested)
                    {
                        _sleeps++;
                        woken = _processor.Activity.WaitOne(WholeMilliseconds(jump < s_maximumSleep ? jump : s_maximumSleep));
                    }

                    if (!woken)
                    {
                        clock.WarpTo(nextDeadline);
                    }
                }

                continue;
            }

            if (!anyRan && !StopRequested && MayRun)
            {
                ulong now = clock.Now;
                TimeSpan wait = nextDeadline == ulong.MaxValue
                    ? TimeSpan.FromMilliseconds(100)
                    : VirtualClock.ToTimeSpan(nextDeadline > now ? nextDeadline - now : 0);
                if (wait > TimeSpan.Zero)
                {
                    _sleeps++;
                    _processor.Activity.WaitOne(WholeMilliseconds(wait < s_maximumSleep ? wait : s_maximumSleep));
                }
            }
        }
    }

    private void RunThreaded()
    {
        IReadOnlyList<Hart> harts = _processor.Harts;
        ExceptionDispatchInfo? failure = null;
        var threads = new Thread[harts.Count];
        SetRunners(harts.Count);
        for (int i = 0; i < harts.Count; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    RunHart(index);
                }
                catch (Exception e)
                {
                    // A host bug: stop the machine and let Run report it on the caller's thread.
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    RequestStop();
                }
            })
            {
                Name = $"Vessel hart {i}",
                IsBackground = true,
            };
            threads[i].Start();
        }

        while (!StopRequested)
        {
            _rounds++;
            _betweenSlices();

            // Only output needs this thread now: a flush every 10 ms, not a wake-up for every
            // interrupt the harts raise (Activity fires on each, a thousand times a second
            // for an idle 4-hart guest).
            _stopSignal.Wait(TimeSpan.FromMilliseconds(10));
        }

        foreach (Hart hart in harts)
        {
            hart.PostRemoteRequest(RemoteRequest.None); // wakes it, so that it sees the stop
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        SetRunners(0);
        _betweenSlices();
        failure?.Throw();
    }

    /// <summary>One hart's thread: run slices, keep its timer current, sleep in wfi or while stopped.</summary>
    private void RunHart(int index)
    {
        Hart hart = _processor.Harts[index];
        VirtualClock clock = _processor.Clock;
        hart.OwnerThreadId = Environment.CurrentManagedThreadId;
        hart.HostThreadId = Vessel.Machine.Native.HostThread.CurrentId;
        try
        {
            while (!StopRequested)
            {
                if (_pauseRequested)
                {
                    Park();
                    continue;
                }

                if (hart.RunState == HartRunState.Stopped)
                {
                    hart.IdleUntilWork(s_maximumSleep);
                    continue;
                }

                ulong deadline = _updateTimer(index);
                if (hart.RunState == HartRunState.WaitingForInterrupt && !hart.InterruptPendingForWakeup())
                {
                    ulong now = clock.Now;
                    TimeSpan wait = deadline == ulong.MaxValue
                        ? s_maximumSleep
                        : VirtualClock.ToTimeSpan(deadline > now ? deadline - now : 0);
                    if (wait > TimeSpan.Zero)
                    {
                        Interlocked.Increment(ref _sleeps);
                        hart.IdleUntilWork(wait < s_maximumSleep ? wait : s_maximumSleep);
                    }

                    continue;
                }

                long sliceStart = _throttlePercent == 0 ? 0 : Stopwatch.GetTimestamp();
                Interlocked.Add(ref _instructions, hart.Run(SliceInstructions));
                Throttle(sliceStart);
            }
        }
        finally
        {
            hart.OwnerThreadId = 0;
        }
    }

    /// <summary>
    /// After a slice that started at <paramref name="sliceStart"/>, owes a sleep that makes the
    /// slice's share of time (100 - throttle) %, and pays the debt once it reaches 2 ms (a slice
    /// takes well under a millisecond; sleeping for each one would oversleep).
    /// </summary>
    private void Throttle(long sliceStart)
    {
        int percent = _throttlePercent;
        if (percent == 0 || sliceStart == 0)
        {
            return;
        }

        TimeSpan ran = Stopwatch.GetElapsedTime(sliceStart);
        t_throttleDebt += ran * percent / (100 - percent);
        if (t_throttleDebt >= TimeSpan.FromMilliseconds(2))
        {
            long before = Stopwatch.GetTimestamp();
            Thread.Sleep(t_throttleDebt);
            t_throttleDebt -= Stopwatch.GetElapsedTime(before);
        }
    }

    [ThreadStatic]
    private static TimeSpan t_throttleDebt;

    private static readonly TimeSpan s_maximumSleep = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Waits take whole milliseconds and a shorter one does not wait at all: rounding up keeps
    /// a hart whose timer is due in less than a millisecond from spinning until then.
    /// </summary>
    internal static int WholeMilliseconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalMilliseconds), 1, int.MaxValue);
}
