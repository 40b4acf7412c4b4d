using System.Buffers.Binary;
using Vessel.Machine.Memory;
using Vessel.Machine.Virtio.Queues;

namespace Vessel.Machine.Virtio.Balloon;

/// <summary>
/// The traditional virtio memory balloon (device type 5, virtio 1.2 section 5.5). The host sets
/// a target with <see cref="SetTargetPages"/>; the guest inflates by handing over page frame
/// numbers, whose host memory is discarded (they read as zero and cost nothing until touched
/// again), and deflates by taking them back, which needs nothing from the host because a
/// discarded page comes back on first touch. With VIRTIO_BALLOON_F_STATS_VQ the device keeps the
/// guest's statistics buffer and returns it when the host asks for fresh numbers.
/// </summary>
public sealed class VirtioBalloonDevice : VirtioDevice
{
    public const ulong FeatureMustTellHost = 1UL << 0;
    public const ulong FeatureStatsQueue = 1UL << 1;
    public const ulong FeatureDeflateOnOom = 1UL << 2;

    public const int InflateQueue = 0;
    public const int DeflateQueue = 1;
    public const int StatisticsQueue = 2;

    public const int ConfigSpaceSize = 16;

    /// <summary>Balloon page frame numbers are in 4 KiB units whatever the guest's page size.</summary>
    public const int PageShift = 12;

    private const int StatisticSize = 10;
    private const int MaxStatistics = 64;
    private const int KnownStatistics = 10;
    private const int PfnBatch = 64;

    private readonly DescriptorChain _chain;
    private uint _targetPages;
    private uint _actualPages;
    private long _inflatedPages;
    private long _rejectedPages;
    private int _heldStatisticsHead = -1;
    private long _statisticsSequence;
    private BalloonStatistics? _statistics;

    public VirtioBalloonDevice(VirtioBalloonOptions? options = null)
        : base(VirtioDeviceType.Balloon, Features(options ??= new VirtioBalloonOptions()), [options.QueueSize, options.QueueSize, options.QueueSize], ConfigSpaceSize, "virtio-balloon")
    {
        _chain = new DescriptorChain(options.QueueSize);
    }

    /// <summary>Raised on the device's worker thread when the guest delivers statistics.</summary>
    public event Action<BalloonStatistics>? StatisticsReceived;

    /// <summary>
    /// Raised with the new value when the guest changes <see cref="ActualPages"/> (QMP's
    /// <c>BALLOON_CHANGE</c>). It runs on the guest's thread inside the configuration lock, so
    /// a handler only records the value and never calls back into the device.
    /// </summary>
    public event Action<uint>? ActualPagesChanged;

    /// <summary>The balloon size the host asks for, in 4 KiB pages (num_pages).</summary>
    public uint TargetPages
    {
        get
        {
            lock (ConfigLock)
            {
                return _targetPages;
            }
        }
    }

    /// <summary>The balloon size the guest reports, in 4 KiB pages (actual).</summary>
    public uint ActualPages
    {
        get
        {
            lock (ConfigLock)
            {
                return _actualPages;
            }
        }
    }

    /// <summary>Pages inflated and not deflated since the driver started, as the device counted them.</summary>
    public long InflatedPages => Interlocked.Read(ref _inflatedPages);

    /// <summary>Page numbers the guest sent that lie outside RAM (ignored).</summary>
    public long RejectedPages => Interlocked.Read(ref _rejectedPages);

    /// <summary>The last statistics the guest reported, or null.</summary>
    public BalloonStatistics? Statistics => Volatile.Read(ref _statistics);

    /// <summary>Asks the guest for a balloon of <paramref name="pages"/> 4 KiB pages.</summary>
    public void SetTargetPages(uint pages)
    {
        lock (ConfigLock)
        {
            _targetPages = pages;
            BinaryPrimitives.WriteUInt32LittleEndian(ConfigSpace, pages);
        }

        Interrupt.SignalConfigChange();
    }

    /// <summary>
    /// Asks the guest for fresh statistics by returning the buffer the device holds; the guest
    /// answers with a new buffer (see <see cref="StatisticsReceived"/>). Returns false when the
    /// device holds no buffer (statistics not negotiated, device inactive, or a request already
    /// outstanding).
    /// </summary>
    public bool RequestStatistics()
    {
        if (Queues.Count <= StatisticsQueue || (NegotiatedFeatures & FeatureStatsQueue) == 0)
        {
            return false;
        }

        Virtqueue queue = Queues[StatisticsQueue];
        lock (queue.SyncRoot)
        {
            if (!IsOperational || !queue.Ready || _heldStatisticsHead < 0)
            {
                return false;
            }

            queue.Push((ushort)_heldStatisticsHead, 0);
            _heldStatisticsHead = -1;
            if (queue.ShouldSignalUsed())
            {
                Interrupt.SignalUsedBuffers(StatisticsQueue);
            }

            return true;
        }
    }

    public override VirtioDeviceState SaveState()
    {
        lock (ConfigLock)
        {
            return new VirtioBalloonState(_targetPages, _actualPages, InflatedPages, Volatile.Read(ref _heldStatisticsHead), Statistics);
        }
    }

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioBalloonState balloon)
        {
            throw new ArgumentException($"Expected virtio-balloon state, got {state.GetType().Name}.", nameof(state));
        }

        lock (ConfigLock)
        {
            _targetPages = balloon.TargetPages;
            _actualPages = balloon.ActualPages;
            BinaryPrimitives.WriteUInt32LittleEndian(ConfigSpace, _targetPages);
            BinaryPrimitives.WriteUInt32LittleEndian(ConfigSpace[4..], _actualPages);
        }

        Interlocked.Exchange(ref _inflatedPages, Math.Max(0, balloon.InflatedPages));
        Volatile.Write(ref _heldStatisticsHead, Math.Max(-1, balloon.HeldStatisticsHead));
        Volatile.Write(ref _statistics, balloon.LastStatistics);
        _statisticsSequence = balloon.LastStatistics?.Sequence ?? 0;
    }

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        switch (queueIndex)
        {
            case InflateQueue:
                while (queue.TryPop(_chain))
                {
                    Interlocked.Add(ref _inflatedPages, ForEachPage(_chain, discard: true));
                    queue.Push(_chain.Head, 0);
                }

                break;
            case DeflateQueue:
                while (queue.TryPop(_chain))
                {
                    // Nothing to do for the pages themselves: a discarded page is back on first touch.
                    long pages = ForEachPage(_chain, discard: false);
                    long current;
                    do
                    {
                        current = Interlocked.Read(ref _inflatedPages);
                    }
                    while (Interlocked.CompareExchange(ref _inflatedPages, Math.Max(0, current - pages), current) != current);

                    queue.Push(_chain.Head, 0);
                }

                break;
            case StatisticsQueue when (NegotiatedFeatures & FeatureStatsQueue) != 0:
                while (queue.TryPop(_chain))
                {
                    ReceiveStatistics(queue, _chain);
                }

                break;
        }
    }

    protected override void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
        // Only actual (bytes 4..7) is the driver's to write.
        for (int i = 0; i < data.Length; i++)
        {
            int position = offset + i;
            if (position is >= 4 and < 8)
            {
                ConfigSpace[position] = data[i];
            }
        }

        uint previous = _actualPages;
        _actualPages = BinaryPrimitives.ReadUInt32LittleEndian(ConfigSpace[4..]);
        if (_actualPages != previous)
        {
            ActualPagesChanged?.Invoke(_actualPages);
        }
    }

    protected override void OnReset()
    {
        // A driver that starts over owns all its memory again; the host's target stays.
        lock (ConfigLock)
        {
            _actualPages = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(ConfigSpace[4..], 0);
        }

        Interlocked.Exchange(ref _inflatedPages, 0);
        Volatile.Write(ref _heldStatisticsHead, -1);
    }

    /// <summary>Walks the page frame numbers of a chain; discards each page in RAM when inflating. Returns the pages in RAM.</summary>
    private long ForEachPage(DescriptorChain chain, bool discard)
    {
        GuestMemory memory = chain.Memory;
        Span<byte> batch = stackalloc byte[PfnBatch * sizeof(uint)];
        long total = chain.ReadableLength / sizeof(uint);
        long accepted = 0;
        ulong runStart = 0;
        ulong runLength = 0;
        for (long done = 0; done < total;)
        {
            int count = (int)Math.Min(PfnBatch, total - done);
            chain.CopyFromReadable(done * sizeof(uint), batch[..(count * sizeof(uint))]);
            for (int i = 0; i < count; i++)
            {
                ulong address = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(batch[(i * sizeof(uint))..]) << PageShift;
                if (!memory.Contains(address, 1UL << PageShift))
                {
                    Interlocked.Increment(ref _rejectedPages);
                    continue;
                }

                accepted++;
                if (!discard)
                {
                    continue;
                }

                // Neighbouring pages are given back with one madvise call.
                if (runLength != 0 && address == runStart + runLength)
                {
                    runLength += 1UL << PageShift;
                }
                else
                {
                    if (runLength != 0)
                    {
                        memory.Discard(runStart, runLength);
                    }

                    runStart = address;
                    runLength = 1UL << PageShift;
                }
            }

            done += count;
        }

        if (runLength != 0)
        {
            memory.Discard(runStart, runLength);
        }

        return accepted;
    }

    private void ReceiveStatistics(Virtqueue queue, DescriptorChain chain)
    {
        // The driver keeps at most one buffer with the device; should it post another, the
        // older one goes back so that none is lost.
        int previous = Volatile.Read(ref _heldStatisticsHead);
        if (previous >= 0)
        {
            queue.Push((ushort)previous, 0);
        }

        Span<byte> entry = stackalloc byte[StatisticSize];
        Span<ulong> values = stackalloc ulong[KnownStatistics];
        int present = 0;
        long count = Math.Min(chain.ReadableLength / StatisticSize, MaxStatistics);
        for (int i = 0; i < count; i++)
        {
            chain.CopyFromReadable((long)i * StatisticSize, entry);
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(entry);

            // Tags this device does not know are ignored (5.5.6.3.2).
            if (tag < KnownStatistics)
            {
                values[tag] = BinaryPrimitives.ReadUInt64LittleEndian(entry[2..]);
                present |= 1 << tag;
            }
        }

        ulong? Value(ushort tag, ReadOnlySpan<ulong> values) => (present & (1 << tag)) != 0 ? values[tag] : null;
        var statistics = new BalloonStatistics
        {
            SwapIn = Value(BalloonStatistics.Tags.SwapIn, values),
            SwapOut = Value(BalloonStatistics.Tags.SwapOut, values),
            MajorFaults = Value(BalloonStatistics.Tags.MajorFaults, values),
            MinorFaults = Value(BalloonStatistics.Tags.MinorFaults, values),
            FreeMemory = Value(BalloonStatistics.Tags.FreeMemory, values),
            TotalMemory = Value(BalloonStatistics.Tags.TotalMemory, values),
            AvailableMemory = Value(BalloonStatistics.Tags.AvailableMemory, values),
            DiskCaches = Value(BalloonStatistics.Tags.DiskCaches, values),
            HugePageAllocations = Value(BalloonStatistics.Tags.HugePageAllocations, values),
            HugePageFailures = Value(BalloonStatistics.Tags.HugePageFailures, values),
            Sequence = Interlocked.Increment(ref _statisticsSequence),
        };

        Volatile.Write(ref _heldStatisticsHead, chain.Head);
        Volatile.Write(ref _statistics, statistics);
        StatisticsReceived?.Invoke(statistics);
    }

    private static ulong Features(VirtioBalloonOptions options)
        => (options.Statistics ? FeatureStatsQueue : 0) | (options.DeflateOnOutOfMemory ? FeatureDeflateOnOom : 0);
}
