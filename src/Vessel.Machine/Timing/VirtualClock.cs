using System.Diagnostics;

namespace Vessel.Machine.Timing;

/// <summary>
/// The machine's time base: a counter at <see cref="Frequency"/> (10 MHz, the <c>virt</c>
/// board's <c>timebase-frequency</c>) that follows the host's monotonic clock while the VM runs
/// and stands still while it is paused, so a restored snapshot sees no jump in time.
/// </summary>
/// <remarks>
/// In the deterministic mode (<see cref="CountsInstructions"/>, <c>--clock icount</c>) time is
/// derived from the instructions executed instead (<see cref="InstructionsPerTick"/> per tick,
/// a guest that runs at 100 MIPS), which the scheduler reports with
/// <see cref="AdvanceInstructions"/>: the same instructions then see the same time, whatever
/// the host does meanwhile.
/// </remarks>
public sealed class VirtualClock
{
    public const ulong Frequency = 10_000_000;

    /// <summary>Instructions per tick of 100 ns in the deterministic mode.</summary>
    public const long InstructionsPerTick = 10;

    private readonly object _gate = new();
    private long _startTimestamp = Stopwatch.GetTimestamp();
    private ulong _ticksAtStart;
    private bool _paused;

    // Deterministic mode: whole ticks so far and instructions towards the next one.
    private ulong _countedTicks;
    private long _pendingInstructions;

    /// <param name="countsInstructions">Derive time from executed instructions (<c>--clock icount</c>).</param>
    public VirtualClock(bool countsInstructions = false) => CountsInstructions = countsInstructions;

    /// <summary>Whether time is derived from instructions (deterministic mode).</summary>
    public bool CountsInstructions { get; }

    /// <summary>The current time in ticks of <see cref="Frequency"/>.</summary>
    public ulong Now
    {
        get
        {
            if (CountsInstructions)
            {
                return Volatile.Read(ref _countedTicks);
            }

            if (_paused)
            {
                return _ticksAtStart;
            }

            long elapsed = Stopwatch.GetTimestamp() - Volatile.Read(ref _startTimestamp);
            return Volatile.Read(ref _ticksAtStart) + (ulong)((UInt128)(ulong)elapsed * Frequency / (ulong)Stopwatch.Frequency);
        }
    }

    /// <summary>In the deterministic mode, instructions executed towards the next tick (saved with the clock).</summary>
    public long PendingInstructions => Volatile.Read(ref _pendingInstructions);

    /// <summary>Converts a tick count into a host time span (one tick is 100 ns, as a <see cref="TimeSpan"/> tick).</summary>
    public static TimeSpan ToTimeSpan(ulong ticks) => TimeSpan.FromTicks((long)Math.Min(ticks, (ulong)TimeSpan.MaxValue.Ticks / 2));

    /// <summary>Deterministic mode: <paramref name="instructions"/> were executed. Called by the one thread that runs the harts.</summary>
    public void AdvanceInstructions(long instructions)
    {
        long pending = _pendingInstructions + instructions;
        Volatile.Write(ref _countedTicks, _countedTicks + (ulong)(pending / InstructionsPerTick));
        Volatile.Write(ref _pendingInstructions, pending % InstructionsPerTick);
    }

    /// <summary>Deterministic mode: every hart waits for an interrupt, so time jumps to <paramref name="ticks"/> (when later than now).</summary>
    public void WarpTo(ulong ticks)
    {
        if (ticks > _countedTicks)
        {
            Volatile.Write(ref _countedTicks, ticks);
            Volatile.Write(ref _pendingInstructions, 0);
        }
    }

    /// <summary>Stops the clock (VM paused). The deterministic clock only moves with instructions anyway.</summary>
    public void Pause()
    {
        lock (_gate)
        {
            if (!_paused)
            {
                _ticksAtStart = Now;
                _paused = true;
            }
        }
    }

    /// <summary>Starts the clock again from where it stopped.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            if (_paused)
            {
                _startTimestamp = Stopwatch.GetTimestamp();
                _paused = false;
            }
        }
    }

    /// <summary>Sets the current time (restoring a snapshot or an incoming migration).</summary>
    public void Set(ulong ticks, long pendingInstructions = 0)
    {
        lock (_gate)
        {
            _ticksAtStart = ticks;
            _startTimestamp = Stopwatch.GetTimestamp();
            Volatile.Write(ref _countedTicks, ticks);
            Volatile.Write(ref _pendingInstructions, pendingInstructions);
        }
    }
}
