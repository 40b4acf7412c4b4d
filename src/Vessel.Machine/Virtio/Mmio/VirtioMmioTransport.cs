using System.Buffers.Binary;
using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Memory;
using Vessel.Machine.Virtio.Queues;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Virtio.Mmio;

/// <summary>
/// The virtio-mmio version 2 transport (virtio 1.2, section 4.2): the register window through
/// which a driver finds, negotiates with, configures and notifies one <see cref="IVirtioDevice"/>,
/// and the level-triggered interrupt wire through which the device answers.
/// </summary>
/// <remarks>
/// <para>Map it with a window of <see cref="WindowSize"/> bytes. VendorID reads 0x554d4551 ("QEMU"),
/// the value QEMU's virt board reports, so guests see the same identification on both.</para>
/// <para>The transport owns the device (disposing the transport disposes it) and its queues.
/// Register accesses come from any vCPU thread and are serialised by one lock; the interrupt
/// state has its own small lock so that device threads can signal while a vCPU holds the
/// register lock (for example while a reset waits for a request in flight).</para>
/// </remarks>
public sealed class VirtioMmioTransport : IMmioDevice, IVirtioInterrupt, IPersistent<VirtioMmioState>, IDisposable
{
    public const uint MagicValue = 0x74726976;
    public const uint Version = 2;
    public const uint VendorId = 0x554d4551;
    public const ulong WindowSize = 0x1000;

    private const uint DriverWritableStatus = (uint)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver
        | VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.Failed);

    private readonly IVirtioDevice _device;
    private readonly GuestMemory _memory;
    private readonly IInterruptLine _irq;
    private readonly Virtqueue[] _queues;
    private readonly Lock _lock = new();
    private readonly Lock _interruptLock = new();

    private uint _status;
    private uint _deviceFeaturesSelect;
    private uint _driverFeaturesSelect;
    private ulong _driverFeatures;
    private uint _queueSelect;
    private uint _interruptStatus;
    private uint _configGeneration;
    private volatile bool _needsReset;
    private volatile bool _activated;

    public VirtioMmioTransport(IVirtioDevice device, GuestMemory memory, IInterruptLine irq)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(irq);
        if ((device.DeviceFeatures & VirtioFeatures.Version1) == 0)
        {
            throw new ArgumentException("virtio-mmio version 2 requires a device that offers VIRTIO_F_VERSION_1.", nameof(device));
        }

        _device = device;
        _memory = memory;
        _irq = irq;
        _queues = new Virtqueue[device.QueueCount];
        for (int i = 0; i < _queues.Length; i++)
        {
            _queues[i] = new Virtqueue(i, device.GetMaxQueueSize(i), memory);
        }

        device.Connect(this);
    }

    public IVirtioDevice Device => _device;

    /// <summary>The device status as the driver reads it.</summary>
    public VirtioDeviceStatus Status => (VirtioDeviceStatus)ReadStatus();

    /// <summary>Why the transport or the device asked for a reset, when it did; for diagnostics.</summary>
    public string? NeedsResetReason { get; private set; }

    public ulong Read(ulong offset, int size)
    {
        if (offset >= VirtioMmioRegister.Config)
        {
            return ReadConfig(offset - VirtioMmioRegister.Config, size);
        }

        // Registers are 32 bits wide and only 32-bit accesses are defined (4.2.2.2).
        if (size != 4 || (offset & 3) != 0)
        {
            return 0;
        }

        switch ((int)offset)
        {
            case VirtioMmioRegister.MagicValue:
                return MagicValue;
            case VirtioMmioRegister.Version:
                return Version;
            case VirtioMmioRegister.DeviceId:
                return (uint)_device.DeviceType;
            case VirtioMmioRegister.VendorId:
                return VendorId;
            case VirtioMmioRegister.InterruptStatus:
                lock (_interruptLock)
                {
                    return _interruptStatus;
                }

            case VirtioMmioRegister.ConfigGeneration:
                return Volatile.Read(ref _configGeneration);
            case VirtioMmioRegister.SharedMemoryLengthLow:
            case VirtioMmioRegister.SharedMemoryLengthHigh:
            case VirtioMmioRegister.SharedMemoryBaseLow:
            case VirtioMmioRegister.SharedMemoryBaseHigh:
                // No shared memory regions: a length of all ones says the region does not exist.
                return uint.MaxValue;
        }

        lock (_lock)
        {
            switch ((int)offset)
            {
                case VirtioMmioRegister.DeviceFeatures:
                    return _deviceFeaturesSelect switch
                    {
                        0 => (uint)_device.DeviceFeatures,
                        1 => (uint)(_device.DeviceFeatures >> 32),
                        _ => 0,
                    };
                case VirtioMmioRegister.QueueNumMax:
                    return SelectedQueue?.MaxSize ?? 0u;
                case VirtioMmioRegister.QueueReady:
                    return SelectedQueue is { Ready: true } ? 1u : 0u;
                case VirtioMmioRegister.Status:
                    return ReadStatus();
                default:
                    // Write-only and reserved registers read as zero.
                    return 0;
            }
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset >= VirtioMmioRegister.Config)
        {
            WriteConfig(offset - VirtioMmioRegister.Config, size, value);
            return;
        }

        if (size != 4 || (offset & 3) != 0)
        {
            return;
        }

        uint data = (uint)value;
        switch ((int)offset)
        {
            case VirtioMmioRegister.QueueNotify:
                // Outside the register lock: the device only wakes its worker (or serves a cheap queue).
                if (_activated && !_needsReset && data < (uint)_queues.Length && _queues[data].Ready)
                {
                    _device.NotifyQueue((int)data);
                }

                return;
            case VirtioMmioRegister.InterruptAck:
                lock (_interruptLock)
                {
                    _interruptStatus &= ~data;
                    _irq.Set(_interruptStatus != 0);
                }

                return;
        }

        lock (_lock)
        {
            switch ((int)offset)
            {
                case VirtioMmioRegister.DeviceFeaturesSelect:
                    _deviceFeaturesSelect = data;
                    break;
                case VirtioMmioRegister.DriverFeaturesSelect:
                    _driverFeaturesSelect = data;
                    break;
                case VirtioMmioRegister.DriverFeatures:
                    WriteDriverFeatures(data);
                    break;
                case VirtioMmioRegister.QueueSelect:
                    _queueSelect = data;
                    break;
                case VirtioMmioRegister.QueueNum when SelectedQueue is { } queue:
                    // Truncating a bogus size could turn it into a plausible one; 0 is always rejected.
                    queue.Size = data > ushort.MaxValue ? (ushort)0 : (ushort)data;
                    break;
                case VirtioMmioRegister.QueueReady:
                    WriteQueueReady(data);
                    break;
                case VirtioMmioRegister.QueueDescLow when SelectedQueue is { } queue:
                    queue.DescriptorTable = WithLow(queue.DescriptorTable, data);
                    break;
                case VirtioMmioRegister.QueueDescHigh when SelectedQueue is { } queue:
                    queue.DescriptorTable = WithHigh(queue.DescriptorTable, data);
                    break;
                case VirtioMmioRegister.QueueDriverLow when SelectedQueue is { } queue:
                    queue.DriverArea = WithLow(queue.DriverArea, data);
                    break;
                case VirtioMmioRegister.QueueDriverHigh when SelectedQueue is { } queue:
                    queue.DriverArea = WithHigh(queue.DriverArea, data);
                    break;
                case VirtioMmioRegister.QueueDeviceLow when SelectedQueue is { } queue:
                    queue.DeviceArea = WithLow(queue.DeviceArea, data);
                    break;
                case VirtioMmioRegister.QueueDeviceHigh when SelectedQueue is { } queue:
                    queue.DeviceArea = WithHigh(queue.DeviceArea, data);
                    break;
                case VirtioMmioRegister.Status:
                    WriteStatus(data);
                    break;
                default:
                    // Read-only, reserved, SHMSel (no regions) and QueueReset (VIRTIO_F_RING_RESET not offered).
                    break;
            }
        }
    }

    /// <summary>The machine was reset (power cycle): the device returns to its state before the driver found it.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            ResetLocked();
        }
    }

    /// <summary>Stops the device's processing so RAM and device state can be saved consistently.</summary>
    public void Pause() => _device.Pause();

    /// <summary>Resumes processing after <see cref="Pause"/>.</summary>
    public void Resume() => _device.Resume();

    /// <summary>
    /// Captures the transport, queue and device state. For a snapshot that matches guest RAM,
    /// stop the vCPUs and call <see cref="Pause"/> first, and copy RAM before resuming.
    /// </summary>
    public VirtioMmioState SaveState()
    {
        lock (_lock)
        {
            var queues = new VirtqueueState[_queues.Length];
            for (int i = 0; i < queues.Length; i++)
            {
                queues[i] = _queues[i].SaveState();
            }

            uint interruptStatus;
            lock (_interruptLock)
            {
                interruptStatus = _interruptStatus;
            }

            return new VirtioMmioState(
                _device.DeviceType,
                _status,
                _activated,
                _needsReset,
                _deviceFeaturesSelect,
                _driverFeaturesSelect,
                _driverFeatures,
                _queueSelect,
                interruptStatus,
                Volatile.Read(ref _configGeneration),
                queues,
                _device.SaveState());
        }
    }

    /// <summary>
    /// Restores a saved state into this transport and its device (built with the same options),
    /// after guest RAM has been restored. An active device resumes serving its queues at once.
    /// </summary>
    /// <exception cref="ArgumentException">The state belongs to another device type or queue layout.</exception>
    public void RestoreState(VirtioMmioState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.DeviceType != _device.DeviceType || state.Queues.Length != _queues.Length)
        {
            throw new ArgumentException($"The saved virtio state is for a {state.DeviceType} device with {state.Queues.Length} queues, not a {_device.DeviceType} device with {_queues.Length}.", nameof(state));
        }

        lock (_lock)
        {
            ResetLocked();
            _status = state.Status & DriverWritableStatus;
            _deviceFeaturesSelect = state.DeviceFeaturesSelect;
            _driverFeaturesSelect = state.DriverFeaturesSelect;
            _driverFeatures = state.DriverFeatures & _device.DeviceFeatures;
            _queueSelect = state.QueueSelect;
            Volatile.Write(ref _configGeneration, state.ConfigGeneration);
            _device.RestoreState(state.Device);

            bool queuesValid = true;
            for (int i = 0; i < _queues.Length; i++)
            {
                if (!_queues[i].RestoreState(state.Queues[i], out string problem))
                {
                    queuesValid = false;
                    NeedsResetReason = problem;
                }
            }

            lock (_interruptLock)
            {
                _interruptStatus = state.InterruptStatus & (VirtioMmioRegister.InterruptUsedBuffer | VirtioMmioRegister.InterruptConfigChange);
                _irq.Set(_interruptStatus != 0);
            }

            if (state.NeedsReset || !queuesValid)
            {
                NeedsResetReason ??= "restored in the DEVICE_NEEDS_RESET state";
                SetNeedsReset();
            }
            else if (state.Activated)
            {
                ActivateLocked();
            }
        }
    }

    public void SignalUsedBuffers(int queueIndex) => RaiseInterrupt(VirtioMmioRegister.InterruptUsedBuffer);

    public void SignalConfigChange()
    {
        Interlocked.Increment(ref _configGeneration);
        if ((Volatile.Read(ref _status) & (uint)VirtioDeviceStatus.DriverOk) != 0)
        {
            RaiseInterrupt(VirtioMmioRegister.InterruptConfigChange);
        }
    }

    public void SignalNeedsReset()
    {
        NeedsResetReason ??= (_device as VirtioDevice)?.FailureReason;
        SetNeedsReset();
    }

    public void Dispose() => _device.Dispose();

    private Virtqueue? SelectedQueue => _queueSelect < (uint)_queues.Length ? _queues[_queueSelect] : null;

    private uint ReadStatus() => Volatile.Read(ref _status) | (_needsReset ? (uint)VirtioDeviceStatus.DeviceNeedsReset : 0);

    // Queue address registers only change while the queue is not ready (4.2.3.2); the queue's setters ignore other writes.
    private static ulong WithLow(ulong current, uint low) => (current & ~0xffff_ffffUL) | low;

    private static ulong WithHigh(ulong current, uint high) => (current & 0xffff_ffffUL) | ((ulong)high << 32);

    private void WriteDriverFeatures(uint data)
    {
        if ((_status & (uint)VirtioDeviceStatus.FeaturesOk) != 0)
        {
            return;
        }

        switch (_driverFeaturesSelect)
        {
            case 0:
                _driverFeatures = (_driverFeatures & ~0xffff_ffffUL) | data;
                break;
            case 1:
                _driverFeatures = (_driverFeatures & 0xffff_ffffUL) | ((ulong)data << 32);
                break;
        }
    }

    private void WriteQueueReady(uint data)
    {
        if (SelectedQueue is not { } queue)
        {
            return;
        }

        if (data == 0)
        {
            if (_activated && queue.Ready)
            {
                // Taking a queue away from a running device is only defined with VIRTIO_F_RING_RESET.
                NeedsResetReason ??= $"queue {queue.Index} disabled while the device runs";
                SetNeedsReset();
            }

            queue.Reset();
            return;
        }

        if (!queue.TryMakeReady(out string problem))
        {
            NeedsResetReason ??= problem;
            SetNeedsReset();
        }
    }

    private void WriteStatus(uint data)
    {
        if (data == 0)
        {
            ResetLocked();
            return;
        }

        uint requested = data & DriverWritableStatus;
        uint added = requested & ~_status;
        if ((added & (uint)VirtioDeviceStatus.FeaturesOk) != 0 && !FeaturesAcceptable())
        {
            // The driver reads the status back and gives up when FEATURES_OK did not stick (3.1.1).
            requested &= ~(uint)VirtioDeviceStatus.FeaturesOk;
        }

        Volatile.Write(ref _status, requested);
        if ((added & (uint)VirtioDeviceStatus.DriverOk) != 0 && !_activated)
        {
            if ((requested & (uint)VirtioDeviceStatus.FeaturesOk) == 0)
            {
                NeedsResetReason ??= "DRIVER_OK without FEATURES_OK";
                SetNeedsReset();
                return;
            }

            if (!_needsReset)
            {
                ActivateLocked();
            }
        }
    }

    private bool FeaturesAcceptable()
        => (_driverFeatures & ~_device.DeviceFeatures) == 0 && (_driverFeatures & VirtioFeatures.Version1) != 0;

    private void ActivateLocked()
    {
        foreach (Virtqueue queue in _queues)
        {
            if (queue.Ready)
            {
                queue.ApplyFeatures(_driverFeatures);
            }
        }

        try
        {
            _device.Activate(new VirtioActivation(_driverFeatures, _memory, _queues));
            _activated = true;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // A vCPU register write must never throw; a device that cannot start needs a reset.
            NeedsResetReason ??= $"the device could not start: {ex.Message}";
            SetNeedsReset();
        }
    }

    private void ResetLocked()
    {
        _activated = false;
        _device.Reset();
        foreach (Virtqueue queue in _queues)
        {
            queue.Reset();
        }

        Volatile.Write(ref _status, 0u);
        _deviceFeaturesSelect = 0;
        _driverFeaturesSelect = 0;
        _driverFeatures = 0;
        _queueSelect = 0;
        _needsReset = false;
        NeedsResetReason = null;
        lock (_interruptLock)
        {
            _interruptStatus = 0;
            _irq.Set(false);
        }
    }

    private void SetNeedsReset()
    {
        _needsReset = true;
        if ((Volatile.Read(ref _status) & (uint)VirtioDeviceStatus.DriverOk) != 0)
        {
            RaiseInterrupt(VirtioMmioRegister.InterruptConfigChange);
        }
    }

    private void RaiseInterrupt(uint bit)
    {
        lock (_interruptLock)
        {
            _interruptStatus |= bit;
            _irq.Set(true);
        }
    }

    private ulong ReadConfig(ulong offset, int size)
    {
        if (size is not (1 or 2 or 4 or 8) || offset >= int.MaxValue)
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        _device.ReadConfig((int)offset, bytes[..size]);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    private void WriteConfig(ulong offset, int size, ulong value)
    {
        if (size is not (1 or 2 or 4 or 8) || offset >= int.MaxValue)
        {
            return;
        }

        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _device.WriteConfig((int)offset, bytes[..size]);
    }
}
