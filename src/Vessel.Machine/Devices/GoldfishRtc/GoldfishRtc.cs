using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Devices;

/// <summary>
/// The Goldfish real-time clock ("google,goldfish-rtc") of the <c>virt</c> board: a 64-bit
/// count of nanoseconds since the Unix epoch, read as TIME_LOW (which latches TIME_HIGH) then
/// TIME_HIGH, with one alarm that raises the interrupt line when the count reaches it.
/// </summary>
/// <remarks>
/// The count is the host's wall clock plus an offset; writing TIME_LOW or TIME_HIGH changes the
/// offset so the count takes the written half, as QEMU does. Like QEMU's, the alarm timer is
/// armed on the host clock when ALARM_LOW is written (ALARM_HIGH is written first).
/// </remarks>
public sealed class GoldfishRtc : IMmioDevice, IPersistent<GoldfishRtcState>, IDisposable
{
    /// <summary>The size of the register window on <c>virt</c>.</summary>
    public const ulong WindowSize = 0x1000;

    private const ulong TimeLow = 0x00;
    private const ulong TimeHigh = 0x04;
    private const ulong AlarmLow = 0x08;
    private const ulong AlarmHigh = 0x0c;
    private const ulong IrqEnabled = 0x10;
    private const ulong ClearAlarm = 0x14;
    private const ulong AlarmStatus = 0x18;
    private const ulong ClearInterrupt = 0x1c;

    private readonly object _gate = new();
    private readonly IInterruptLine _irq;
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _alarmTimer;

    private ulong _timeOffset;
    private ulong _alarmTime;
    private bool _alarmRunning;
    private ulong _alarmHostDeadline;
    private bool _interruptPending;
    private bool _interruptEnabled;
    private uint _timeHighLatch;
    private bool _irqLevel;
    private bool _disposed;

    /// <param name="irq">The interrupt line (PLIC source 11 on <c>virt</c>).</param>
    /// <param name="timeProvider">The host wall clock and alarm timers; the system clock by default.</param>
    public GoldfishRtc(IInterruptLine irq, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(irq);
        _irq = irq;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _alarmTimer = _timeProvider.CreateTimer(OnAlarmTimer, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            DriveIrq(force: true);
        }
    }

    /// <summary>The current count: nanoseconds since the Unix epoch as the guest sees them.</summary>
    public ulong Now
    {
        get
        {
            lock (_gate)
            {
                return Count();
            }
        }
    }

    public ulong Read(ulong offset, int size)
    {
        if (size < 4)
        {
            return 0;
        }

        lock (_gate)
        {
            switch (offset)
            {
                case TimeLow:
                {
                    ulong count = Count();
                    _timeHighLatch = (uint)(count >> 32);
                    return (uint)count;
                }

                case TimeHigh:
                    return _timeHighLatch;
                case AlarmLow:
                    return (uint)_alarmTime;
                case AlarmHigh:
                    return (uint)(_alarmTime >> 32);
                case IrqEnabled:
                    return _interruptEnabled ? 1UL : 0;
                case AlarmStatus:
                    return _alarmRunning ? 1UL : 0;
                default:
                    return 0;
            }
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (size < 4)
        {
            return;
        }

        uint half = (uint)value;
        lock (_gate)
        {
            switch (offset)
            {
                case TimeLow:
                {
                    ulong current = Count();
                    ulong wanted = (current & 0xffff_ffff_0000_0000) | half;
                    _timeOffset += wanted - current;
                    break;
                }

                case TimeHigh:
                {
                    ulong current = Count();
                    ulong wanted = (current & 0xffff_ffff) | ((ulong)half << 32);
                    _timeOffset += wanted - current;
                    break;
                }

                case AlarmLow:
                    _alarmTime = (_alarmTime & 0xffff_ffff_0000_0000) | half;
                    StartAlarm();
                    break;
                case AlarmHigh:
                    _alarmTime = (_alarmTime & 0xffff_ffff) | ((ulong)half << 32);
                    break;
                case IrqEnabled:
                    _interruptEnabled = (half & 1) != 0;
                    DriveIrq(force: false);
                    break;
                case ClearAlarm:
                    StopAlarm();
                    break;
                case ClearInterrupt:
                    _interruptPending = false;
                    DriveIrq(force: false);
                    break;
            }
        }
    }

    /// <summary>The power-on state: alarm off, interrupt disabled and clear (the time offset is kept, as in QEMU).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            StopAlarm();
            _alarmTime = 0;
            _interruptPending = false;
            _interruptEnabled = false;
            DriveIrq(force: true);
        }
    }

    public GoldfishRtcState SaveState()
    {
        lock (_gate)
        {
            return new GoldfishRtcState
            {
                TimeOffset = _timeOffset,
                AlarmTime = _alarmTime,
                AlarmRunning = _alarmRunning,
                InterruptPending = _interruptPending,
                InterruptEnabled = _interruptEnabled,
                TimeHighLatch = _timeHighLatch,
            };
        }
    }

    public void RestoreState(GoldfishRtcState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_gate)
        {
            _timeOffset = state.TimeOffset;
            _alarmTime = state.AlarmTime;
            _interruptPending = state.InterruptPending;
            _interruptEnabled = state.InterruptEnabled;
            _timeHighLatch = state.TimeHighLatch;
            if (state.AlarmRunning)
            {
                // An alarm that came due while the machine was saved fires at once.
                StartAlarm();
            }
            else
            {
                StopAlarm();
            }

            DriveIrq(force: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _alarmRunning = false;
        }

        _alarmTimer.Dispose();
    }

    private ulong HostNanoseconds() =>
        (ulong)(_timeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    private ulong Count() => HostNanoseconds() + _timeOffset;

    private void StartAlarm()
    {
        ulong count = Count();
        if (_alarmTime <= count)
        {
            StopAlarm();
            Fire();
            return;
        }

        // The deadline is fixed on the host clock now, so a later change of the time offset
        // does not move it (QEMU behaves the same).
        ulong remaining = _alarmTime - count;
        _alarmHostDeadline = HostNanoseconds() + remaining;
        _alarmRunning = true;
        ScheduleTimer(remaining);
    }

    private void StopAlarm()
    {
        _alarmRunning = false;
        if (!_disposed)
        {
            _alarmTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void ScheduleTimer(ulong nanoseconds)
    {
        if (_disposed)
        {
            return;
        }

        // At least the 1 ms a host timer resolves, at most a year (a later alarm is reached in
        // steps: the callback re-arms for the rest).
        ulong ticks = Math.Min((nanoseconds + 99) / 100, (ulong)TimeSpan.FromDays(365).Ticks);
        _alarmTimer.Change(TimeSpan.FromTicks((long)Math.Max((ulong)TimeSpan.TicksPerMillisecond, ticks)), Timeout.InfiniteTimeSpan);
    }

    private void OnAlarmTimer(object? state)
    {
        lock (_gate)
        {
            if (!_alarmRunning)
            {
                return;
            }

            ulong now = HostNanoseconds();
            if (now < _alarmHostDeadline)
            {
                // Early (clock granularity or a far deadline split into steps): wait for the rest.
                ScheduleTimer(_alarmHostDeadline - now);
                return;
            }

            _alarmRunning = false;
            Fire();
        }
    }

    private void Fire()
    {
        _interruptPending = true;
        DriveIrq(force: false);
    }

    private void DriveIrq(bool force)
    {
        bool level = _interruptPending && _interruptEnabled;
        if (force || level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }
}
