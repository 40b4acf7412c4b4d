using System.Text;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Console;
using Vessel.Machine.Virtio.Mmio;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioConsoleDeviceTests
{
    private readonly Lock _lock = new();
    private readonly MemoryStream _output = new();

    private string Output
    {
        get
        {
            lock (_lock)
            {
                return Encoding.ASCII.GetString(_output.ToArray());
            }
        }
    }

    [Fact]
    public void GuestOutputReachesTheHostBeforeNotifyReturns()
    {
        using var h = new VirtioHarness(new VirtioConsoleDevice(Collect));
        VirtqueueDriver[] q = h.Start();
        ulong a = h.Allocator.Place("Hello, "u8), b = h.Allocator.Place("hvc0!\n"u8);
        q[VirtioConsoleDevice.TransmitQueue].Add(Buffer.Readable(a, 7), Buffer.Readable(b, 6));
        h.Driver.Notify(VirtioConsoleDevice.TransmitQueue);

        // Linux's hvc driver spins on the used ring right after the notify.
        Assert.True(q[VirtioConsoleDevice.TransmitQueue].TryTakeUsed(out _, out uint length));
        Assert.Equal(0u, length);
        Assert.Equal("Hello, hvc0!\n", Output);
    }

    [Fact]
    public void HostInputFillsReceiveBuffersAsTheyArrive()
    {
        using var console = new VirtioConsoleDevice(Collect);
        using var h = new VirtioHarness(console);
        VirtqueueDriver[] q = h.Start();
        VirtqueueDriver rx = q[VirtioConsoleDevice.ReceiveQueue];

        // Input before any buffer waits in the device.
        Assert.Equal(5, console.EnqueueInput("ls -l"u8));
        Wait.Settle();
        Assert.Equal(5, console.PendingInput);

        ulong small = h.Allocator.Allocate(3), big = h.Allocator.Allocate(64);
        rx.Add(Buffer.Writable(small, 3));
        h.Driver.Notify(VirtioConsoleDevice.ReceiveQueue);
        Assert.Equal(3u, rx.WaitUsed().Length);
        Assert.Equal("ls "u8.ToArray(), h.Memory.GetReadSpan(small, 3).ToArray());

        rx.Add(Buffer.Writable(big, 64));
        h.Driver.Notify(VirtioConsoleDevice.ReceiveQueue);
        Assert.Equal(2u, rx.WaitUsed().Length);
        Assert.Equal("-l"u8.ToArray(), h.Memory.GetReadSpan(big, 2).ToArray());
        Assert.Equal(0, console.PendingInput);

        // A buffer posted with nothing to say stays with the device until input comes.
        rx.Add(Buffer.Writable(big, 64));
        h.Driver.Notify(VirtioConsoleDevice.ReceiveQueue);
        Wait.Settle();
        Assert.False(rx.TryTakeUsed(out _, out _));
        console.EnqueueInput("\n"u8);
        Assert.Equal(1u, rx.WaitUsed().Length);
        Assert.Equal((byte)'\n', h.Memory.Read<byte>(big));
        Assert.True(h.Irq.Level);
    }

    [Fact]
    public void InputIsBounded()
    {
        using var console = new VirtioConsoleDevice(Collect, new VirtioConsoleOptions { InputCapacity = 8 });
        Assert.Equal(8, console.EnqueueInput("0123456789"u8));
        Assert.Equal(0, console.EnqueueInput("x"u8));
        Assert.Equal(8, console.PendingInput);
    }

    [Fact]
    public void OffersASizeOnlyWhenGivenOne()
    {
        using var plain = new VirtioHarness(new VirtioConsoleDevice(Collect));
        Assert.Equal(0UL, plain.Driver.ReadDeviceFeatures() & VirtioConsoleDevice.FeatureSize);

        using var console = new VirtioConsoleDevice(Collect, new VirtioConsoleOptions { Columns = 80, Rows = 25 });
        using var h = new VirtioHarness(console);
        Assert.Equal(VirtioConsoleDevice.FeatureSize, h.Driver.ReadDeviceFeatures() & VirtioConsoleDevice.FeatureSize);
        Assert.Equal(0UL, h.Driver.ReadDeviceFeatures() & VirtioConsoleDevice.FeatureMultiport);
        Assert.Equal(80, h.Driver.ReadConfig16(0));
        Assert.Equal(25, h.Driver.ReadConfig16(2));
        h.Start();
        console.SetSize(132, 43);
        Assert.Equal(132, h.Driver.ReadConfig16(0));
        Assert.Equal(43, h.Driver.ReadConfig16(2));
        Assert.Equal(VirtioMmioRegister.InterruptConfigChange, h.Driver.InterruptStatus);
    }

    [Fact]
    public void EmergencyWriteGoesStraightToTheOutput()
    {
        using var h = new VirtioHarness(new VirtioConsoleDevice(Collect));
        h.Start();
        h.Driver.WriteConfig32(8, 'E');
        h.Driver.WriteConfig32(8, '!');
        Assert.Equal("E!", Output);
    }

    private void Collect(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            _output.Write(data);
        }
    }
}
