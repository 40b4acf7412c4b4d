namespace Vessel.Machine.Virtio.Queues;

/// <summary>One buffer of a descriptor chain: a guest physical range the device may read or write.</summary>
public readonly record struct DescriptorSegment(ulong Address, uint Length, bool IsWritable);
