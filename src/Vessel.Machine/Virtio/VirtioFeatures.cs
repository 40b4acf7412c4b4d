namespace Vessel.Machine.Virtio;

/// <summary>
/// Feature bits that belong to the virtqueue and transport layer rather than to one device type
/// (virtio 1.2, section 6). Device-specific bits live next to each device.
/// </summary>
public static class VirtioFeatures
{
    /// <summary>VIRTIO_F_INDIRECT_DESC: descriptors may point at a table of further descriptors.</summary>
    public const ulong IndirectDescriptors = 1UL << 28;

    /// <summary>VIRTIO_F_EVENT_IDX: used_event / avail_event suppress notifications in both directions.</summary>
    public const ulong EventIndex = 1UL << 29;

    /// <summary>VIRTIO_F_VERSION_1: a modern (non-legacy) device; required by virtio-mmio version 2.</summary>
    public const ulong Version1 = 1UL << 32;

    /// <summary>The ring features every device built on <see cref="VirtioDevice"/> offers.</summary>
    public const ulong CommonRingFeatures = IndirectDescriptors | EventIndex | Version1;
}
