namespace Vessel.Machine.Virtio;

/// <summary>The device status field (virtio 1.2, section 2.1).</summary>
[Flags]
public enum VirtioDeviceStatus : uint
{
    Reset = 0,
    Acknowledge = 1,
    Driver = 2,
    DriverOk = 4,
    FeaturesOk = 8,
    DeviceNeedsReset = 64,
    Failed = 128,
}
