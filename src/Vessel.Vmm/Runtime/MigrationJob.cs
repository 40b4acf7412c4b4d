using System.Diagnostics;
using System.Text.Json.Nodes;
using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// One outgoing save or live migration (QMP <c>migrate</c>), on a thread of its own. RAM is sent
/// while the guest runs (pre-copy): first every non-zero page, then, round after round, the
/// pages the guest wrote meanwhile, found in the dirty log that the software MMU keeps. When the
/// rest would take no longer than the downtime limit at the measured rate, the guest is stopped,
/// the last dirty pages and every device's state go out, and the job ends. A guest that dirties
/// memory faster than it can be sent is throttled (auto-converge). Cancelling or a broken
/// stream leaves the guest running as if nothing happened.
/// </summary>
internal sealed class MigrationJob
{
    private const int MaxRounds = 60;
    private const int PageSize = (int)GuestMemory.PageSize;

    private readonly VirtualMachine _vm;
    private readonly RiscvVirtMachine _machine;
    private readonly MigrationAddress _address;
    private readonly MigrationParameters _parameters;
    private readonly object _gate = new();
    private readonly Stopwatch _clock = new();
    private MigrationInfo _info = new() { Status = MigrationStatus.Setup };
    private volatile bool _cancelRequested;
    private long _bytesSent;
    private long _zeroPages;
    private long _dataPages;
    private long _remainingPages;

    public MigrationJob(VirtualMachine vm, RiscvVirtMachine machine, MigrationAddress address, MigrationParameters parameters)
    {
        _vm = vm;
        _machine = machine;
        _address = address;
        _parameters = parameters;
    }

    /// <summary>What <c>query-migrate</c> shows now.</summary>
    public MigrationInfo Info
    {
        get
        {
            lock (_gate)
            {
                return _info.Status is MigrationStatus.Active or MigrationStatus.Device
                    ? _info with
                    {
                        TotalTimeMs = _clock.ElapsedMilliseconds,
                        RamTransferred = Interlocked.Read(ref _bytesSent),
                        RamRemaining = Interlocked.Read(ref _remainingPages) * PageSize,
                        DuplicatePages = Interlocked.Read(ref _zeroPages),
                        NormalPages = Interlocked.Read(ref _dataPages),
                        NormalBytes = Interlocked.Read(ref _dataPages) * PageSize,
                        Mbps = Mbps(),
                    }
                    : _info;
            }
        }
    }

    public bool IsFinished => Info.Status is MigrationStatus.Completed or MigrationStatus.Failed or MigrationStatus.Cancelled;

    public void Start() => new Thread(Run) { IsBackground = true, Name = "outgoing migration" }.Start();

    /// <summary>Asks the job to stop; the guest runs on.</summary>
    public void Cancel()
    {
        _cancelRequested = true;
        SetStatus(MigrationStatus.Cancelling, announce: true);
    }

    private void Run()
    {
        _clock.Start();
        _vm.Raise("MIGRATION", new JsonObject { ["status"] = "setup" });
        OutgoingStateChannel? channel = null;
        bool dirtyLogging = false;
        bool stopped = false;
        long downtimeStart = 0;
        try
        {
            channel = OutgoingStateChannel.Open(_address);
            var writer = new StateWriter(channel.Stream);
            MachineStateCodec.WriteIdentity(writer, _machine.Identity);
            IRamSink sink = channel.IsFile
                ? new RegionRamSink(writer.BeginMappedRam(_machine.Memory.Base, _machine.Memory.Size))
                : new StreamRamSink(writer);
            var counted = new CountingRamSink(sink, this);
            lock (_gate)
            {
                _info = _info with { Status = MigrationStatus.Active, SetupTimeMs = _clock.ElapsedMilliseconds, RamTotal = (long)_machine.Memory.Size };
            }

            _vm.Raise("MIGRATION", new JsonObject { ["status"] = "active" });

            GuestMemory memory = _machine.Memory;
            var pending = new ulong[memory.DirtyBitmapWords];
            var harvested = new ulong[memory.DirtyBitmapWords];
            _machine.StartDirtyLog(harvested);
            dirtyLogging = true;
            Interlocked.Exchange(ref _remainingPages, (long)memory.PageCount);
            RamTransfer.SendNonZero(memory, counted);
            CheckCancelled();

            // Pre-copy rounds while the guest runs.
            long lastHarvest = Stopwatch.GetTimestamp();
            int rounds = 0;
            int fastDirtyingRounds = 0;
            while (true)
            {
                long dirty = _machine.TakeDirtyLog(pending);
                double seconds = Math.Max(Stopwatch.GetElapsedTime(lastHarvest).TotalSeconds, 1e-3);
                lastHarvest = Stopwatch.GetTimestamp();
                rounds++;
                double bandwidth = Math.Max(MeasuredBytesPerSecond(), 1024 * 1024);
                double dirtyBytesPerSecond = dirty * PageSize / seconds;
                long expectedDowntimeMs = (long)(dirty * PageSize / bandwidth * 1000);
                Interlocked.Exchange(ref _remainingPages, dirty);
                lock (_gate)
                {
                    _info = _info with { DirtySyncCount = rounds, DirtyPagesRate = (long)(dirty / seconds), ExpectedDowntimeMs = expectedDowntimeMs, CpuThrottlePercentage = _machine.ThrottlePercent };
                }

                if (expectedDowntimeMs <= _parameters.DowntimeLimitMs || rounds >= MaxRounds)
                {
                    break;
                }

                // Auto-converge: a guest that dirties memory at more than half the link's rate
                // two rounds running is slowed down, more each time, as QEMU's cpu-throttle does.
                fastDirtyingRounds = dirtyBytesPerSecond > bandwidth / 2 ? fastDirtyingRounds + 1 : 0;
                if (fastDirtyingRounds >= 2)
                {
                    _machine.ThrottlePercent = _machine.ThrottlePercent == 0 ? 20 : Math.Min(_machine.ThrottlePercent + 10, 99);
                    fastDirtyingRounds = 0;
                }

                RamTransfer.SendBitmap(memory, pending, counted);
                CheckCancelled();
            }

            // The last round: the guest stops for the pages still dirty and the devices.
            bool wasRunning = _vm.EnterFinishMigrate();
            stopped = true;
            downtimeStart = Stopwatch.GetTimestamp();
            _machine.Pause();
            if (wasRunning)
            {
                _vm.Raise("STOP");
            }

            SetStatus(MigrationStatus.Device, announce: false);
            _machine.TakeDirtyLog(harvested);
            for (int i = 0; i < pending.Length; i++)
            {
                pending[i] |= harvested[i];
            }

            RamTransfer.SendBitmap(memory, pending, counted);
            MachineStateCodec.WriteParts(writer, _machine.SaveState());
            writer.WriteEnd();
            channel.Commit();
            long downtime = (long)Stopwatch.GetElapsedTime(downtimeStart).TotalMilliseconds;
            _machine.StopDirtyLog();
            _machine.ThrottlePercent = 0;
            dirtyLogging = false;
            Interlocked.Exchange(ref _remainingPages, 0);
            lock (_gate)
            {
                _info = Info with { Status = MigrationStatus.Completed, TotalTimeMs = _clock.ElapsedMilliseconds, DowntimeMs = downtime, CpuThrottlePercentage = 0 };
            }

            _vm.EndMigration(succeeded: true, resume: false);
            _vm.Raise("MIGRATION", new JsonObject { ["status"] = "completed" });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            if (dirtyLogging)
            {
                _machine.StopDirtyLog();
                _machine.ThrottlePercent = 0;
            }

            channel?.Abandon();
            bool cancelled = e is OperationCanceledException;
            lock (_gate)
            {
                _info = Info with
                {
                    Status = cancelled ? MigrationStatus.Cancelled : MigrationStatus.Failed,
                    TotalTimeMs = _clock.ElapsedMilliseconds,
                    CpuThrottlePercentage = 0,
                    ErrorDescription = cancelled ? null : $"cannot send the state to {_address}: {e.Message.TrimEnd('.')}.",
                };
            }

            _vm.EndMigration(succeeded: false, resume: stopped);
            _vm.Raise("MIGRATION", new JsonObject { ["status"] = cancelled ? "cancelled" : "failed" });
        }
        finally
        {
            channel?.Dispose();
        }
    }

    private void CheckCancelled()
    {
        if (_cancelRequested)
        {
            throw new OperationCanceledException();
        }
    }

    private void SetStatus(MigrationStatus status, bool announce)
    {
        lock (_gate)
        {
            if (_info.Status is MigrationStatus.Completed or MigrationStatus.Failed or MigrationStatus.Cancelled)
            {
                return;
            }

            _info = _info with { Status = status };
        }

        if (announce)
        {
            _vm.Raise("MIGRATION", new JsonObject { ["status"] = status.ToString().ToLowerInvariant() });
        }
    }

    private double MeasuredBytesPerSecond() => Interlocked.Read(ref _bytesSent) / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);

    private double Mbps() => MeasuredBytesPerSecond() * 8 / 1e6;

    /// <summary>Counts what goes out, holds the rate under <c>max-bandwidth</c>, and stops at a cancel.</summary>
    private sealed class CountingRamSink(IRamSink inner, MigrationJob job) : IRamSink
    {
        public void WritePages(ulong address, ReadOnlySpan<byte> data)
        {
            job.CheckCancelled();
            inner.WritePages(address, data);
            Interlocked.Add(ref job._dataPages, data.Length / PageSize);
            Account(data.Length + 21);
        }

        public void WriteZeroPages(ulong address, int count)
        {
            job.CheckCancelled();
            inner.WriteZeroPages(address, count);
            Interlocked.Add(ref job._zeroPages, count);
            Account(21);
        }

        private void Account(long bytes)
        {
            long sent = Interlocked.Add(ref job._bytesSent, bytes);
            long limit = job._parameters.MaxBandwidth;
            if (limit > 0)
            {
                // Ahead of the allowed rate: wait until the clock catches up with what was sent.
                double ahead = ((double)sent / limit) - job._clock.Elapsed.TotalSeconds;
                if (ahead > 0.005)
                {
                    Thread.Sleep(TimeSpan.FromSeconds(ahead));
                }
            }
        }
    }
}
