using Vessel.Machine.Memory;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>A bump allocator over guest RAM for the mock driver's rings and buffers.</summary>
public sealed class GuestAllocator(GuestMemory memory)
{
    private ulong _next = memory.Base;

    public ulong Allocate(ulong length, ulong alignment = 16)
    {
        ulong address = (_next + alignment - 1) & ~(alignment - 1);
        if (!memory.Contains(address, length))
        {
            throw new InvalidOperationException("The test ran out of guest RAM.");
        }

        _next = address + length;
        return address;
    }

    /// <summary>Allocates and fills a buffer.</summary>
    public ulong Place(ReadOnlySpan<byte> data, ulong alignment = 16)
    {
        ulong address = Allocate((ulong)Math.Max(1, data.Length), alignment);
        memory.WriteBytes(address, data);
        return address;
    }
}
