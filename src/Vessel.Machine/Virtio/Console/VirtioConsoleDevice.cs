using System.Buffers.Binary;
using Vessel.Machine.Devices;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Console;

/// <summary>
/// virtio-console (device type 3, virtio 1.2 section 5.3) with a single port, port 0, which
/// Linux makes its <c>hvc0</c> console. Bytes the guest writes go to the output callback; bytes
/// the host enqueues are held in a bounded buffer and copied into the guest's receive buffers
/// as it posts them. VIRTIO_CONSOLE_F_MULTIPORT is not offered.
/// </summary>
public sealed class VirtioConsoleDevice : VirtioDevice
{
    public const ulong FeatureSize = 1UL << 0;
    public const ulong FeatureMultiport = 1UL << 1;
    public const ulong FeatureEmergencyWrite = 1UL << 2;

    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;

    public const int ConfigSpaceSize = 12;

    private readonly Action<ReadOnlySpan<byte>> _output;
    private readonly ByteFifo _input;
    private readonly Lock _inputLock = new();
    private readonly DescriptorChain _receiveChain;
    private readonly DescriptorChain _transmitChain;
    private ushort _columns;
    private ushort _rows;

    /// <param name="output">Receives what the guest writes; called on a vCPU thread, so it should not block for long.</param>
    public VirtioConsoleDevice(Action<ReadOnlySpan<byte>> output, VirtioConsoleOptions? options = null)
        : this(options ?? new VirtioConsoleOptions(), output)
    {
    }

    private VirtioConsoleDevice(VirtioConsoleOptions options, Action<ReadOnlySpan<byte>> output)
        : base(VirtioDeviceType.Console, Features(options), [options.QueueSize, options.QueueSize], ConfigSpaceSize, "virtio-console")
    {
        ArgumentNullException.ThrowIfNull(output);
        if (options.InputCapacity < 1)
        {
            throw new ArgumentException("The console input buffer must hold at least one byte.");
        }

        _output = output;
        _input = new ByteFifo(options.InputCapacity);
        _receiveChain = new DescriptorChain(options.QueueSize);
        _transmitChain = new DescriptorChain(options.QueueSize);
        _columns = options.Columns;
        _rows = options.Rows;
        WriteConfigSpace();
    }

    /// <summary>Bytes of input waiting for guest receive buffers.</summary>
    public int PendingInput
    {
        get
        {
            lock (_inputLock)
            {
                return _input.Count;
            }
        }
    }

    /// <summary>
    /// Queues bytes for the guest; returns how many were accepted (fewer than given when the
    /// input buffer is full). Safe to call from any thread.
    /// </summary>
    public int EnqueueInput(ReadOnlySpan<byte> data)
    {
        int accepted;
        lock (_inputLock)
        {
            accepted = _input.PushMany(data);
        }

        if (accepted > 0)
        {
            WakeWorker(ReceiveQueue);
        }

        return accepted;
    }

    /// <summary>Changes the terminal size the guest sees (only when the device offers VIRTIO_CONSOLE_F_SIZE).</summary>
    public void SetSize(ushort columns, ushort rows)
    {
        if ((DeviceFeatures & FeatureSize) == 0)
        {
            throw new InvalidOperationException("This console was created without a terminal size.");
        }

        lock (ConfigLock)
        {
            _columns = columns;
            _rows = rows;
            WriteConfigSpaceLocked();
        }

        Interrupt.SignalConfigChange();
    }

    public override VirtioDeviceState SaveState()
    {
        lock (_inputLock)
        {
            lock (ConfigLock)
            {
                return new VirtioConsoleState(_input.ToArray(), _columns, _rows);
            }
        }
    }

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioConsoleState console)
        {
            throw new ArgumentException($"Expected virtio-console state, got {state.GetType().Name}.", nameof(state));
        }

        lock (_inputLock)
        {
            _input.Load(console.PendingInput);
        }

        lock (ConfigLock)
        {
            _columns = console.Columns;
            _rows = console.Rows;
            WriteConfigSpaceLocked();
        }
    }

    // The Linux hvc driver spins until its output buffer comes back, so output is served on
    // the notifying vCPU rather than after a thread hop.
    protected override bool ProcessesInline(int queueIndex) => queueIndex == TransmitQueue;

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        if (queueIndex == TransmitQueue)
        {
            Transmit(queue);
        }
        else if (queueIndex == ReceiveQueue)
        {
            Receive(queue);
        }
    }

    protected override void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
        // emerg_wr (offset 8): one character written straight to the console.
        if (offset == 8 && (NegotiatedFeatures & FeatureEmergencyWrite) != 0)
        {
            _output(data[..1]);
        }
    }

    private void Transmit(Virtqueue queue)
    {
        while (queue.TryPop(_transmitChain))
        {
            foreach (GuestRange range in _transmitChain.EnumerateReadable(0, _transmitChain.ReadableLength))
            {
                _output(_transmitChain.Memory.GetReadSpan(range.Address, range.Length));
            }

            queue.Push(_transmitChain.Head, 0);
        }
    }

    private void Receive(Virtqueue queue)
    {
        lock (_inputLock)
        {
            while (_input.Count > 0 && queue.TryPop(_receiveChain))
            {
                int delivered = 0;
                foreach (GuestRange range in _receiveChain.EnumerateWritable(0, Math.Min(_receiveChain.WritableLength, _input.Count)))
                {
                    delivered += _input.PopMany(_receiveChain.Memory.GetWriteSpan(range.Address, range.Length));
                }

                queue.Push(_receiveChain.Head, (uint)delivered);
            }
        }
    }

    private void WriteConfigSpace()
    {
        lock (ConfigLock)
        {
            WriteConfigSpaceLocked();
        }
    }

    private void WriteConfigSpaceLocked()
    {
        Span<byte> config = ConfigSpace;
        BinaryPrimitives.WriteUInt16LittleEndian(config, _columns);
        BinaryPrimitives.WriteUInt16LittleEndian(config[2..], _rows);
        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], 1); // max_nr_ports (meaningful with MULTIPORT only)
    }

    private static ulong Features(VirtioConsoleOptions options)
        => FeatureEmergencyWrite | (options.Columns != 0 || options.Rows != 0 ? FeatureSize : 0);
}
