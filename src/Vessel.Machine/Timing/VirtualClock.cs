using System.Diagnostics;

namespace Vessel.Machine.Timing;

/// <summary>
/// The machine's time base: a counter at <see cref="Frequency"/> (10 MHz, the <c>virt</c>
/// board's <c>timebase-frequency</c>) that follows the host's monotonic clock while the VM runs
/// and stands still while it is paused, so a restored snapshot sees no jump in time.
/// </summary>
public sealed class VirtualClock
{
    public const ulong Frequency = 10_000_000;

    private readonly object _gate = new();
    private long _startTimestamp = Stopwatch.GetTimestamp();
    private ulong _ticksAtStart;
    private bool _paused;

    /// <summary>The current time in ticks of <see cref="Frequency"/>.</summary>
    public ulong Now
    {
        get
        {
            if (_paused)
            {
                return _ticksAtStart;
            }

            long elapsed = Stopwatch.GetTimestamp() - Volatile.Read(ref _startTimestamp);
            return Volatile.Read(ref _ticksAtStart) + (ulong)((UInt128)(ulong)elapsed * Frequency / (ulong)Stopwatch.Frequency);
        }
    }

    /// <summary>Converts a tick count into a host time span (one tick is 100 ns, as a <see cref="TimeSpan"/> tick).</summary>
    public static TimeSpan ToTimeSpan(ulong ticks) => TimeSpan.FromTicks((long)Math.Min(ticks, (ulong)TimeSpan.MaxValue.Ticks / 2));

    /// <summary>Stops the clock (VM paused).</summary>
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
    public void Set(ulong ticks)
    {
        lock (_gate)
        {
            _ticksAtStart = ticks;
            _startTimestamp = Stopwatch.GetTimestamp();
        }
    }
}
