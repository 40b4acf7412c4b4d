using System.Numerics;
using Vessel.Machine.Memory;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio;

/// <summary>
/// What every virtio device shares: feature and configuration-space plumbing, the lifecycle
/// (activate, reset, pause, resume) and one worker thread that services queue notifications,
/// so that a vCPU's QueueNotify only wakes the worker and never waits for device work.
/// </summary>
/// <remarks>
/// Queue processing runs under the queue's <see cref="Virtqueue.SyncRoot"/>; reset and pause take
/// every queue lock once after clearing their flag, which waits out any request in flight.
/// Anything thrown while processing (a malformed ring, a device bug) is caught here: the device
/// records the reason, stops, and reports DEVICE_NEEDS_RESET through its transport.
/// </remarks>
public abstract class VirtioDevice : IVirtioDevice
{
    private static readonly IVirtioInterrupt s_noInterrupt = new DisconnectedInterrupt();

    private readonly ushort[] _maxQueueSizes;
    private readonly byte[] _config;
    private readonly Lock _lifecycleLock = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly string _name;
    private IVirtioInterrupt _interrupt = s_noInterrupt;
    private IReadOnlyList<Virtqueue> _queues = [];
    private GuestMemory? _memory;
    private Thread? _worker;
    private long _pendingQueues;
    private volatile bool _active;
    private volatile bool _paused;
    private volatile bool _broken;
    private volatile bool _disposed;
    private volatile string? _failureReason;

    protected VirtioDevice(VirtioDeviceType deviceType, ulong deviceSpecificFeatures, ReadOnlySpan<ushort> maxQueueSizes, int configSize, string name)
    {
        if (maxQueueSizes.Length is 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(maxQueueSizes), "A device has between 1 and 64 queues.");
        }

        foreach (ushort size in maxQueueSizes)
        {
            if (size == 0 || size > 32768 || (size & (size - 1)) != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(maxQueueSizes), $"Queue size {size} is not a power of two up to 32768.");
            }
        }

        DeviceType = deviceType;
        DeviceFeatures = deviceSpecificFeatures | VirtioFeatures.CommonRingFeatures;
        _maxQueueSizes = maxQueueSizes.ToArray();
        _config = new byte[configSize];
        _name = name;
    }

    public VirtioDeviceType DeviceType { get; }

    public ulong DeviceFeatures { get; }

    public int QueueCount => _maxQueueSizes.Length;

    public int ConfigSize => _config.Length;

    /// <summary>
    /// Serve every queue on the thread that notifies it (the vCPU's) instead of the worker: the
    /// deterministic mode, where a request must complete at the same guest instruction every run.
    /// </summary>
    public bool ProcessQueuesInline { get; set; }

    /// <summary>Features the driver accepted (valid while active).</summary>
    public ulong NegotiatedFeatures { get; private set; }

    /// <summary>Whether the driver has set DRIVER_OK and the device serves its queues.</summary>
    public bool IsActive => _active;

    /// <summary>Whether the device stopped on a protocol violation and waits for a reset.</summary>
    public bool IsBroken => _broken;

    /// <summary>Why the device stopped, when <see cref="IsBroken"/>; for diagnostics.</summary>
    public string? FailureReason => _failureReason;

    /// <summary>Active, not paused, not broken: queues may be processed.</summary>
    protected bool IsOperational => _active && !_paused && !_broken;

    protected bool IsPaused => _paused;

    protected IVirtioInterrupt Interrupt => _interrupt;

    protected GuestMemory Memory => _memory ?? throw new InvalidOperationException("The device has not been activated.");

    protected IReadOnlyList<Virtqueue> Queues => _queues;

    /// <summary>Guards <see cref="ConfigSpace"/>.</summary>
    protected Lock ConfigLock { get; } = new();

    /// <summary>The configuration space bytes (little-endian fields); touch only under <see cref="ConfigLock"/>.</summary>
    protected Span<byte> ConfigSpace => _config;

    public ushort GetMaxQueueSize(int queueIndex)
        => (uint)queueIndex < (uint)_maxQueueSizes.Length ? _maxQueueSizes[queueIndex] : (ushort)0;

    public void ReadConfig(int offset, Span<byte> data)
    {
        data.Clear();
        lock (ConfigLock)
        {
            if ((uint)offset < (uint)_config.Length)
            {
                int count = Math.Min(data.Length, _config.Length - offset);
                _config.AsSpan(offset, count).CopyTo(data);
            }
        }
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset >= _config.Length || data.IsEmpty)
        {
            return;
        }

        lock (ConfigLock)
        {
            OnConfigWrite(offset, data[..Math.Min(data.Length, _config.Length - offset)]);
        }
    }

    public void Connect(IVirtioInterrupt interrupt)
    {
        ArgumentNullException.ThrowIfNull(interrupt);
        if (!ReferenceEquals(_interrupt, s_noInterrupt))
        {
            throw new InvalidOperationException($"{_name} is already connected to a transport.");
        }

        _interrupt = interrupt;
    }

    public void Activate(VirtioActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        lock (_lifecycleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            NegotiatedFeatures = activation.Features;
            _memory = activation.Memory;
            _queues = activation.Queues;
            _broken = false;
            _failureReason = null;
            OnActivate(activation);
            _active = true;
            if (_worker is null)
            {
                _worker = new Thread(WorkerLoop) { IsBackground = true, Name = $"{_name} worker" };
                _worker.Start();
            }
        }

        // Whatever the driver queued before DRIVER_OK (or before a snapshot) is served now.
        WakeAllQueues();
    }

    public void Reset()
    {
        lock (_lifecycleLock)
        {
            _active = false;
            WaitForQueuesIdle();
            _broken = false;
            _failureReason = null;
            NegotiatedFeatures = 0;
            OnReset();
        }
    }

    public void NotifyQueue(int queueIndex)
    {
        if ((uint)queueIndex >= (uint)_maxQueueSizes.Length || !_active)
        {
            return;
        }

        if (ProcessQueuesInline || ProcessesInline(queueIndex))
        {
            RunQueueEvent(queueIndex);
        }
        else
        {
            WakeWorker(queueIndex);
        }
    }

    public void Pause()
    {
        lock (_lifecycleLock)
        {
            _paused = true;
            WaitForQueuesIdle();
        }
    }

    public void Resume()
    {
        lock (_lifecycleLock)
        {
            if (!_paused)
            {
                return;
            }

            _paused = false;
        }

        WakeAllQueues();
        OnResumed();
    }

    public abstract VirtioDeviceState SaveState();

    public abstract void RestoreState(VirtioDeviceState state);

    /// <summary>Schedules <see cref="HandleQueueEvent"/> for <paramref name="queueIndex"/> on the worker thread.</summary>
    protected void WakeWorker(int queueIndex)
    {
        if (_disposed)
        {
            return;
        }

        Interlocked.Or(ref _pendingQueues, 1L << queueIndex);
        _wake.Set();
    }

    /// <summary>Whether notifications of this queue are cheap enough to serve on the notifying (vCPU) thread.</summary>
    protected virtual bool ProcessesInline(int queueIndex) => false;

    /// <summary>
    /// Reacts to a notification (or a wake-up) of <paramref name="queueIndex"/>; by default serves
    /// the queue with <see cref="ServiceQueue"/>. Runs on the worker thread (or inline), without locks.
    /// </summary>
    protected virtual void HandleQueueEvent(int queueIndex) => ServiceQueue(queueIndex);

    /// <summary>
    /// Takes the queue lock, lets <see cref="ProcessQueue"/> pop and push chains, and signals the
    /// driver if it asked for it.
    /// </summary>
    protected void ServiceQueue(int queueIndex)
    {
        IReadOnlyList<Virtqueue> queues = _queues;
        if ((uint)queueIndex >= (uint)queues.Count)
        {
            return;
        }

        Virtqueue queue = queues[queueIndex];
        lock (queue.SyncRoot)
        {
            if (!IsOperational || !queue.Ready)
            {
                return;
            }

            ProcessQueue(queueIndex, queue);
            if (queue.ShouldSignalUsed())
            {
                _interrupt.SignalUsedBuffers(queueIndex);
            }
        }
    }

    /// <summary>Pops and completes chains of a ready queue, under its lock, while the device is operational.</summary>
    protected abstract void ProcessQueue(int queueIndex, Virtqueue queue);

    /// <summary>Device-specific start, under the lifecycle lock, before queues are served.</summary>
    protected virtual void OnActivate(VirtioActivation activation)
    {
    }

    /// <summary>Device-specific reset, after every queue went idle.</summary>
    protected virtual void OnReset()
    {
    }

    /// <summary>Called after <see cref="Resume"/> woke the queues.</summary>
    protected virtual void OnResumed()
    {
    }

    /// <summary>A driver write into the configuration space, already clipped to it; under <see cref="ConfigLock"/>.</summary>
    protected virtual void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
    }

    /// <summary>Stops the device after a protocol violation and tells the driver it needs a reset.</summary>
    protected void Fail(string reason)
    {
        if (_broken)
        {
            return;
        }

        _failureReason = reason;
        _broken = true;
        _interrupt.SignalNeedsReset();
    }

    /// <summary>Runs a queue event, turning anything thrown into DEVICE_NEEDS_RESET.</summary>
    protected void RunQueueEvent(int queueIndex)
    {
        if (!IsOperational)
        {
            return;
        }

        try
        {
            HandleQueueEvent(queueIndex);
        }
        catch (VirtqueueException ex)
        {
            Fail(ex.Message);
        }
        catch (Exception ex)
        {
            // Not a guest error we foresaw; the device stops rather than take the VMM down.
            Fail($"{_name}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private void WakeAllQueues()
    {
        if (_disposed)
        {
            return;
        }

        if (ProcessQueuesInline)
        {
            for (int i = 0; i < _maxQueueSizes.Length; i++)
            {
                RunQueueEvent(i);
            }

            return;
        }

        Interlocked.Or(ref _pendingQueues, _maxQueueSizes.Length == 64 ? -1L : (1L << _maxQueueSizes.Length) - 1);
        _wake.Set();
    }

    private void WaitForQueuesIdle()
    {
        foreach (Virtqueue queue in _queues)
        {
            // Taking the lock once waits for whoever is processing the queue; they re-check the
            // device flags under the lock, so nobody starts again after we leave.
            lock (queue.SyncRoot)
            {
            }
        }
    }

    private void WorkerLoop()
    {
        while (true)
        {
            _wake.Wait();
            _wake.Reset();
            if (_disposed)
            {
                return;
            }

            long pending = Interlocked.Exchange(ref _pendingQueues, 0);
            while (pending != 0)
            {
                int queueIndex = BitOperations.TrailingZeroCount(pending);
                pending &= pending - 1;
                RunQueueEvent(queueIndex);
            }
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        lock (_lifecycleLock)
        {
            _active = false;
            _disposed = true;

            // Callers from other threads (a network backend delivering a frame) finish before
            // the owner goes on to unmap guest RAM; later ones see the device inactive.
            WaitForQueuesIdle();
            _wake.Set();
        }

        if (_worker is not null && _worker != Thread.CurrentThread)
        {
            _worker.Join(TimeSpan.FromSeconds(30));
        }

        // _wake is deliberately not disposed: another thread may still be about to Set it
        // (a late EnqueueInput), and an undisposed event costs nothing once collected.
    }

    private sealed class DisconnectedInterrupt : IVirtioInterrupt
    {
        public void SignalUsedBuffers(int queueIndex)
        {
        }

        public void SignalConfigChange()
        {
        }

        public void SignalNeedsReset()
        {
        }
    }
}
