namespace Vessel.Machine.Virtio.Balloon;

/// <summary>How a virtio-balloon device is set up.</summary>
public sealed record VirtioBalloonOptions
{
    /// <summary>Offer VIRTIO_BALLOON_F_STATS_VQ (guest memory statistics).</summary>
    public bool Statistics { get; init; } = true;

    /// <summary>Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM: the guest may take pages back when it runs out of memory.</summary>
    public bool DeflateOnOutOfMemory { get; init; } = true;

    /// <summary>Size of each queue.</summary>
    public ushort QueueSize { get; init; } = 128;
}
