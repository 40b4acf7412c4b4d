using System.Runtime.InteropServices;

namespace Vessel.Machine.Virtio.Queues;

/// <summary>The in-memory layout of a split virtqueue (virtio 1.2, section 2.7).</summary>
internal static class VirtqueueLayout
{
    public const int DescriptorSize = 16;
    public const int UsedElementSize = 8;

    public const ushort DescriptorFlagNext = 1;
    public const ushort DescriptorFlagWrite = 2;
    public const ushort DescriptorFlagIndirect = 4;

    public const ushort AvailableFlagNoInterrupt = 1;

    /// <summary>Largest split queue the specification allows.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>flags, idx, ring[size], used_event.</summary>
    public static ulong AvailableRingSize(ushort size) => 6 + 2UL * size;

    /// <summary>flags, idx, ring[size] of {id, len}, avail_event.</summary>
    public static ulong UsedRingSize(ushort size) => 6 + (ulong)UsedElementSize * size;
}

/// <summary>struct virtq_desc.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal readonly struct VirtqDescriptor
{
    public readonly ulong Address;
    public readonly uint Length;
    public readonly ushort Flags;
    public readonly ushort Next;
}

/// <summary>struct virtq_used_elem.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal readonly struct VirtqUsedElement(uint id, uint length)
{
    public readonly uint Id = id;
    public readonly uint Length = length;
}
