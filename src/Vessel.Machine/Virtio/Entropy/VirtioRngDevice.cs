using System.Security.Cryptography;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Entropy;

/// <summary>
/// virtio-rng (device type 4, virtio 1.2 section 5.4): fills each device-writable buffer the
/// driver posts with bytes from the host's CSPRNG. One queue, no features, no configuration.
/// </summary>
public sealed class VirtioRngDevice : VirtioDevice
{
    /// <summary>Bytes served per request at most; a driver asking for more simply gets fewer (the used length says how many).</summary>
    public const int MaxBytesPerRequest = 64 * 1024;

    private readonly DescriptorChain _chain;

    public VirtioRngDevice(ushort queueSize = 64)
        : base(VirtioDeviceType.Entropy, 0, [queueSize], configSize: 0, "virtio-rng")
    {
        _chain = new DescriptorChain(queueSize);
    }

    // Filling a few bytes costs less than waking a thread: serve on the notifying vCPU.
    protected override bool ProcessesInline(int queueIndex) => true;

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        while (queue.TryPop(_chain))
        {
            int filled = 0;
            foreach (GuestRange range in _chain.EnumerateWritable(0, Math.Min(_chain.WritableLength, MaxBytesPerRequest)))
            {
                RandomNumberGenerator.Fill(_chain.Memory.GetWriteSpan(range.Address, range.Length));
                filled += range.Length;
            }

            queue.Push(_chain.Head, (uint)filled);
        }
    }

    public override VirtioDeviceState SaveState() => new VirtioRngState();

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioRngState)
        {
            throw new ArgumentException($"Expected virtio-rng state, got {state.GetType().Name}.", nameof(state));
        }
    }
}
