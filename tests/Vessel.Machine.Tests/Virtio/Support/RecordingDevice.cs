using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>
/// A device for testing the queue machinery: it records the segments of every chain it pops,
/// fills the writable part with a byte pattern, and returns each chain with its writable length.
/// </summary>
public sealed class RecordingDevice(ushort queueSize = 16, bool inline = false)
    : VirtioDevice((VirtioDeviceType)0x7f, 1UL << 3, [queueSize, queueSize], configSize: 8, "test-device")
{
    private readonly DescriptorChain _chain = new(queueSize);
    private readonly Lock _lock = new();
    private readonly List<(int Queue, ushort Head, DescriptorSegment[] Segments)> _chains = [];

    public byte Fill { get; set; } = 0x5a;

    public IReadOnlyList<(int Queue, ushort Head, DescriptorSegment[] Segments)> Chains
    {
        get
        {
            lock (_lock)
            {
                return [.. _chains];
            }
        }
    }

    // The recording device has no state of its own; any record stands in for it.
    public override VirtioDeviceState SaveState() => new Vessel.Machine.Virtio.Entropy.VirtioRngState();

    public override void RestoreState(VirtioDeviceState state)
    {
    }

    protected override bool ProcessesInline(int queueIndex) => inline;

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        while (queue.TryPop(_chain))
        {
            lock (_lock)
            {
                _chains.Add((queueIndex, _chain.Head, _chain.Segments.ToArray()));
            }

            foreach (GuestRange range in _chain.EnumerateWritable(0, _chain.WritableLength))
            {
                _chain.Memory.GetWriteSpan(range.Address, range.Length).Fill(Fill);
            }

            queue.Push(_chain.Head, (uint)_chain.WritableLength);
        }
    }
}
