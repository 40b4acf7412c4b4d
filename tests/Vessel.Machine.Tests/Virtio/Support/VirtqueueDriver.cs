using System.Buffers.Binary;
using Vessel.Machine.Memory;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>One buffer of a chain the mock driver posts.</summary>
public readonly record struct Buffer(ulong Address, uint Length, bool IsWritable)
{
    public static Buffer Readable(ulong address, int length) => new(address, (uint)length, false);

    public static Buffer Writable(ulong address, int length) => new(address, (uint)length, true);
}

/// <summary>
/// The driver side of a split virtqueue, written from the specification for the tests: a
/// descriptor table, an available ring and a used ring in guest RAM, laid out and updated the way
/// Linux's virtio_ring does it.
/// </summary>
public sealed class VirtqueueDriver
{
    public const ushort FlagNext = 1;
    public const ushort FlagWrite = 2;
    public const ushort FlagIndirect = 4;

    private readonly GuestMemory _memory;
    private readonly GuestAllocator _allocator;
    private readonly Stack<ushort> _free = new();
    private readonly Dictionary<ushort, ushort[]> _inFlight = [];
    private ushort _availIndex;
    private ushort _lastUsed;

    public VirtqueueDriver(GuestMemory memory, GuestAllocator allocator, int index, ushort size)
    {
        _memory = memory;
        _allocator = allocator;
        Index = index;
        Size = size;
        DescriptorTable = allocator.Allocate(16UL * size, 4096);
        AvailableRing = allocator.Allocate(6 + 2UL * size, 4096);
        UsedRing = allocator.Allocate(6 + 8UL * size, 4096);
        for (int i = size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }
    }

    public int Index { get; }

    public ushort Size { get; }

    public ulong DescriptorTable { get; }

    public ulong AvailableRing { get; }

    public ulong UsedRing { get; }

    public ushort AvailableIndex => _availIndex;

    public int FreeDescriptors => _free.Count;

    public ushort UsedIndex => _memory.Read<ushort>(UsedRing + 2);

    /// <summary>avail_event, written by the device when VIRTIO_F_EVENT_IDX is negotiated.</summary>
    public ushort AvailEvent => _memory.Read<ushort>(UsedRing + 4 + 8UL * Size);

    /// <summary>Posts a chain of direct descriptors and makes it available; returns its head.</summary>
    public ushort Add(params Buffer[] buffers)
    {
        ushort head = AddUnpublished(buffers);
        Publish(head);
        return head;
    }

    /// <summary>Writes a direct chain into the table without making it available.</summary>
    public ushort AddUnpublished(params Buffer[] buffers)
    {
        var indices = new ushort[buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            indices[i] = _free.Pop();
        }

        for (int i = 0; i < buffers.Length; i++)
        {
            Buffer b = buffers[i];
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((b.IsWritable ? FlagWrite : 0) | (last ? 0 : FlagNext));
            WriteDescriptor(indices[i], b.Address, b.Length, flags, last ? (ushort)0 : indices[i + 1]);
        }

        _inFlight[indices[0]] = indices;
        return indices[0];
    }

    /// <summary>Posts a chain as one descriptor that points at an indirect table; returns its head.</summary>
    public ushort AddIndirect(params Buffer[] buffers)
    {
        ulong table = _allocator.Allocate(16UL * (ulong)buffers.Length, 16);
        for (int i = 0; i < buffers.Length; i++)
        {
            Buffer b = buffers[i];
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((b.IsWritable ? FlagWrite : 0) | (last ? 0 : FlagNext));
            WriteDescriptorAt(table + 16UL * (ulong)i, b.Address, b.Length, flags, last ? (ushort)0 : (ushort)(i + 1));
        }

        ushort head = _free.Pop();
        WriteDescriptor(head, table, (uint)(16 * buffers.Length), FlagIndirect, 0);
        _inFlight[head] = [head];
        Publish(head);
        return head;
    }

    /// <summary>Takes a free descriptor index for a hand-made (possibly malformed) chain.</summary>
    public ushort TakeDescriptor() => _free.Pop();

    public void WriteDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
        => WriteDescriptorAt(DescriptorTable + 16UL * index, address, length, flags, next);

    public void WriteDescriptorAt(ulong at, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        _memory.WriteBytes(at, d);
    }

    /// <summary>Puts <paramref name="head"/> in the available ring and publishes the new index.</summary>
    public void Publish(ushort head)
    {
        _memory.Write(AvailableRing + 4 + 2UL * (ulong)(_availIndex % Size), head);
        _availIndex++;
        Thread.MemoryBarrier();
        _memory.Write(AvailableRing + 2, _availIndex);
    }

    /// <summary>Writes the available index directly (to fake a corrupted ring).</summary>
    public void SetAvailableIndex(ushort value)
    {
        _availIndex = value;
        _memory.Write(AvailableRing + 2, value);
    }

    /// <summary>used_event: the driver wants an interrupt when the used index passes this value.</summary>
    public void SetUsedEvent(ushort value) => _memory.Write(AvailableRing + 4 + 2UL * Size, value);

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT.</summary>
    public void SetNoInterrupt(bool suppress) => _memory.Write(AvailableRing, (ushort)(suppress ? 1 : 0));

    /// <summary>Takes the next used element, if the device published one.</summary>
    public bool TryTakeUsed(out ushort id, out uint length)
    {
        if (UsedIndex == _lastUsed)
        {
            id = 0;
            length = 0;
            return false;
        }

        ulong element = UsedRing + 4 + 8UL * (ulong)(_lastUsed % Size);
        id = (ushort)_memory.Read<uint>(element);
        length = _memory.Read<uint>(element + 4);
        _lastUsed++;
        if (_inFlight.Remove(id, out ushort[]? indices))
        {
            foreach (ushort index in indices)
            {
                _free.Push(index);
            }
        }

        return true;
    }

    /// <summary>Waits for the next used element.</summary>
    public (ushort Id, uint Length) WaitUsed(string what = "a used buffer")
    {
        ushort id = 0;
        uint length = 0;
        Wait.Until(() => TryTakeUsed(out id, out length), what);
        return (id, length);
    }
}
