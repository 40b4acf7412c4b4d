using System.Buffers.Binary;
using Vessel.Machine.Virtio.Queues;
using Vessel.Network;
using Vessel.Network.Packets;

namespace Vessel.Machine.Virtio.Net;

/// <summary>
/// virtio-net (device type 1, virtio 1.2 section 5.1) over an <see cref="INetworkBackend"/>, with
/// one receive and one transmit queue, a MAC address, link status and, optionally, mergeable
/// receive buffers and transmit checksum completion.
/// </summary>
/// <remarks>
/// <para>Checksums: with VIRTIO_NET_F_CSUM the guest may send frames whose TCP/UDP checksum is
/// only partial; the device completes it before the frame reaches the backend, so backends
/// always see whole, valid frames. VIRTIO_NET_F_GUEST_CSUM and segmentation offloads are not
/// offered: received frames carry no offload flags and the guest verifies checksums itself.</para>
/// <para>Transmit runs on the device's worker thread, never on the vCPU. Receive runs on the
/// backend's thread through <see cref="TryReceive"/>, which refuses a frame when the guest has
/// not posted enough buffers; once the guest posts more (it notifies the receive queue) the
/// device calls <see cref="INetworkBackend.NotifyReceiveSpace"/>.</para>
/// <para>The device attaches itself to the backend; starting the backend is the owner's job.</para>
/// </remarks>
public sealed class VirtioNetDevice : VirtioDevice, IFrameReceiver
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int ConfigSpaceSize = 12;

    /// <summary>Largest frame (without virtio header) the device moves in either direction.</summary>
    public const int MaxFrameSize = 65536;

    private const ushort StatusLinkUp = 1;

    private readonly INetworkBackend _backend;
    private readonly DescriptorChain _transmitChain;
    private readonly DescriptorChain _receiveFirst;
    private readonly DescriptorChain _receiveMore;
    private readonly (ushort Head, uint Length)[] _receiveUsed;
    private readonly byte[] _transmitBuffer = new byte[MaxFrameSize];
    private bool _linkUp = true;
    private long _transmitted;
    private long _transmittedBytes;
    private long _transmitDropped;
    private long _received;
    private long _receivedBytes;
    private long _receiveDropped;

    public VirtioNetDevice(INetworkBackend backend, VirtioNetOptions options)
        : base(VirtioDeviceType.Network, Features(options), [options.QueueSize, options.QueueSize], ConfigSpaceSize, "virtio-net")
    {
        ArgumentNullException.ThrowIfNull(backend);
        byte[] mac = options.MacAddress.GetAddressBytes();
        if (mac.Length != 6 || (mac[0] & 1) != 0 || mac.All(b => b == 0))
        {
            throw new ArgumentException($"The MAC address {options.MacAddress} is not a 6-byte unicast address.");
        }

        _backend = backend;
        _transmitChain = new DescriptorChain(options.QueueSize);
        _receiveFirst = new DescriptorChain(options.QueueSize);
        _receiveMore = new DescriptorChain(options.QueueSize);
        _receiveUsed = new (ushort, uint)[options.QueueSize];
        lock (ConfigLock)
        {
            mac.CopyTo(ConfigSpace);
            BinaryPrimitives.WriteUInt16LittleEndian(ConfigSpace[6..], StatusLinkUp);
            BinaryPrimitives.WriteUInt16LittleEndian(ConfigSpace[8..], 1); // max_virtqueue_pairs
        }

        backend.Attach(this);
    }

    public bool LinkUp
    {
        get
        {
            lock (ConfigLock)
            {
                return _linkUp;
            }
        }
    }

    public long TransmittedFrames => Interlocked.Read(ref _transmitted);

    /// <summary>Bytes of the frames the guest sent (Ethernet header and payload, without the virtio header).</summary>
    public long TransmittedBytes => Interlocked.Read(ref _transmittedBytes);

    /// <summary>Frames the guest sent that were malformed (bad header, checksum offsets, offloads not offered).</summary>
    public long TransmitDroppedFrames => Interlocked.Read(ref _transmitDropped);

    public long ReceivedFrames => Interlocked.Read(ref _received);

    /// <summary>Bytes of the frames delivered to the guest (Ethernet header and payload).</summary>
    public long ReceivedBytes => Interlocked.Read(ref _receivedBytes);

    /// <summary>Frames for the guest that were dropped (device down, frame larger than the guest's buffers).</summary>
    public long ReceiveDroppedFrames => Interlocked.Read(ref _receiveDropped);

    /// <summary>Sets the link status the guest sees (VIRTIO_NET_S_LINK_UP) and tells it.</summary>
    public void SetLinkUp(bool up)
    {
        lock (ConfigLock)
        {
            _linkUp = up;
            BinaryPrimitives.WriteUInt16LittleEndian(ConfigSpace[6..], up ? StatusLinkUp : (ushort)0);
        }

        Interrupt.SignalConfigChange();
    }

    /// <summary>
    /// Delivers one frame to the guest. Returns false when the guest has not posted enough
    /// receive buffers (or the device is paused): the backend keeps the frame and waits for
    /// <see cref="INetworkBackend.NotifyReceiveSpace"/>. Frames that can never be delivered
    /// (device not running, link down, frame too large) are dropped and count as received.
    /// </summary>
    public bool TryReceive(ReadOnlySpan<byte> frame)
    {
        if (!IsActive || IsBroken || Queues.Count <= ReceiveQueue)
        {
            return Drop();
        }

        Virtqueue queue = Queues[ReceiveQueue];
        lock (queue.SyncRoot)
        {
            if (IsPaused)
            {
                return false;
            }

            if (IsPaused && !IsBroken)
            {
                // Held by the backend and offered again after Resume (OnResumed): a paused
                // machine loses no frames, as QEMU's queues keep them.
                return false;
            }

            if (!IsOperational || !queue.Ready || !_linkUp || frame.Length > MaxFrameSize)
            {
                return Drop();
            }

            try
            {
                return ReceiveLocked(queue, frame);
            }
            catch (VirtqueueException ex)
            {
                Fail(ex.Message);
                return Drop();
            }
        }
    }

    public override VirtioDeviceState SaveState() => new VirtioNetState(LinkUp);

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioNetState net)
        {
            throw new ArgumentException($"Expected virtio-net state, got {state.GetType().Name}.", nameof(state));
        }

        lock (ConfigLock)
        {
            _linkUp = net.LinkUp;
            BinaryPrimitives.WriteUInt16LittleEndian(ConfigSpace[6..], net.LinkUp ? StatusLinkUp : (ushort)0);
        }
    }

    protected override void HandleQueueEvent(int queueIndex)
    {
        if (queueIndex == ReceiveQueue)
        {
            // The guest posted receive buffers: let the backend deliver what it held back.
            // Called without locks, since the backend may deliver from this very call.
            _backend.NotifyReceiveSpace();
        }
        else
        {
            ServiceQueue(queueIndex);
        }
    }

    protected override void OnResumed() => _backend.NotifyReceiveSpace();

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        if (queueIndex != TransmitQueue)
        {
            return;
        }

        while (queue.TryPop(_transmitChain))
        {
            Transmit(_transmitChain);
            queue.Push(_transmitChain.Head, 0);
        }
    }

    private void Transmit(DescriptorChain chain)
    {
        long frameLength = chain.ReadableLength - VirtioNetHeader.Size;
        if (chain.WritableLength != 0 || frameLength <= 0 || frameLength > MaxFrameSize)
        {
            Interlocked.Increment(ref _transmitDropped);
            return;
        }

        Span<byte> header = stackalloc byte[VirtioNetHeader.Size];
        chain.CopyFromReadable(0, header);
        Span<byte> frame = _transmitBuffer.AsSpan(0, (int)frameLength);
        chain.CopyFromReadable(VirtioNetHeader.Size, frame);
        if (VirtioNetHeader.GsoType(header) != VirtioNetHeader.GsoNone)
        {
            // No segmentation offload was offered; such a frame is a driver bug.
            Interlocked.Increment(ref _transmitDropped);
            return;
        }

        if ((VirtioNetHeader.Flags(header) & VirtioNetHeader.FlagNeedsChecksum) != 0
            && !InternetChecksum.TryComplete(frame, VirtioNetHeader.ChecksumStart(header), VirtioNetHeader.ChecksumOffset(header)))
        {
            Interlocked.Increment(ref _transmitDropped);
            return;
        }

        _backend.Send(frame);
        Interlocked.Increment(ref _transmitted);
        Interlocked.Add(ref _transmittedBytes, frame.Length);
    }

    private bool ReceiveLocked(Virtqueue queue, ReadOnlySpan<byte> frame)
    {
        bool mergeable = (NegotiatedFeatures & VirtioNetFeatures.MergeableReceiveBuffers) != 0;
        int buffers = 0;
        int frameDone = 0;
        do
        {
            DescriptorChain chain = buffers == 0 ? _receiveFirst : _receiveMore;
            if (!queue.TryPop(chain))
            {
                // Not enough buffers yet: give back what we took (its contents do not matter, the
                // guest has not been told) and wait; TryPop asked the guest to notify us.
                queue.UndoPop(buffers);
                return false;
            }

            // The first buffer starts with the header, written once the buffer count is known.
            int start = buffers == 0 ? VirtioNetHeader.Size : 0;
            if (chain.WritableLength < start)
            {
                throw new VirtqueueException(ReceiveQueue, VirtqueueError.MalformedRequest, $"receive buffer of {chain.WritableLength} bytes cannot hold the header");
            }

            int take = (int)Math.Min(chain.WritableLength - start, frame.Length - frameDone);
            chain.CopyToWritable(start, frame.Slice(frameDone, take));
            frameDone += take;
            _receiveUsed[buffers++] = (chain.Head, (uint)(start + take));

            if (frameDone < frame.Length && (!mergeable || buffers == _receiveUsed.Length))
            {
                // Without mergeable buffers a frame must fit one buffer: this one never will.
                queue.UndoPop(buffers);
                return Drop();
            }
        }
        while (frameDone < frame.Length);

        Span<byte> header = stackalloc byte[VirtioNetHeader.Size];
        VirtioNetHeader.WriteReceive(header, (ushort)buffers);
        _receiveFirst.CopyToWritable(0, header);
        for (int i = 0; i < buffers; i++)
        {
            queue.AddUsed(_receiveUsed[i].Head, _receiveUsed[i].Length);
        }

        queue.PublishUsed();
        Interlocked.Increment(ref _received);
        Interlocked.Add(ref _receivedBytes, frame.Length);
        if (queue.ShouldSignalUsed())
        {
            Interrupt.SignalUsedBuffers(ReceiveQueue);
        }

        return true;
    }

    private bool Drop()
    {
        Interlocked.Increment(ref _receiveDropped);
        return true;
    }

    private static ulong Features(VirtioNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return VirtioNetFeatures.Mac | VirtioNetFeatures.Status
            | (options.MergeableReceiveBuffers ? VirtioNetFeatures.MergeableReceiveBuffers : 0)
            | (options.ChecksumOffload ? VirtioNetFeatures.Checksum : 0);
    }
}
