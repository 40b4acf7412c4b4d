using Vessel.Machine.Timing;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// Runs all harts of a processor on the calling thread, round robin, a slice of instructions
/// at a time. Between slices it lets the board update each hart's timer interrupt and flush
/// buffered output; when every hart waits for an interrupt it sleeps until the next timer
/// deadline or until a device raises an interrupt, so an idle guest costs the host nothing.
/// </summary>
public sealed class HartScheduler
{
    /// <summary>Instructions a hart runs before the scheduler looks at timers and other harts.</summary>
    public const int SliceInstructions = 20_000;

    /// <summary>The longest an idle scheduler sleeps before looking again (a safety net for lost wake-ups).</summary>
    private const int MaxSleepMilliseconds = 100;

    private readonly RiscvProcessor _processor;
    private readonly Func<int, ulong> _updateTimer;
    private readonly Action _betweenSlices;
    private volatile bool _stopRequested;

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

    /// <summary>Total instructions executed (statistics).</summary>
    public long InstructionsExecuted { get; private set; }

    /// <summary>Rounds over the harts (statistics).</summary>
    public long Rounds { get; private set; }

    /// <summary>Times the scheduler slept because every hart was idle (statistics).</summary>
    public long Sleeps { get; private set; }

    /// <summary>Makes <see cref="Run"/> return after the current slice. Thread-safe.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _processor.NotifyActivity();
    }

    /// <summary>Runs until <see cref="RequestStop"/> is called.</summary>
    public void Run()
    {
        IReadOnlyList<Hart> harts = _processor.Harts;
        VirtualClock clock = _processor.Clock;
        while (!_stopRequested)
        {
            Rounds++;
            bool anyRan = false;
            ulong nextDeadline = ulong.MaxValue;
            for (int i = 0; i < harts.Count && !_stopRequested; i++)
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

                InstructionsExecuted += hart.Run(SliceInstructions);
                anyRan = true;
            }

            _betweenSlices();

            if (!anyRan && !_stopRequested)
            {
                ulong now = clock.Now;
                if (nextDeadline > now)
                {
                    // Waits take whole milliseconds; round up, or the last millisecond before
                    // every timer deadline would be spent spinning through zero-length waits.
                    double milliseconds = VirtualClock.ToTimeSpan(nextDeadline - now).TotalMilliseconds;
                    int timeout = (int)Math.Min(Math.Ceiling(milliseconds), MaxSleepMilliseconds);
                    Sleeps++;
                    _processor.Activity.WaitOne(timeout);
                }
            }
        }
    }
}
