using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Machine.Memory;

namespace Vessel.Machine.Virtio.Queues;

/// <summary>
/// The device side of one split virtqueue (virtio 1.2, section 2.7). The transport writes the
/// driver's configuration (size and ring addresses) while the queue is not ready; the device
/// then pops descriptor chains from the available ring and pushes them to the used ring.
/// </summary>
/// <remarks>
/// <para>
/// The guest runs on other threads, so the ring indices are the synchronisation points: the
/// available index is read with acquire semantics before the ring entries and descriptors it
/// publishes, the used index is written with release semantics after the used elements and the
/// data, and a full fence separates our index store from reading the driver's suppression
/// fields (flags, used_event) and separates publishing avail_event from re-checking the
/// available index, the two store-then-load orders the protocol depends on.
/// </para>
/// <para>
/// Everything the guest supplies is checked: ring positions, descriptor indices, chain length,
/// loops, indirect tables, buffer ranges and the readable-before-writable order. A violation
/// throws <see cref="VirtqueueException"/>, which the device turns into DEVICE_NEEDS_RESET. The
/// device processes a queue under <see cref="SyncRoot"/>; all members except the configuration
/// setters expect that lock to be held.
/// </para>
/// </remarks>
public sealed class Virtqueue
{
    private readonly GuestMemory _memory;
    private ushort _size;
    private bool _eventIndex;
    private bool _indirect;
    private ushort _nextAvailable;
    private ushort _nextUsed;
    private ushort _pendingUsed;
    private ushort _usedAtLastSignal;
    private volatile bool _ready;

    public Virtqueue(int index, ushort maxSize, GuestMemory memory)
    {
        if (maxSize == 0 || maxSize > VirtqueueLayout.MaxQueueSize || (maxSize & (maxSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, "A virtqueue's maximum size must be a power of two up to 32768.");
        }

        Index = index;
        MaxSize = maxSize;
        _memory = memory;
    }

    public int Index { get; }

    /// <summary>QueueNumMax: the largest size the driver may choose, also the longest chain accepted.</summary>
    public ushort MaxSize { get; }

    /// <summary>Lock held while the device processes this queue (and by reset and pause to wait for it).</summary>
    public Lock SyncRoot { get; } = new();

    /// <summary>The size the driver chose (QueueNum).</summary>
    public ushort Size
    {
        get => _size;
        set
        {
            if (!_ready)
            {
                _size = value;
            }
        }
    }

    /// <summary>Guest physical address of the descriptor table (QueueDesc).</summary>
    public ulong DescriptorTable { get; set => field = _ready ? field : value; }

    /// <summary>Guest physical address of the available ring (QueueDriver).</summary>
    public ulong DriverArea { get; set => field = _ready ? field : value; }

    /// <summary>Guest physical address of the used ring (QueueDevice).</summary>
    public ulong DeviceArea { get; set => field = _ready ? field : value; }

    /// <summary>QueueReady: the driver finished configuring this queue.</summary>
    public bool Ready => _ready;

    /// <summary>Index of the next available ring entry the device will take.</summary>
    public ushort NextAvailable => _nextAvailable;

    /// <summary>The used index as last published to the driver.</summary>
    public ushort NextUsed => _nextUsed;

    /// <summary>
    /// Checks the driver's configuration: a power-of-two size no larger than <see cref="MaxSize"/>,
    /// rings aligned as the specification requires and lying inside guest RAM.
    /// </summary>
    public bool IsConfigurationValid(out string problem)
    {
        ushort size = _size;
        if (size == 0 || size > MaxSize || (size & (size - 1)) != 0)
        {
            problem = $"queue {Index} size {size} is not a power of two between 1 and {MaxSize}";
            return false;
        }

        if ((DescriptorTable & 15) != 0 || !_memory.Contains(DescriptorTable, (ulong)VirtqueueLayout.DescriptorSize * size))
        {
            problem = $"queue {Index} descriptor table at 0x{DescriptorTable:x} is misaligned or outside RAM";
            return false;
        }

        if ((DriverArea & 1) != 0 || !_memory.Contains(DriverArea, VirtqueueLayout.AvailableRingSize(size)))
        {
            problem = $"queue {Index} available ring at 0x{DriverArea:x} is misaligned or outside RAM";
            return false;
        }

        if ((DeviceArea & 3) != 0 || !_memory.Contains(DeviceArea, VirtqueueLayout.UsedRingSize(size)))
        {
            problem = $"queue {Index} used ring at 0x{DeviceArea:x} is misaligned or outside RAM";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    /// <summary>QueueReady = 1. Returns false (and stays not ready) when the configuration is invalid.</summary>
    public bool TryMakeReady(out string problem)
    {
        lock (SyncRoot)
        {
            if (_ready)
            {
                problem = string.Empty;
                return true;
            }

            if (!IsConfigurationValid(out problem))
            {
                return false;
            }

            _ready = true;
            return true;
        }
    }

    /// <summary>QueueReady = 0, or a device reset: forget the configuration and positions.</summary>
    public void Reset()
    {
        lock (SyncRoot)
        {
            _ready = false;
            _size = 0;
            DescriptorTable = 0;
            DriverArea = 0;
            DeviceArea = 0;
            _eventIndex = false;
            _indirect = false;
            _nextAvailable = 0;
            _nextUsed = 0;
            _pendingUsed = 0;
            _usedAtLastSignal = 0;
        }
    }

    /// <summary>Applies the negotiated ring features before the device starts using the queue.</summary>
    public void ApplyFeatures(ulong features)
    {
        lock (SyncRoot)
        {
            _eventIndex = (features & VirtioFeatures.EventIndex) != 0;
            _indirect = (features & VirtioFeatures.IndirectDescriptors) != 0;
        }
    }

    /// <summary>Whether the driver has made buffers available that the device has not taken yet.</summary>
    public bool HasAvailable() => _ready && ReadAvailableIndex() != _nextAvailable;

    /// <summary>
    /// Takes the next available descriptor chain into <paramref name="chain"/>. Returns false when
    /// the ring is empty; then, with VIRTIO_F_EVENT_IDX, avail_event has been set so that the
    /// driver notifies the device when it adds the next buffer.
    /// </summary>
    /// <exception cref="VirtqueueException">The driver corrupted the ring or the chain.</exception>
    public bool TryPop(DescriptorChain chain)
    {
        if (!_ready)
        {
            return false;
        }

        ushort pending = (ushort)(ReadAvailableIndex() - _nextAvailable);
        if (pending == 0)
        {
            if (!_eventIndex)
            {
                return false;
            }

            // Ask to be notified when the driver adds the entry at _nextAvailable, then look again:
            // the driver may have added it after our read and before it saw the new avail_event.
            WriteAvailEvent(_nextAvailable);
            Interlocked.MemoryBarrier();
            pending = (ushort)(ReadAvailableIndex() - _nextAvailable);
            if (pending == 0)
            {
                return false;
            }
        }

        if (pending > _size)
        {
            throw new VirtqueueException(Index, VirtqueueError.AvailableIndexJump, $"{pending} entries pending in a queue of {_size}");
        }

        ushort head = ReadU16(DriverArea + 4 + 2UL * (ushort)(_nextAvailable & (_size - 1)));
        WalkChain(head, chain);
        _nextAvailable++;
        return true;
    }

    /// <summary>Gives back the last <paramref name="count"/> popped chains, unused (they will be popped again).</summary>
    public void UndoPop(int count) => _nextAvailable = (ushort)(_nextAvailable - count);

    /// <summary>Writes a used element; the driver sees it after <see cref="PublishUsed"/>.</summary>
    public void AddUsed(ushort head, uint length)
    {
        ushort slot = (ushort)((_nextUsed + _pendingUsed) & (_size - 1));
        _memory.Write(DeviceArea + 4 + (ulong)VirtqueueLayout.UsedElementSize * slot, new VirtqUsedElement(head, length));
        _pendingUsed++;
    }

    /// <summary>Makes every element added since the last publish visible to the driver.</summary>
    public void PublishUsed()
    {
        if (_pendingUsed == 0)
        {
            return;
        }

        _nextUsed = (ushort)(_nextUsed + _pendingUsed);
        _pendingUsed = 0;

        // Release: the used elements and the data written into the buffers become visible no
        // later than the index that announces them.
        Volatile.Write(ref GuestU16(DeviceArea + 2, forWrite: true), _nextUsed);
    }

    /// <summary>Returns a chain to the driver: <see cref="AddUsed"/> then <see cref="PublishUsed"/>.</summary>
    public void Push(ushort head, uint length)
    {
        AddUsed(head, length);
        PublishUsed();
    }

    /// <summary>
    /// Whether the driver wants a used-buffer notification for what was published since the
    /// last call: VIRTQ_AVAIL_F_NO_INTERRUPT, or with VIRTIO_F_EVENT_IDX whether used_event
    /// lies in the range just published.
    /// </summary>
    public bool ShouldSignalUsed()
    {
        if (!_ready)
        {
            return false;
        }

        ushort previous = _usedAtLastSignal;
        ushort current = _nextUsed;
        if (previous == current)
        {
            return false;
        }

        _usedAtLastSignal = current;

        // Our used index store must be globally visible before we read the driver's wishes,
        // or we could miss the driver re-enabling interrupts and leave it waiting forever.
        Interlocked.MemoryBarrier();
        if (_eventIndex)
        {
            ushort usedEvent = ReadU16(DriverArea + 4 + 2UL * _size);
            return (ushort)(current - usedEvent - 1) < (ushort)(current - previous);
        }

        return (ReadU16(DriverArea) & VirtqueueLayout.AvailableFlagNoInterrupt) == 0;
    }

    public VirtqueueState SaveState()
    {
        lock (SyncRoot)
        {
            return new VirtqueueState(_size, _ready, DescriptorTable, DriverArea, DeviceArea, _nextAvailable, _nextUsed, _usedAtLastSignal);
        }
    }

    /// <summary>Restores a saved queue. Returns false when a ready queue's saved configuration is invalid here.</summary>
    public bool RestoreState(VirtqueueState state, out string problem)
    {
        Reset();
        lock (SyncRoot)
        {
            _size = state.Size;
            DescriptorTable = state.DescriptorTable;
            DriverArea = state.DriverArea;
            DeviceArea = state.DeviceArea;
            _nextAvailable = state.NextAvailable;
            _nextUsed = state.NextUsed;
            _usedAtLastSignal = state.UsedAtLastSignal;
            problem = string.Empty;
            if (!state.Ready)
            {
                return true;
            }

            if (!IsConfigurationValid(out problem))
            {
                return false;
            }

            _ready = true;
            return true;
        }
    }

    private void WalkChain(ushort head, DescriptorChain chain)
    {
        if (head >= _size)
        {
            throw new VirtqueueException(Index, VirtqueueError.HeadOutOfRange, $"head {head} in a queue of {_size}");
        }

        chain.Begin(head, _memory);
        ulong table = DescriptorTable;
        uint tableSize = _size;
        uint index = head;
        uint visited = 0;
        bool inIndirect = false;
        while (true)
        {
            if (index >= tableSize)
            {
                throw new VirtqueueException(Index, VirtqueueError.NextOutOfRange, $"descriptor {index} in a table of {tableSize}");
            }

            // A chain in a table of N entries that is longer than N must revisit an entry.
            if (++visited > tableSize)
            {
                throw new VirtqueueException(Index, VirtqueueError.ChainTooLong, $"chain from head {head} loops or exceeds its table");
            }

            // One copy of the descriptor: the guest may rewrite the table meanwhile, we only use what we checked.
            VirtqDescriptor descriptor = _memory.Read<VirtqDescriptor>(table + (ulong)VirtqueueLayout.DescriptorSize * index);
            if ((descriptor.Flags & VirtqueueLayout.DescriptorFlagIndirect) != 0)
            {
                (table, tableSize) = EnterIndirectTable(descriptor, inIndirect);
                inIndirect = true;
                index = 0;
                visited = 0;
                continue;
            }

            if (descriptor.Length != 0 && !_memory.Contains(descriptor.Address, descriptor.Length))
            {
                throw new VirtqueueException(Index, VirtqueueError.BufferOutsideRam, $"buffer 0x{descriptor.Address:x}+0x{descriptor.Length:x}");
            }

            chain.Add(Index, descriptor.Address, descriptor.Length, (descriptor.Flags & VirtqueueLayout.DescriptorFlagWrite) != 0);
            if ((descriptor.Flags & VirtqueueLayout.DescriptorFlagNext) == 0)
            {
                return;
            }

            index = descriptor.Next;
        }
    }

    private (ulong Table, uint Size) EnterIndirectTable(in VirtqDescriptor descriptor, bool inIndirect)
    {
        if (!_indirect)
        {
            throw new VirtqueueException(Index, VirtqueueError.IndirectNotNegotiated, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        }

        if (inIndirect)
        {
            throw new VirtqueueException(Index, VirtqueueError.NestedIndirect, "indirect descriptor inside an indirect table");
        }

        if ((descriptor.Flags & VirtqueueLayout.DescriptorFlagNext) != 0)
        {
            throw new VirtqueueException(Index, VirtqueueError.IndirectWithNext, "indirect descriptor with VIRTQ_DESC_F_NEXT");
        }

        if (descriptor.Length == 0 || descriptor.Length % VirtqueueLayout.DescriptorSize != 0)
        {
            throw new VirtqueueException(Index, VirtqueueError.BadIndirectLength, $"indirect table of {descriptor.Length} bytes");
        }

        uint entries = descriptor.Length / VirtqueueLayout.DescriptorSize;
        if (entries > MaxSize)
        {
            throw new VirtqueueException(Index, VirtqueueError.ChainTooLong, $"indirect table of {entries} descriptors, more than {MaxSize}");
        }

        if (!_memory.Contains(descriptor.Address, descriptor.Length))
        {
            throw new VirtqueueException(Index, VirtqueueError.BufferOutsideRam, $"indirect table 0x{descriptor.Address:x}+0x{descriptor.Length:x}");
        }

        return (descriptor.Address, entries);
    }

    private ushort ReadAvailableIndex()
    {
        // Acquire: ring entries and descriptors published by this index are read after it.
        return Volatile.Read(ref GuestU16(DriverArea + 2, forWrite: false));
    }

    private void WriteAvailEvent(ushort value)
        => Volatile.Write(ref GuestU16(DeviceArea + 4 + (ulong)VirtqueueLayout.UsedElementSize * _size, forWrite: true), value);

    private ushort ReadU16(ulong address) => Volatile.Read(ref GuestU16(address, forWrite: false));

    /// <summary>
    /// A reference to an aligned 16-bit field of a ring, for volatile access. The ring was
    /// checked to be aligned and inside RAM when the queue became ready, so the field is too;
    /// the checked span accessors still guard the range.
    /// </summary>
    private ref ushort GuestU16(ulong address, bool forWrite)
    {
        if (forWrite)
        {
            return ref Unsafe.As<byte, ushort>(ref MemoryMarshal.GetReference(_memory.GetWriteSpan(address, sizeof(ushort))));
        }

        return ref Unsafe.As<byte, ushort>(ref MemoryMarshal.GetReference(_memory.GetReadSpan(address, sizeof(ushort))));
    }
}
