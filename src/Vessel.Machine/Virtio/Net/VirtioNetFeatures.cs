namespace Vessel.Machine.Virtio.Net;

/// <summary>virtio-net feature bits (virtio 1.2, section 5.1.3) that this device knows of.</summary>
public static class VirtioNetFeatures
{
    /// <summary>The device completes partial checksums of transmitted frames.</summary>
    public const ulong Checksum = 1UL << 0;

    /// <summary>The driver accepts frames with partial checksums.</summary>
    public const ulong GuestChecksum = 1UL << 1;

    public const ulong Mtu = 1UL << 3;
    public const ulong Mac = 1UL << 5;
    public const ulong MergeableReceiveBuffers = 1UL << 15;
    public const ulong Status = 1UL << 16;
    public const ulong ControlQueue = 1UL << 17;
}
