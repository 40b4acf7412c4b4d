using Vessel.Machine.Memory;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio;

/// <summary>
/// What a device receives when the driver sets DRIVER_OK: the negotiated features, guest memory
/// and every queue the transport knows of (indexed by queue number; a queue the driver did not
/// set up has <see cref="Virtqueue.Ready"/> false).
/// </summary>
public sealed record VirtioActivation(ulong Features, GuestMemory Memory, IReadOnlyList<Virtqueue> Queues)
{
    public bool HasFeature(ulong feature) => (Features & feature) == feature;
}
