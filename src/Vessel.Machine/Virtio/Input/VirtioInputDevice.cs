using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Input;

/// <summary>What a virtio-input device tells the driver about itself through its configuration space.</summary>
public sealed record VirtioInputIdentity(
    string Name,
    ushort BusType,
    ushort Vendor,
    ushort Product,
    ushort Version,
    IReadOnlyDictionary<ushort, byte[]> EventBits,
    IReadOnlyDictionary<ushort, InputAbsInfo> AbsoluteAxes,
    string Serial = "");

/// <summary>
/// virtio-input (device type 18, virtio 1.2 section 5.8): evdev events from the host to the
/// guest on the event queue, LED and other events from the guest on the status queue, and the
/// configuration space a driver queries for the device's name, ids and event bits. Concrete
/// devices (<see cref="VirtioKeyboardDevice"/>, <see cref="VirtioTabletDevice"/>) describe themselves
/// and turn host input into events.
/// </summary>
/// <remarks>
/// Events are sent in groups ending with SYN_REPORT, from any thread; they wait in a bounded
/// queue until the guest posts buffers (one per event, as Linux does). A group that does not fit
/// is dropped whole, so the guest never sees half a key press.
/// </remarks>
public abstract class VirtioInputDevice : VirtioDevice
{
    public const int EventQueue = 0;
    public const int StatusQueue = 1;
    public const int ConfigSpaceSize = 136;

    public const byte SelectUnset = 0x00;
    public const byte SelectIdName = 0x01;
    public const byte SelectIdSerial = 0x02;
    public const byte SelectIdDevids = 0x03;
    public const byte SelectPropBits = 0x10;
    public const byte SelectEventBits = 0x11;
    public const byte SelectAbsInfo = 0x12;

    /// <summary>Events held for the guest at most; a group beyond is dropped.</summary>
    public const int PendingCapacity = 1024;

    private const ushort QueueSize = 64;
    private const int UnionOffset = 8;
    private const int UnionSize = 128;

    private readonly VirtioInputIdentity _identity;
    private readonly InputEvent[] _pending = new InputEvent[PendingCapacity];
    private readonly Lock _pendingLock = new();
    private readonly DescriptorChain _eventChain = new(QueueSize);
    private readonly DescriptorChain _statusChain = new(QueueSize);
    private int _pendingStart;
    private int _pendingCount;
    private long _dropped;
    private uint _leds;

    protected VirtioInputDevice(VirtioInputIdentity identity, string name)
        : base(VirtioDeviceType.Input, 0, [QueueSize, QueueSize], ConfigSpaceSize, name)
    {
        _identity = identity;
    }

    /// <summary>The LEDs the guest turned on (bit n: LED code n, e.g. caps lock = bit 1).</summary>
    public uint Leds => Volatile.Read(ref _leds);

    /// <summary>Events dropped because the guest did not take them in time.</summary>
    public long DroppedEvents => Interlocked.Read(ref _dropped);

    /// <summary>Events waiting for the guest's buffers.</summary>
    public int PendingEvents
    {
        get
        {
            lock (_pendingLock)
            {
                return _pendingCount;
            }
        }
    }

    public override VirtioDeviceState SaveState()
    {
        lock (_pendingLock)
        {
            var pending = new InputEvent[_pendingCount];
            for (int i = 0; i < pending.Length; i++)
            {
                pending[i] = _pending[(_pendingStart + i) % PendingCapacity];
            }

            return new VirtioInputState(pending, _leds);
        }
    }

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioInputState input || input.PendingEvents.Length > PendingCapacity)
        {
            throw new ArgumentException($"Expected virtio-input state, got {state.GetType().Name}.", nameof(state));
        }

        lock (_pendingLock)
        {
            input.PendingEvents.CopyTo(_pending, 0);
            _pendingStart = 0;
            _pendingCount = input.PendingEvents.Length;
            _leds = input.Leds;
        }
    }

    /// <summary>
    /// Queues a group of events for the guest (the caller ends it with SYN_REPORT). Returns false
    /// when the group was dropped: the driver is not running or has not taken earlier events.
    /// Safe from any thread.
    /// </summary>
    public bool Send(ReadOnlySpan<InputEvent> events)
    {
        if (!IsActive)
        {
            return false;
        }

        lock (_pendingLock)
        {
            if (PendingCapacity - _pendingCount < events.Length)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }

            foreach (InputEvent e in events)
            {
                _pending[(_pendingStart + _pendingCount) % PendingCapacity] = e;
                _pendingCount++;
            }
        }

        WakeWorker(EventQueue);
        return true;
    }

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        if (queueIndex == EventQueue)
        {
            DeliverEvents(queue);
        }
        else if (queueIndex == StatusQueue)
        {
            TakeStatus(queue);
        }
    }

    protected override void OnReset()
    {
        lock (_pendingLock)
        {
            _pendingStart = 0;
            _pendingCount = 0;
            _leds = 0;
        }
    }

    /// <summary>select (offset 0) and subsel (offset 1) choose what the union shows; the rest is read-only.</summary>
    protected override void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
        Span<byte> config = ConfigSpace;
        for (int i = 0; i < data.Length && offset + i < 2; i++)
        {
            config[offset + i] = data[i];
        }

        if (offset < 2)
        {
            FillUnion(config[0], config[1]);
        }
    }

    private void DeliverEvents(Virtqueue queue)
    {
        Span<byte> bytes = stackalloc byte[InputEvent.Size];
        lock (_pendingLock)
        {
            while (_pendingCount > 0 && queue.TryPop(_eventChain))
            {
                InputEvent e = _pending[_pendingStart];
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, e.Type);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes[2..], e.Code);
                BinaryPrimitives.WriteInt32LittleEndian(bytes[4..], e.Value);
                int written = _eventChain.CopyToWritable(0, bytes);
                queue.Push(_eventChain.Head, (uint)written);
                _pendingStart = (_pendingStart + 1) % PendingCapacity;
                _pendingCount--;
            }
        }
    }

    private void TakeStatus(Virtqueue queue)
    {
        Span<byte> bytes = stackalloc byte[InputEvent.Size];
        while (queue.TryPop(_statusChain))
        {
            if (_statusChain.CopyFromReadable(0, bytes) == InputEvent.Size)
            {
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
                ushort code = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]);
                int value = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
                if (type == InputEventCodes.EvLed && code < 32)
                {
                    uint bit = 1u << code;
                    lock (_pendingLock)
                    {
                        _leds = value != 0 ? _leds | bit : _leds & ~bit;
                    }
                }
            }

            queue.Push(_statusChain.Head, 0);
        }
    }

    /// <summary>Writes what (select, subsel) asks for into the union and its size; an unknown question answers size 0.</summary>
    private void FillUnion(byte select, byte subsel)
    {
        Span<byte> config = ConfigSpace;
        Span<byte> union = config.Slice(UnionOffset, UnionSize);
        union.Clear();
        int size = 0;
        switch (select)
        {
            case SelectIdName when subsel == 0:
                size = Encoding.ASCII.GetBytes(_identity.Name.AsSpan(0, Math.Min(_identity.Name.Length, UnionSize)), union);
                break;
            case SelectIdSerial when subsel == 0:
                size = Encoding.ASCII.GetBytes(_identity.Serial.AsSpan(0, Math.Min(_identity.Serial.Length, UnionSize)), union);
                break;
            case SelectIdDevids when subsel == 0:
                BinaryPrimitives.WriteUInt16LittleEndian(union, _identity.BusType);
                BinaryPrimitives.WriteUInt16LittleEndian(union[2..], _identity.Vendor);
                BinaryPrimitives.WriteUInt16LittleEndian(union[4..], _identity.Product);
                BinaryPrimitives.WriteUInt16LittleEndian(union[6..], _identity.Version);
                size = 8;
                break;
            case SelectEventBits when _identity.EventBits.TryGetValue(subsel, out byte[]? bits):
                bits.AsSpan(0, Math.Min(bits.Length, UnionSize)).CopyTo(union);
                size = Math.Min(bits.Length, UnionSize);
                break;
            case SelectAbsInfo when _identity.AbsoluteAxes.TryGetValue(subsel, out InputAbsInfo info):
                BinaryPrimitives.WriteInt32LittleEndian(union, info.Minimum);
                BinaryPrimitives.WriteInt32LittleEndian(union[4..], info.Maximum);
                BinaryPrimitives.WriteInt32LittleEndian(union[8..], info.Fuzz);
                BinaryPrimitives.WriteInt32LittleEndian(union[12..], info.Flat);
                BinaryPrimitives.WriteInt32LittleEndian(union[16..], info.Resolution);
                size = 20;
                break;
        }

        config[2] = (byte)size;
    }

    /// <summary>A bitmap with the given bits set, as long as its highest bit needs.</summary>
    protected static byte[] Bitmap(params ReadOnlySpan<ushort> bits)
    {
        int highest = 0;
        foreach (ushort bit in bits)
        {
            highest = Math.Max(highest, bit);
        }

        byte[] map = new byte[(highest / 8) + 1];
        foreach (ushort bit in bits)
        {
            map[bit / 8] |= (byte)(1 << (bit % 8));
        }

        return map;
    }
}
