using System.Buffers.Binary;
using System.Net.NetworkInformation;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Machine.Virtio.Net;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio;

public sealed class VirtioNetDeviceTests
{
    private static readonly PhysicalAddress s_mac = PhysicalAddress.Parse("52-54-00-12-34-56");

    [Fact]
    public void ConfigurationCarriesTheMacAndLinkStatus()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        Assert.Same(net, backend.Receiver);
        Assert.Equal(
            VirtioNetFeatures.Mac | VirtioNetFeatures.Status | VirtioNetFeatures.MergeableReceiveBuffers | VirtioNetFeatures.Checksum | VirtioFeatures.CommonRingFeatures,
            h.Driver.ReadDeviceFeatures());
        byte[] mac = Enumerable.Range(0, 6).Select(i => h.Driver.ReadConfig8(i)).ToArray();
        Assert.Equal(s_mac.GetAddressBytes(), mac);
        Assert.Equal(1, h.Driver.ReadConfig16(6)); // VIRTIO_NET_S_LINK_UP

        h.Start();
        net.SetLinkUp(false);
        Assert.Equal(0, h.Driver.ReadConfig16(6));
        Assert.Equal(VirtioMmioRegister.InterruptConfigChange, h.Driver.InterruptStatus);
    }

    [Fact]
    public void TransmittedFramesReachTheBackendWithoutTheHeader()
    {
        var backend = new FakeNetworkBackend();
        using var h = new VirtioHarness(new VirtioNetDevice(backend, new VirtioNetOptions(s_mac)));
        VirtqueueDriver tx = h.Start()[VirtioNetDevice.TransmitQueue];
        byte[] frame = Frame(100, seed: 1);
        ulong header = h.Allocator.Place(new byte[12]);
        ulong a = h.Allocator.Place(frame.AsSpan(0, 40)), b = h.Allocator.Place(frame.AsSpan(40));
        tx.Add(Buffer.Readable(header, 12), Buffer.Readable(a, 40), Buffer.Readable(b, 60));
        h.Driver.Notify(VirtioNetDevice.TransmitQueue);
        Assert.Equal(0u, tx.WaitUsed().Length);
        Assert.Equal(frame, Assert.Single(backend.Sent));
    }

    [Fact]
    public void PartialChecksumsAreCompletedBeforeTheBackendSeesTheFrame()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        VirtqueueDriver tx = h.Start()[VirtioNetDevice.TransmitQueue];
        byte[] payload = new byte[333]; // odd length exercises the padding byte
        new Random(7).NextBytes(payload);
        byte[] complete = UdpFrame(payload, out ushort expectedChecksum);

        // What Linux hands over with CHECKSUM_PARTIAL: the checksum field holds the folded
        // pseudo-header sum, csum_start is the UDP header, csum_offset the checksum field.
        byte[] partial = (byte[])complete.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(partial.AsSpan(14 + 20 + 6), PseudoHeaderSum(partial));
        byte[] header = new byte[12];
        header[0] = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 14 + 20);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), 6);
        tx.Add(Buffer.Readable(h.Allocator.Place(header), 12), Buffer.Readable(h.Allocator.Place(partial), partial.Length));
        h.Driver.Notify(VirtioNetDevice.TransmitQueue);
        tx.WaitUsed();

        byte[] sent = Assert.Single(backend.Sent);
        Assert.Equal(expectedChecksum, BinaryPrimitives.ReadUInt16BigEndian(sent.AsSpan(14 + 20 + 6)));
        Assert.Equal(complete, sent);
        Assert.Equal(1, net.TransmittedFrames);
    }

    [Theory]
    [InlineData(1, 0, 2000, 6)] // csum_start beyond the frame
    [InlineData(1, 0, 34, 200)] // checksum field beyond the frame
    [InlineData(0, 1, 0, 0)] // TCP segmentation was never offered
    public void MalformedTransmitHeadersDropTheFrame(byte flags, byte gsoType, ushort start, ushort offset)
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        VirtqueueDriver tx = h.Start()[VirtioNetDevice.TransmitQueue];
        byte[] header = new byte[12];
        header[0] = flags;
        header[1] = gsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), start);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), offset);
        byte[] frame = Frame(60, seed: 2);
        tx.Add(Buffer.Readable(h.Allocator.Place(header), 12), Buffer.Readable(h.Allocator.Place(frame), 60));
        h.Driver.Notify(VirtioNetDevice.TransmitQueue);
        tx.WaitUsed();
        Assert.Empty(backend.Sent);
        Assert.Equal(1, net.TransmitDroppedFrames);
        Assert.False(net.IsBroken);
    }

    [Fact]
    public void ReceivedFramesFillOneBufferWithoutMergeableBuffers()
    {
        var backend = new FakeNetworkBackend();
        using var h = new VirtioHarness(new VirtioNetDevice(backend, new VirtioNetOptions(s_mac)));
        VirtqueueDriver rx = h.Start(features: ulong.MaxValue & ~VirtioNetFeatures.MergeableReceiveBuffers)[VirtioNetDevice.ReceiveQueue];
        ulong buffer = h.Allocator.Allocate(1526);
        ushort head = rx.Add(Buffer.Writable(buffer, 1526));
        h.Driver.Notify(VirtioNetDevice.ReceiveQueue);

        byte[] frame = Frame(1000, seed: 3);
        Assert.True(backend.Receiver!.TryReceive(frame));
        (ushort id, uint length) = rx.WaitUsed();
        Assert.Equal(head, id);
        Assert.Equal(1012u, length);
        byte[] expectedHeader = new byte[12];
        expectedHeader[10] = 1; // num_buffers = 1
        Assert.Equal(expectedHeader, h.Memory.GetReadSpan(buffer, 12).ToArray());
        Assert.Equal(frame, h.Memory.GetReadSpan(buffer + 12, 1000).ToArray());
        Assert.True(h.Irq.Level);
    }

    [Fact]
    public void AFrameTooLargeForOneBufferIsDroppedAndTheBufferKept()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        VirtqueueDriver rx = h.Start(features: ulong.MaxValue & ~VirtioNetFeatures.MergeableReceiveBuffers)[VirtioNetDevice.ReceiveQueue];
        ulong buffer = h.Allocator.Allocate(512);
        ushort head = rx.Add(Buffer.Writable(buffer, 512));
        Assert.True(backend.Receiver!.TryReceive(Frame(600, seed: 4)));
        Assert.Equal(1, net.ReceiveDroppedFrames);
        Assert.False(rx.TryTakeUsed(out _, out _));

        byte[] small = Frame(64, seed: 5);
        Assert.True(backend.Receiver!.TryReceive(small));
        Assert.Equal(head, rx.WaitUsed().Id);
        Assert.Equal(small, h.Memory.GetReadSpan(buffer + 12, 64).ToArray());
    }

    [Fact]
    public void MergeableBuffersCarryAFrameAcrossSeveralBuffers()
    {
        var backend = new FakeNetworkBackend();
        using var h = new VirtioHarness(new VirtioNetDevice(backend, new VirtioNetOptions(s_mac)));
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        ulong[] buffers = new ulong[6];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = h.Allocator.Allocate(256);
            rx.Add(Buffer.Writable(buffers[i], 256));
        }

        byte[] frame = Frame(1000, seed: 6);
        Assert.True(backend.Receiver!.TryReceive(frame));
        var used = new List<(ushort Id, uint Length)>();
        for (int i = 0; i < 4; i++)
        {
            used.Add(rx.WaitUsed());
        }

        Assert.False(rx.TryTakeUsed(out _, out _));
        Assert.Equal([256u, 256u, 256u, 244u], used.Select(u => u.Length));
        Assert.Equal(4, h.Memory.Read<ushort>(buffers[0] + 10)); // num_buffers
        byte[] joined = used.SelectMany((u, i) => h.Memory.GetReadSpan(buffers[i], (int)u.Length).ToArray()).ToArray();
        Assert.Equal(frame, joined[12..]);
    }

    [Fact]
    public void WithoutBuffersTheFrameIsRefusedUntilTheGuestPostsMore()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        int notificationsAfterStart = backend.ReceiveSpaceNotifications;
        byte[] frame = Frame(400, seed: 8);

        Assert.False(backend.Receiver!.TryReceive(frame));

        // One buffer is not enough for header and frame: still refused, and nothing is used.
        ulong first = h.Allocator.Allocate(256);
        rx.Add(Buffer.Writable(first, 256));
        Assert.False(backend.Receiver!.TryReceive(frame));
        Assert.Equal(0, rx.UsedIndex);

        // The device asked to be told about the next buffer, so the driver's next add notifies it...
        Assert.Equal(rx.AvailableIndex, rx.AvailEvent);
        ulong second = h.Allocator.Allocate(256);
        rx.Add(Buffer.Writable(second, 256));
        h.Driver.Notify(VirtioNetDevice.ReceiveQueue);

        // ... and the device tells the backend, which delivers what it held back.
        Wait.Until(() => backend.ReceiveSpaceNotifications > notificationsAfterStart, "NotifyReceiveSpace");
        Assert.True(backend.Receiver!.TryReceive(frame));
        Assert.Equal(256u, rx.WaitUsed().Length);
        Assert.Equal(156u, rx.WaitUsed().Length);
        byte[] delivered = [.. h.Memory.GetReadSpan(first + 12, 244), .. h.Memory.GetReadSpan(second, 156)];
        Assert.Equal(frame, delivered);
        Assert.Equal(1, net.ReceivedFrames);
        Assert.Equal(0, net.ReceiveDroppedFrames);
    }

    [Fact]
    public void FramesForAnInactiveOrDisconnectedDeviceAreDropped()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        Assert.True(backend.Receiver!.TryReceive(Frame(60, seed: 9)));
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        rx.Add(Buffer.Writable(h.Allocator.Allocate(2048), 2048));
        net.SetLinkUp(false);
        Assert.True(backend.Receiver!.TryReceive(Frame(60, seed: 10)));
        Assert.Equal(2, net.ReceiveDroppedFrames);
        Assert.Equal(0, rx.UsedIndex);
    }

    [Fact]
    public void AReceiveBufferTooSmallForTheHeaderNeedsAReset()
    {
        var backend = new FakeNetworkBackend();
        using var net = new VirtioNetDevice(backend, new VirtioNetOptions(s_mac));
        using var h = new VirtioHarness(net);
        VirtqueueDriver rx = h.Start()[VirtioNetDevice.ReceiveQueue];
        rx.Add(Buffer.Writable(h.Allocator.Allocate(8), 8));
        Assert.True(backend.Receiver!.TryReceive(Frame(60, seed: 11)));
        h.WaitNeedsReset();
        Assert.True(net.IsBroken);
    }

    [Fact]
    public void BadMacAddressesAreRefused()
    {
        var backend = new FakeNetworkBackend();
        Assert.Throws<ArgumentException>(() => new VirtioNetDevice(backend, new VirtioNetOptions(PhysicalAddress.Parse("01-00-5E-00-00-01"))));
        Assert.Throws<ArgumentException>(() => new VirtioNetDevice(backend, new VirtioNetOptions(PhysicalAddress.Parse("00-00-00-00-00-00"))));
    }

    internal static byte[] Frame(int length, int seed)
    {
        byte[] frame = new byte[length];
        new Random(seed).NextBytes(frame);
        return frame;
    }

    /// <summary>An Ethernet/IPv4/UDP frame with a correct UDP checksum, computed here the long way (RFC 768).</summary>
    private static byte[] UdpFrame(byte[] payload, out ushort checksum)
    {
        int udpLength = 8 + payload.Length;
        byte[] frame = new byte[14 + 20 + udpLength];
        s_mac.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x08; // IPv4
        frame[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)(20 + udpLength));
        frame[22] = 64;
        frame[23] = 17; // UDP
        new byte[] { 10, 0, 2, 15 }.CopyTo(frame, 26);
        new byte[] { 93, 184, 216, 34 }.CopyTo(frame, 30);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(34), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(36), 53);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(38), (ushort)udpLength);
        payload.CopyTo(frame, 42);

        // Sum the pseudo-header and the datagram as 16-bit big-endian words in a 32-bit accumulator.
        uint sum = 0;
        for (int i = 26; i < 34; i += 2)
        {
            sum += (uint)(frame[i] << 8 | frame[i + 1]);
        }

        sum += 17u + (uint)udpLength;
        for (int i = 34; i < frame.Length; i += 2)
        {
            sum += (uint)(frame[i] << 8 | (i + 1 < frame.Length ? frame[i + 1] : 0));
        }

        while (sum > 0xffff)
        {
            sum = (sum >> 16) + (sum & 0xffff);
        }

        checksum = (ushort)~sum;
        if (checksum == 0)
        {
            checksum = 0xffff;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(40), checksum);
        return frame;
    }

    /// <summary>The folded (not complemented) pseudo-header sum Linux leaves in the checksum field.</summary>
    private static ushort PseudoHeaderSum(byte[] frame)
    {
        uint sum = 0;
        for (int i = 26; i < 34; i += 2)
        {
            sum += (uint)(frame[i] << 8 | frame[i + 1]);
        }

        sum += 17u + BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(38));
        while (sum > 0xffff)
        {
            sum = (sum >> 16) + (sum & 0xffff);
        }

        return (ushort)sum;
    }
}
