using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Entropy;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioRngDeviceTests
{
    [Fact]
    public void FillsEveryWritableBufferWithFreshRandomBytes()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver q = h.Start()[0];
        ulong a = h.Allocator.Allocate(256), b = h.Allocator.Allocate(256);

        q.Add(Buffer.Writable(a, 100), Buffer.Writable(a + 100, 156));
        h.Driver.Notify(0);
        Assert.Equal(256u, q.WaitUsed().Length);
        q.Add(Buffer.Writable(b, 256));
        h.Driver.Notify(0);
        Assert.Equal(256u, q.WaitUsed().Length);

        byte[] first = h.Memory.GetReadSpan(a, 256).ToArray();
        byte[] second = h.Memory.GetReadSpan(b, 256).ToArray();

        // 256 random bytes: all values of a byte are unlikely to repeat in a long run, and two
        // draws are (with overwhelming probability) different.
        Assert.NotEqual(first, second);
        Assert.True(first.Distinct().Count() > 64, "the bytes do not look random");
        Assert.True(h.Irq.Level);
    }

    [Fact]
    public void LargeRequestsAreServedUpToTheLimit()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver q = h.Start()[0];
        int size = VirtioRngDevice.MaxBytesPerRequest + 4096;
        ulong buffer = h.Allocator.Allocate((ulong)size);
        q.Add(Buffer.Writable(buffer, size));
        h.Driver.Notify(0);
        Assert.Equal((uint)VirtioRngDevice.MaxBytesPerRequest, q.WaitUsed().Length);
        Assert.All(h.Memory.GetReadSpan(buffer + (ulong)VirtioRngDevice.MaxBytesPerRequest, 4096).ToArray(), x => Assert.Equal(0, x));
    }

    [Fact]
    public void AReadableOnlyRequestGetsNothing()
    {
        using var h = new VirtioHarness(new VirtioRngDevice());
        VirtqueueDriver q = h.Start()[0];
        ulong buffer = h.Allocator.Allocate(16);
        q.Add(Buffer.Readable(buffer, 16));
        h.Driver.Notify(0);
        Assert.Equal(0u, q.WaitUsed().Length);
        Assert.All(h.Memory.GetReadSpan(buffer, 16).ToArray(), x => Assert.Equal(0, x));
    }
}
