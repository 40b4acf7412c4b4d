using System.Diagnostics;
using System.Numerics;
using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Sends a machine's state while it runs (pre-copy), for live migration and live snapshots:
/// first every non-zero page, then, round after round, the pages the guest wrote meanwhile,
/// taken from the dirty log that the software MMU keeps. <see cref="SendWhileRunning"/> returns
/// when the rest would take no longer than the downtime limit at the measured rate (or, in the
/// first pass, once the rest is no more than a tenth of a second's share of the bandwidth); the
/// caller stops the machine and <see cref="FinishStopped"/> sends the last pages, at the link's
/// speed, and every device's state. A guest that dirties memory faster than it can be sent is throttled
/// (auto-converge, as QEMU's cpu-throttle). With a <see cref="BlockSender"/> (block migration)
/// the disks go along: all of them before the RAM, their dirty chunks with each round, and the
/// last ones while stopped; the downtime estimate counts them too. Over a stream, a page whose
/// bytes the destination holds already (<see cref="SentPageHashes"/>: the same page rewritten
/// alike, or another page with those bytes) goes as nothing or as a copy record, and only the
/// other pages count towards the rest.
/// </summary>
internal sealed class PrecopySender
{
    private const int MaxRounds = 60;
    private const int PageSize = (int)GuestMemory.PageSize;
    private const int RecordOverhead = 21;

    /// <summary>
    /// As QEMU's <c>max-bandwidth</c>: each tenth of a second may carry a tenth of the
    /// bandwidth, sent at the link's speed, and once it has the sender waits for the next tenth
    /// (QEMU's BUFFER_DELAY), rather than pacing every record.
    /// </summary>
    private const double RateWindowSeconds = 0.1;

    private readonly RiscvVirtMachine _machine;
    private readonly MigrationParameters _parameters;
    private readonly Func<bool> _cancelled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ulong[] _pending;
    private readonly BlockSender? _blocks;
    private SentPageHashes? _hashes;
    private bool _logging;
    private long _bytesSent;
    private long _diskBytesSent;
    private long _zeroPages;
    private long _dataPages;
    private long _remainingPages;
    private double _windowStart;
    private long _windowStartBytes;
    private bool _unthrottled;
    private bool _deferWindowWait;
    private bool _windowSpent;

    /// <param name="parameters">Downtime limit and bandwidth (0: unlimited, for a local save).</param>
    /// <param name="cancelled">Polled between records; true ends the send with <see cref="OperationCanceledException"/>.</param>
    /// <param name="blocks">The disks to send along (block migration), or null when they are shared.</param>
    public PrecopySender(RiscvVirtMachine machine, MigrationParameters parameters, Func<bool> cancelled, BlockSender? blocks = null)
    {
        _blocks = blocks;
        _machine = machine;
        _parameters = parameters;
        _cancelled = cancelled;
        _pending = new ulong[machine.Memory.DirtyBitmapWords];
    }

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long ZeroPages => Interlocked.Read(ref _zeroPages);

    public long DataPages => Interlocked.Read(ref _dataPages);

    public long RemainingPages => Interlocked.Read(ref _remainingPages);

    public int Rounds { get; private set; }

    /// <summary>Where the phases of the send are timed (<see cref="MigrationPhases"/>), or null.</summary>
    public MigrationPhases? Phases { get; init; }

    public long DirtyPagesRate { get; private set; }

    public long ExpectedDowntimeMs { get; private set; }

    /// <summary>Bytes per second so far (RAM and disks).</summary>
    public double Rate => (BytesSent + Interlocked.Read(ref _diskBytesSent)) / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);

    /// <summary>Sends RAM (and the disks, in a block migration, through <paramref name="writer"/>) while the machine runs, until what is left fits in the downtime limit.</summary>
    public void SendWhileRunning(IRamSink sink, StateWriter? writer = null)
    {
        var counted = new CountingSink(sink, this);
        GuestMemory memory = _machine.Memory;
        _hashes = (sink as StreamRamSink)?.Hashes;
        _machine.StartDirtyLog(_pending);
        _logging = true;
        Interlocked.Exchange(ref _remainingPages, (long)memory.PageCount);
        if (_blocks is not null)
        {
            _blocks.SendBulk(writer!, AccountDisk);
            CheckCancelled();
        }

        var mayHoldData = new ulong[memory.DirtyBitmapWords];
        memory.FindPagesThatMayHoldData(mayHoldData);
        long firstPassPages = 0;

        // A first pass that runs out of its share of the bandwidth asks, before it waits for
        // the next tenth of a second, whether its rest is small enough to go at once (block
        // migration always waits: its disks' dirty chunks are counted only by a harvest).
        _deferWindowWait = _parameters.MaxBandwidth > 0 && _blocks is null;
        try
        {
            RamTransfer.SendNonZero(memory, mayHoldData, counted, ref firstPassPages, page =>
            {
                if (_windowSpent)
                {
                    SendRestNowOrWait(mayHoldData, page);
                }
            });
        }
        finally
        {
            _deferWindowWait = false;
            _unthrottled = false;
        }

        CheckCancelled();
        Phases?.Mark("first pass", $"{DataPages} pages, {BytesSent >> 10} KiB");

        long lastHarvest = Stopwatch.GetTimestamp();
        int fastDirtyingRounds = 0;
        while (true)
        {
            long dirty = _machine.TakeDirtyLog(_pending);

            // A page rewritten with the bytes the destination has already (a file copied over
            // again) is dirty but need not go: only the others count, now and when stopped.
            long changed = _hashes is null ? dirty : RamTransfer.DropHeld(memory, _pending, _hashes, counted);
            long dirtyChunks = _blocks?.Harvest() ?? 0;
            double seconds = Math.Max(Stopwatch.GetElapsedTime(lastHarvest).TotalSeconds, 1e-3);
            lastHarvest = Stopwatch.GetTimestamp();
            Rounds++;
            double bandwidth = _parameters.MaxBandwidth > 0 ? Math.Min(Math.Max(Rate, 1 << 20), _parameters.MaxBandwidth) : Math.Max(Rate, 1 << 20);
            double dirtyBytesPerSecond = changed * PageSize / seconds;
            DirtyPagesRate = (long)(dirty / seconds);
            ExpectedDowntimeMs = (long)(((changed * PageSize) + (dirtyChunks * Vessel.Vmm.Storage.DiskDirtyLog.ChunkSize)) / bandwidth * 1000);
            Interlocked.Exchange(ref _remainingPages, changed);
            if (ExpectedDowntimeMs <= _parameters.DowntimeLimitMs || Rounds >= MaxRounds)
            {
                Phases?.Mark("dirty rounds", $"{Rounds} rounds, {BytesSent >> 10} KiB in all, {changed} of {dirty} dirty pages left");
                return; // _pending keeps the pages of this last harvest for FinishStopped
            }

            // Auto-converge: a guest that dirties memory at more than half the rate it can be
            // sent two rounds running is slowed down, more each time.
            fastDirtyingRounds = dirtyBytesPerSecond > bandwidth / 2 ? fastDirtyingRounds + 1 : 0;
            if (fastDirtyingRounds >= 2)
            {
                _machine.ThrottlePercent = _machine.ThrottlePercent == 0 ? 20 : Math.Min(_machine.ThrottlePercent + 10, 99);
                fastDirtyingRounds = 0;
            }

            RamTransfer.SendBitmap(memory, _pending, counted);
            _blocks?.SendPending(writer!, AccountDisk);
            CheckCancelled();
        }
    }

    /// <summary>With the machine paused: sends the pages still dirty and every part's state, and ends the state.</summary>
    public void FinishStopped(IRamSink sink, StateWriter writer)
    {
        // The guest is stopped: what is left goes at the link's speed (QEMU's completion is not
        // rate-limited either), and the limit only decided how much may be left.
        _unthrottled = true;
        if (_blocks is not null)
        {
            _blocks.Harvest();
            _blocks.SendPending(writer, AccountDisk);
        }

        var last = new ulong[_pending.Length];
        _machine.TakeDirtyLog(last);
        for (int i = 0; i < _pending.Length; i++)
        {
            _pending[i] |= last[i];
        }

        long dirty = CountFrom(_pending, 0);
        var counted = new CountingSink(sink, this);
        long changed = _hashes is null ? dirty : RamTransfer.DropHeld(_machine.Memory, _pending, _hashes, counted);
        RamTransfer.SendBitmap(_machine.Memory, _pending, counted);
        Phases?.Mark("last pages", $"{changed} of {dirty} dirty pages sent with their data");
        MachineStateCodec.WriteParts(writer, _machine.SaveState());
        writer.WriteEnd();
        Phases?.Mark("devices");
        Interlocked.Exchange(ref _remainingPages, 0);
        StopLogging();
    }

    /// <summary>Stops logging and throttling (after a failure or a cancel, or once finished).</summary>
    public void StopLogging()
    {
        _blocks?.StopLogging();
        if (_logging)
        {
            _machine.StopDirtyLog();
            _logging = false;
        }

        _machine.ThrottlePercent = 0;
    }

    private void AccountDisk(long bytes)
    {
        CheckCancelled();
        Interlocked.Add(ref _diskBytesSent, bytes);
        HoldRate();
    }

    private long TotalBytesSent => Interlocked.Read(ref _bytesSent) + Interlocked.Read(ref _diskBytesSent);

    /// <summary>Once this tenth of a second has carried its share of <c>max-bandwidth</c>: waits for the next (or, in the first pass, lets it decide).</summary>
    private void HoldRate()
    {
        long limit = _parameters.MaxBandwidth;
        if (limit <= 0 || _unthrottled || TotalBytesSent - _windowStartBytes < limit * RateWindowSeconds)
        {
            return;
        }

        if (_deferWindowWait)
        {
            _windowSpent = true;
            return;
        }

        WaitForNextWindow();
    }

    private void WaitForNextWindow()
    {
        _windowSpent = false;
        double wait = _windowStart + RateWindowSeconds - _clock.Elapsed.TotalSeconds;
        if (wait > 0)
        {
            Thread.Sleep(TimeSpan.FromSeconds(wait));
        }

        _windowStart = _clock.Elapsed.TotalSeconds;
        _windowStartBytes = TotalBytesSent;
    }

    /// <summary>
    /// The first pass has spent this tenth's bandwidth before <paramref name="page"/>. When what
    /// is left (the pages from there that may hold data, and those the guest dirtied so far) is
    /// no more than the next tenth would carry and would take no more than a tenth of the
    /// downtime limit at <c>max-bandwidth</c>, it goes at once, at the link's speed, while the
    /// guest runs; otherwise this waits for the next tenth. QEMU would wait, send that tenth and
    /// then stop; going on saves the wait. It once ended the pass there and left the rest to the
    /// stopped phase, which sends at the link's speed too: an idle 256 MiB guest was stopped with
    /// ~100 pages to send and down for 6-9 ms; sent while it runs, a dirty round leaves ~12
    /// pages and 3-4 ms. Only for a small rest: a busy guest's many dirty pages go better through
    /// the throttled dirty rounds.
    /// </summary>
    private void SendRestNowOrWait(ReadOnlySpan<ulong> mayHoldData, ulong page)
    {
        CheckCancelled();
        long left = CountFrom(mayHoldData, page) + _machine.Memory.CountDirtyPages();
        ExpectedDowntimeMs = (long)((double)left * PageSize / _parameters.MaxBandwidth * 1000);
        if (left * PageSize <= _parameters.MaxBandwidth * RateWindowSeconds && ExpectedDowntimeMs * 10 <= _parameters.DowntimeLimitMs)
        {
            // Decided once: the records after this one are not asked again.
            _unthrottled = true;
            _windowSpent = false;
            return;
        }

        WaitForNextWindow();
    }

    private static long CountFrom(ReadOnlySpan<ulong> bitmap, ulong page)
    {
        int word = (int)(page >> 6);
        long count = BitOperations.PopCount(bitmap[word] & (ulong.MaxValue << (int)(page & 63)));
        for (int i = word + 1; i < bitmap.Length; i++)
        {
            count += BitOperations.PopCount(bitmap[i]);
        }

        return count;
    }

    private void CheckCancelled()
    {
        if (_cancelled())
        {
            throw new OperationCanceledException();
        }
    }

    /// <summary>Counts what goes out, holds the rate under <c>max-bandwidth</c>, and stops at a cancel.</summary>
    private sealed class CountingSink(IRamSink inner, PrecopySender sender) : IRamSink
    {
        public void WritePages(ulong address, ReadOnlySpan<byte> data)
        {
            sender.CheckCancelled();
            inner.WritePages(address, data);
            Interlocked.Add(ref sender._dataPages, data.Length / PageSize);
            Account(data.Length + RecordOverhead);
        }

        public void WriteCopiedPage(ulong address, ulong source)
        {
            sender.CheckCancelled();
            inner.WriteCopiedPage(address, source);
            Account(RecordOverhead + sizeof(ulong));
        }

        public void WriteZeroPages(ulong address, int count)
        {
            sender.CheckCancelled();
            inner.WriteZeroPages(address, count);
            Interlocked.Add(ref sender._zeroPages, count);
            Account(RecordOverhead);
        }

        private void Account(long bytes)
        {
            Interlocked.Add(ref sender._bytesSent, bytes);
            sender.HoldRate();
        }
    }
}
