using Vessel.Machine.Memory;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Mmio;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>
/// Performs the register sequences of Linux's virtio_mmio driver (version 2) against a transport:
/// reset, ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK, queue setup, DRIVER_OK.
/// </summary>
public sealed class MmioDriver(VirtioMmioTransport transport, GuestMemory memory, GuestAllocator allocator)
{
    public VirtioMmioTransport Transport { get; } = transport;

    public uint Read(int register) => (uint)Transport.Read((ulong)register, 4);

    public void Write(int register, uint value) => Transport.Write((ulong)register, 4, value);

    public VirtioDeviceStatus Status => (VirtioDeviceStatus)Read(VirtioMmioRegister.Status);

    public ulong ReadDeviceFeatures()
    {
        Write(VirtioMmioRegister.DeviceFeaturesSelect, 1);
        ulong high = Read(VirtioMmioRegister.DeviceFeatures);
        Write(VirtioMmioRegister.DeviceFeaturesSelect, 0);
        return (high << 32) | Read(VirtioMmioRegister.DeviceFeatures);
    }

    /// <summary>Resets the device and negotiates <paramref name="wanted"/> (intersected with the offer unless <paramref name="force"/>). Returns whether FEATURES_OK stuck.</summary>
    public bool Negotiate(ulong wanted, bool force = false)
    {
        Write(VirtioMmioRegister.Status, 0);
        Write(VirtioMmioRegister.Status, (uint)VirtioDeviceStatus.Acknowledge);
        Write(VirtioMmioRegister.Status, (uint)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver));
        ulong features = force ? wanted : wanted & ReadDeviceFeatures();
        Write(VirtioMmioRegister.DriverFeaturesSelect, 1);
        Write(VirtioMmioRegister.DriverFeatures, (uint)(features >> 32));
        Write(VirtioMmioRegister.DriverFeaturesSelect, 0);
        Write(VirtioMmioRegister.DriverFeatures, (uint)features);
        Write(VirtioMmioRegister.Status, (uint)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk));
        return (Status & VirtioDeviceStatus.FeaturesOk) != 0;
    }

    /// <summary>Sets up queue <paramref name="index"/> like vm_setup_vq (size defaults to QueueNumMax).</summary>
    public VirtqueueDriver SetupQueue(int index, ushort? size = null)
    {
        Write(VirtioMmioRegister.QueueSelect, (uint)index);
        if (Read(VirtioMmioRegister.QueueReady) != 0)
        {
            throw new InvalidOperationException($"Queue {index} is already set up.");
        }

        ushort max = (ushort)Read(VirtioMmioRegister.QueueNumMax);
        if (max == 0)
        {
            throw new InvalidOperationException($"Queue {index} does not exist.");
        }

        var queue = new VirtqueueDriver(memory, allocator, index, size ?? max);
        Write(VirtioMmioRegister.QueueNum, queue.Size);
        WriteAddress(VirtioMmioRegister.QueueDescLow, queue.DescriptorTable);
        WriteAddress(VirtioMmioRegister.QueueDriverLow, queue.AvailableRing);
        WriteAddress(VirtioMmioRegister.QueueDeviceLow, queue.UsedRing);
        Write(VirtioMmioRegister.QueueReady, 1);
        return queue;
    }

    public void DriverOk()
        => Write(VirtioMmioRegister.Status, (uint)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk));

    public void Notify(int queueIndex) => Write(VirtioMmioRegister.QueueNotify, (uint)queueIndex);

    public uint InterruptStatus => Read(VirtioMmioRegister.InterruptStatus);

    public void AcknowledgeInterrupts() => Write(VirtioMmioRegister.InterruptAck, InterruptStatus);

    public uint ConfigGeneration => Read(VirtioMmioRegister.ConfigGeneration);

    public uint ReadConfig32(int offset) => (uint)Transport.Read((ulong)(VirtioMmioRegister.Config + offset), 4);

    public ushort ReadConfig16(int offset) => (ushort)Transport.Read((ulong)(VirtioMmioRegister.Config + offset), 2);

    public byte ReadConfig8(int offset) => (byte)Transport.Read((ulong)(VirtioMmioRegister.Config + offset), 1);

    /// <summary>A 64-bit field the way Linux reads it: two 32-bit reads.</summary>
    public ulong ReadConfig64(int offset) => ReadConfig32(offset) | ((ulong)ReadConfig32(offset + 4) << 32);

    public void WriteConfig32(int offset, uint value) => Transport.Write((ulong)(VirtioMmioRegister.Config + offset), 4, value);

    private void WriteAddress(int lowRegister, ulong address)
    {
        Write(lowRegister, (uint)address);
        Write(lowRegister + 4, (uint)(address >> 32));
    }
}
