namespace Vessel.Machine.Virtio;

/// <summary>Virtio device IDs (virtio 1.2, section 5), as the transport reports them to the driver.</summary>
public enum VirtioDeviceType : uint
{
    Network = 1,
    Block = 2,
    Console = 3,
    Entropy = 4,
    Balloon = 5,
    Scsi = 8,
    Gpu = 16,
    Input = 18,
}
