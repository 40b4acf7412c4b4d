using System.Net.NetworkInformation;

namespace Vessel.Machine.Virtio.Net;

/// <summary>How a virtio-net device presents itself to the guest.</summary>
public sealed record VirtioNetOptions(PhysicalAddress MacAddress)
{
    /// <summary>Size of the receive and transmit queues.</summary>
    public ushort QueueSize { get; init; } = 256;

    /// <summary>Offer VIRTIO_NET_F_MRG_RXBUF: a received frame may span several guest buffers.</summary>
    public bool MergeableReceiveBuffers { get; init; } = true;

    /// <summary>Offer VIRTIO_NET_F_CSUM: the guest may hand over frames whose TCP/UDP checksum the device completes.</summary>
    public bool ChecksumOffload { get; init; } = true;
}
