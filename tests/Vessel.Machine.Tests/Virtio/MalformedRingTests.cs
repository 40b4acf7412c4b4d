using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Mmio;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

/// <summary>
/// A hostile driver: every way of corrupting a split ring must end in DEVICE_NEEDS_RESET with a
/// configuration-change interrupt, never in an exception or an access outside guest RAM.
/// </summary>
public sealed class MalformedRingTests
{
    private const ushort QueueSize = 16;

    public static TheoryData<string> Cases => new()
    {
        "buffer outside RAM",
        "buffer straddling the end of RAM",
        "buffer wrapping around the address space",
        "descriptor loop",
        "self loop",
        "chain longer than the queue",
        "next out of range",
        "head out of range",
        "readable after writable",
        "available index jump",
        "indirect table of zero length",
        "indirect table length not a multiple of 16",
        "indirect table outside RAM",
        "indirect table longer than the queue",
        "nested indirect table",
        "indirect with next",
        "indirect loop",
        "indirect next out of range",
        "indirect buffer outside RAM",
        "indirect readable after writable",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AMalformedRingMakesTheDeviceNeedAReset(string corruption)
    {
        var device = new RecordingDevice(QueueSize);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        ulong ram = h.Memory.Base, end = h.Memory.End;
        ulong good = h.Allocator.Allocate(64);

        switch (corruption)
        {
            case "buffer outside RAM":
                q.Add(Buffer.Writable(0x1000, 64));
                break;
            case "buffer straddling the end of RAM":
                q.Add(Buffer.Readable(good, 8), Buffer.Writable(end - 16, 64));
                break;
            case "buffer wrapping around the address space":
                q.Add(Buffer.Writable(ulong.MaxValue - 8, 64));
                break;
            case "descriptor loop":
                Loop(q, good, 3);
                break;
            case "self loop":
                Loop(q, good, 1);
                break;
            case "chain longer than the queue":
                // A chain cannot be longer than the table without a loop, but a walk that never
                // ends must still be caught: every descriptor points at the next, the last at the first.
                Loop(q, good, QueueSize);
                break;
            case "next out of range":
            {
                ushort d = q.TakeDescriptor();
                q.WriteDescriptor(d, good, 8, VirtqueueDriver.FlagNext, QueueSize);
                q.Publish(d);
                break;
            }

            case "head out of range":
                q.Publish(QueueSize + 3);
                break;
            case "readable after writable":
                q.Add(Buffer.Writable(good, 8), Buffer.Readable(good + 8, 8));
                break;
            case "available index jump":
                q.SetAvailableIndex(QueueSize + 1);
                break;
            case "indirect table of zero length":
                Indirect(q, good, 0);
                break;
            case "indirect table length not a multiple of 16":
                Indirect(q, good, 24);
                break;
            case "indirect table outside RAM":
                Indirect(q, 0x10, 32);
                break;
            case "indirect table longer than the queue":
            {
                ulong table = h.Allocator.Allocate(16UL * (QueueSize + 1));
                Indirect(q, table, 16 * (QueueSize + 1));
                break;
            }

            case "nested indirect table":
            {
                ulong inner = h.Allocator.Allocate(16);
                q.WriteDescriptorAt(inner, good, 8, VirtqueueDriver.FlagWrite, 0);
                ulong outer = h.Allocator.Allocate(16);
                q.WriteDescriptorAt(outer, inner, 16, VirtqueueDriver.FlagIndirect, 0);
                Indirect(q, outer, 16);
                break;
            }

            case "indirect with next":
            {
                ulong table = h.Allocator.Allocate(16);
                q.WriteDescriptorAt(table, good, 8, VirtqueueDriver.FlagWrite, 0);
                ushort first = q.TakeDescriptor(), second = q.TakeDescriptor();
                q.WriteDescriptor(first, table, 16, VirtqueueDriver.FlagIndirect | VirtqueueDriver.FlagNext, second);
                q.WriteDescriptor(second, good, 8, VirtqueueDriver.FlagWrite, 0);
                q.Publish(first);
                break;
            }

            case "indirect loop":
            {
                ulong table = h.Allocator.Allocate(32);
                q.WriteDescriptorAt(table, good, 8, VirtqueueDriver.FlagNext, 1);
                q.WriteDescriptorAt(table + 16, good, 8, VirtqueueDriver.FlagNext, 0);
                Indirect(q, table, 32);
                break;
            }

            case "indirect next out of range":
            {
                ulong table = h.Allocator.Allocate(32);
                q.WriteDescriptorAt(table, good, 8, VirtqueueDriver.FlagNext, 2);
                q.WriteDescriptorAt(table + 16, good, 8, VirtqueueDriver.FlagWrite, 0);
                Indirect(q, table, 32);
                break;
            }

            case "indirect buffer outside RAM":
                q.AddIndirect(Buffer.Readable(good, 8), Buffer.Writable(ram - 4096, 8));
                break;
            case "indirect readable after writable":
                q.AddIndirect(Buffer.Writable(good, 8), Buffer.Readable(good, 8));
                break;
            default:
                throw new ArgumentException(corruption);
        }

        h.Driver.Notify(0);
        h.WaitNeedsReset();
        Assert.True(device.IsBroken);
        Assert.Contains("virtqueue 0", device.FailureReason);
        Assert.Equal(VirtioMmioRegister.InterruptConfigChange, h.Driver.InterruptStatus & VirtioMmioRegister.InterruptConfigChange);
        Assert.True(h.Irq.Level);
        Assert.Empty(device.Chains);

        // The device stays quiet until reset (even for a well-formed chain), then works again.
        q.WriteDescriptor(0, good, 8, VirtqueueDriver.FlagWrite, 0);
        q.Publish(0);
        h.Driver.Notify(0);
        Wait.Settle();
        Assert.Empty(device.Chains);
        VirtqueueDriver fresh = h.Start()[0];
        fresh.Add(Buffer.Writable(good, 8));
        h.Driver.Notify(0);
        fresh.WaitUsed();
        Assert.Single(device.Chains);
    }

    [Fact]
    public void ChainsLongerThan4GiBNeedAReset()
    {
        // Buffers may overlap: four that each cover all of a 1 GiB guest add up to 4 GiB.
        var device = new RecordingDevice(QueueSize);
        using var h = new VirtioHarness(device, ramSize: 1UL << 30);
        VirtqueueDriver q = h.Start()[0];
        ulong ram = h.Memory.Base;
        uint all = (uint)h.Memory.Size;
        q.Add(Buffer.Readable(ram, (int)all), Buffer.Readable(ram, (int)all), Buffer.Readable(ram, (int)all), Buffer.Readable(ram, (int)all), Buffer.Writable(ram, 8));
        h.Driver.Notify(0);
        h.WaitNeedsReset();
        Assert.Contains("ChainTooLarge", device.FailureReason);
    }

    [Fact]
    public void IndirectDescriptorsWithoutTheFeatureNeedAReset()
    {
        var device = new RecordingDevice(QueueSize);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start(features: VirtioFeatures.Version1)[0];
        q.AddIndirect(Buffer.Writable(h.Allocator.Allocate(8), 8));
        h.Driver.Notify(0);
        h.WaitNeedsReset();
        Assert.Contains("IndirectNotNegotiated", device.FailureReason);
    }

    [Fact]
    public void AGoodRequestBeforeTheBadOneCompletes()
    {
        var device = new RecordingDevice(QueueSize);
        using var h = new VirtioHarness(device);
        VirtqueueDriver q = h.Start()[0];
        ulong good = h.Allocator.Allocate(8);
        ushort head = q.Add(Buffer.Writable(good, 8));
        q.Add(Buffer.Writable(h.Memory.End, 8));
        h.Driver.Notify(0);
        h.WaitNeedsReset();
        Assert.Equal(head, Assert.Single(device.Chains).Head);
        Assert.True(q.TryTakeUsed(out ushort id, out _));
        Assert.Equal(head, id);
    }

    private static void Loop(VirtqueueDriver q, ulong buffer, int length)
    {
        var indices = new ushort[length];
        for (int i = 0; i < length; i++)
        {
            indices[i] = q.TakeDescriptor();
        }

        for (int i = 0; i < length; i++)
        {
            q.WriteDescriptor(indices[i], buffer, 8, VirtqueueDriver.FlagNext | VirtqueueDriver.FlagWrite, indices[(i + 1) % length]);
        }

        q.Publish(indices[0]);
    }

    private static void Indirect(VirtqueueDriver q, ulong table, uint length)
    {
        ushort head = q.TakeDescriptor();
        q.WriteDescriptor(head, table, length, VirtqueueDriver.FlagIndirect, 0);
        q.Publish(head);
    }
}
