using System.Diagnostics;
using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Sends a machine's state while it runs (pre-copy), for live migration and live snapshots:
/// first every non-zero page, then, round after round, the pages the guest wrote meanwhile,
/// taken from the dirty log that the software MMU keeps. <see cref="SendWhileRunning"/> returns
/// when the rest would take no longer than the downtime limit at the measured rate; the caller
/// stops the machine and <see cref="FinishStopped"/> sends the last dirty pages and every
/// device's state. A guest that dirties memory faster than it can be sent is throttled
/// (auto-converge, as QEMU's cpu-throttle). With a <see cref="BlockSender"/> (block migration)
/// the disks go along: all of them before the RAM, their dirty chunks with each round, and the
/// last ones while stopped; the downtime estimate counts them too.
/// </summary>
internal sealed class PrecopySender
{
    private const int MaxRounds = 60;
    private const int PageSize = (int)GuestMemory.PageSize;
    private const int RecordOverhead = 21;

    private readonly RiscvVirtMachine _machine;
    private readonly MigrationParameters _parameters;
    private readonly Func<bool> _cancelled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ulong[] _pending;
    private readonly BlockSender? _blocks;
    private bool _logging;
    private long _bytesSent;
    private long _diskBytesSent;
    private long _zeroPages;
    private long _dataPages;
    private long _remainingPages;

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

    public long DirtyPagesRate { get; private set; }

    public long ExpectedDowntimeMs { get; private set; }

    /// <summary>Bytes per second so far (RAM and disks).</summary>
    public double Rate => (BytesSent + Interlocked.Read(ref _diskBytesSent)) / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);

    /// <summary>Sends RAM (and the disks, in a block migration, through <paramref name="writer"/>) while the machine runs, until what is left fits in the downtime limit.</summary>
    public void SendWhileRunning(IRamSink sink, StateWriter? writer = null)
    {
        var counted = new CountingSink(sink, this);
        GuestMemory memory = _machine.Memory;
        _machine.StartDirtyLog(_pending);
        _logging = true;
        Interlocked.Exchange(ref _remainingPages, (long)memory.PageCount);
        if (_blocks is not null)
        {
            _blocks.SendBulk(writer!, AccountDisk);
            CheckCancelled();
        }

        RamTransfer.SendNonZero(memory, counted);
        CheckCancelled();

        long lastHarvest = Stopwatch.GetTimestamp();
        int fastDirtyingRounds = 0;
        while (true)
        {
            long dirty = _machine.TakeDirtyLog(_pending);
            long dirtyChunks = _blocks?.Harvest() ?? 0;
            double seconds = Math.Max(Stopwatch.GetElapsedTime(lastHarvest).TotalSeconds, 1e-3);
            lastHarvest = Stopwatch.GetTimestamp();
            Rounds++;
            double bandwidth = _parameters.MaxBandwidth > 0 ? Math.Min(Math.Max(Rate, 1 << 20), _parameters.MaxBandwidth) : Math.Max(Rate, 1 << 20);
            double dirtyBytesPerSecond = dirty * PageSize / seconds;
            DirtyPagesRate = (long)(dirty / seconds);
            ExpectedDowntimeMs = (long)(((dirty * PageSize) + (dirtyChunks * Vessel.Vmm.Storage.DiskDirtyLog.ChunkSize)) / bandwidth * 1000);
            Interlocked.Exchange(ref _remainingPages, dirty);
            if (ExpectedDowntimeMs <= _parameters.DowntimeLimitMs || Rounds >= MaxRounds)
            {
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

        RamTransfer.SendBitmap(_machine.Memory, _pending, new CountingSink(sink, this));
        MachineStateCodec.WriteParts(writer, _machine.SaveState());
        writer.WriteEnd();
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

    /// <summary>Ahead of <c>max-bandwidth</c>: waits until the clock catches up with what was sent.</summary>
    private void HoldRate()
    {
        long limit = _parameters.MaxBandwidth;
        if (limit > 0)
        {
            double ahead = ((double)(Interlocked.Read(ref _bytesSent) + Interlocked.Read(ref _diskBytesSent)) / limit) - _clock.Elapsed.TotalSeconds;
            if (ahead > 0.005)
            {
                Thread.Sleep(TimeSpan.FromSeconds(ahead));
            }
        }
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
