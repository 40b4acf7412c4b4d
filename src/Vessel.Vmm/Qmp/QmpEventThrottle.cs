using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// Rate-limits one kind of event as QEMU's monitor does (<c>monitor_qapi_event_queue</c>): the
/// first goes out at once; during the following interval only the latest is kept, and it goes
/// out when the interval ends, which starts another.
/// </summary>
internal sealed class QmpEventThrottle : IDisposable
{
    private readonly TimeSpan _interval;
    private readonly Action<MachineEvent> _emit;
    private readonly object _gate = new();
    private readonly Timer _timer;
    private bool _intervalRunning;
    private MachineEvent? _pending;

    public QmpEventThrottle(TimeSpan interval, Action<MachineEvent> emit)
    {
        _interval = interval;
        _emit = emit;
        _timer = new Timer(_ => OnIntervalEnd());
    }

    public void Offer(MachineEvent machineEvent)
    {
        lock (_gate)
        {
            if (_intervalRunning)
            {
                _pending = machineEvent;
                return;
            }

            _intervalRunning = true;
            _timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }

        _emit(machineEvent);
    }

    private void OnIntervalEnd()
    {
        MachineEvent? pending;
        lock (_gate)
        {
            pending = _pending;
            _pending = null;
            _intervalRunning = pending is not null;
            if (_intervalRunning)
            {
                _timer.Change(_interval, Timeout.InfiniteTimeSpan);
            }
        }

        if (pending is not null)
        {
            // The event keeps the time it happened at, as QEMU's delayed events do.
            _emit(pending);
        }
    }

    public void Dispose() => _timer.Dispose();
}
