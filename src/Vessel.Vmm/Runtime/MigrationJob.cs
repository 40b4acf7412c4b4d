using System.Diagnostics;
using System.Text.Json.Nodes;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// One outgoing save or live migration (QMP <c>migrate</c>), on a thread of its own: opens the
/// destination, sends RAM while the guest runs (<see cref="PrecopySender"/>), stops the guest
/// for the last round, and leaves it in postmigrate. Cancelling or a broken stream leaves the
/// guest running as if nothing happened.
/// </summary>
internal sealed class MigrationJob
{
    private readonly VirtualMachine _vm;
    private readonly RiscvVirtMachine _machine;
    private readonly MigrationAddress _address;
    private readonly PrecopySender _sender;
    private readonly BlockSender? _blocks;
    private readonly object _gate = new();
    private readonly Stopwatch _clock = new();
    private MigrationInfo _info = new() { Status = MigrationStatus.Setup };
    private readonly MigrationPhases? _phases = MigrationPhases.Begin("out");
    private volatile bool _cancelRequested;

    /// <param name="block">Whether the disks' contents go along (block migration).</param>
    public MigrationJob(VirtualMachine vm, RiscvVirtMachine machine, MigrationAddress address, MigrationParameters parameters, bool block = false)
    {
        _vm = vm;
        _machine = machine;
        _address = address;
        _blocks = block ? new BlockSender(machine.HandoverDisks) : null;
        _sender = new PrecopySender(machine, parameters, () => _cancelRequested, _blocks) { Phases = _phases };
    }

    /// <summary>What <c>query-migrate</c> shows now.</summary>
    public MigrationInfo Info
    {
        get
        {
            lock (_gate)
            {
                if (_info.Status is not (MigrationStatus.Active or MigrationStatus.Device or MigrationStatus.Cancelling))
                {
                    return _info;
                }

                return WithFigures(_info) with { TotalTimeMs = _clock.ElapsedMilliseconds };
            }
        }
    }

    public bool IsFinished => Info.Status is MigrationStatus.Completed or MigrationStatus.Failed or MigrationStatus.Cancelled;

    public void Start() => new Thread(Run) { IsBackground = true, Name = "outgoing migration" }.Start();

    /// <summary>Asks the job to stop; the guest runs on.</summary>
    public void Cancel()
    {
        _cancelRequested = true;
        lock (_gate)
        {
            if (_info.Status is MigrationStatus.Completed or MigrationStatus.Failed or MigrationStatus.Cancelled)
            {
                return;
            }

            _info = _info with { Status = MigrationStatus.Cancelling };
        }

        _vm.Raise("MIGRATION", new JsonObject { ["status"] = "cancelling" });
    }

    private MigrationInfo WithFigures(MigrationInfo info) => info with
    {
        RamTransferred = _sender.BytesSent,
        RamRemaining = _sender.RemainingPages * 4096,
        RamTotal = (long)_machine.Memory.Size,
        DuplicatePages = _sender.ZeroPages,
        NormalPages = _sender.DataPages,
        NormalBytes = _sender.DataPages * 4096,
        DirtySyncCount = _sender.Rounds,
        DirtyPagesRate = _sender.DirtyPagesRate,
        ExpectedDowntimeMs = _sender.ExpectedDowntimeMs,
        Mbps = _sender.Rate * 8 / 1e6,
        CpuThrottlePercentage = _machine.ThrottlePercent,
        Disk = _blocks is null ? null : new DiskMigrationFigures(_blocks.Transferred, _blocks.Remaining, _blocks.Total),
    };

    private void SetStatus(MigrationStatus status)
    {
        lock (_gate)
        {
            if (_info.Status != MigrationStatus.Cancelling)
            {
                _info = _info with { Status = status, SetupTimeMs = _info.SetupTimeMs ?? _clock.ElapsedMilliseconds };
            }
        }
    }

    private void Run()
    {
        _clock.Start();
        _vm.Raise("MIGRATION", new JsonObject { ["status"] = "setup" });
        OutgoingStateChannel? channel = null;
        bool stopped = false;
        try
        {
            _phases?.Mark("thread");
            _vm.WarmSavePath();
            _phases?.Mark("warm-up");
            channel = OutgoingStateChannel.Open(_address);
            _phases?.Mark("connect");
            var writer = new StateWriter(channel.Stream);
            MachineStateCodec.WriteIdentity(writer, _machine.Identity);
            IRamSink sink = channel.IsFile
                ? new RegionRamSink(writer.BeginMappedRam(_machine.Memory.Base, _machine.Memory.Size))
                : new StreamRamSink(writer) { Hashes = new SentPageHashes(_machine.Memory) };
            SetStatus(MigrationStatus.Active);
            _vm.Raise("MIGRATION", new JsonObject { ["status"] = "active" });
            _phases?.Mark("setup");
            _sender.SendWhileRunning(sink, writer);

            // The last round: the guest stops for the pages still dirty and the devices.
            bool wasRunning = _vm.EnterFinishMigrate();
            stopped = true;
            long downtimeStart = Stopwatch.GetTimestamp();
            _machine.Pause();
            if (wasRunning)
            {
                _vm.Raise("STOP");
            }

            SetStatus(MigrationStatus.Device);
            _phases?.Mark("stop");
            if (sink is StreamRamSink stream)
            {
                stream.GuestStopped = true;
            }

            _sender.FinishStopped(sink, writer);
            channel.Commit();
            _phases?.Mark("receipt");
            long downtime = (long)Stopwatch.GetElapsedTime(downtimeStart).TotalMilliseconds;

            // The VM's state first: whoever sees "completed" may act on the VM at once.
            _vm.EndMigration(succeeded: true, resume: false);
            lock (_gate)
            {
                _info = WithFigures(_info) with { Status = MigrationStatus.Completed, TotalTimeMs = _clock.ElapsedMilliseconds, DowntimeMs = downtime, CpuThrottlePercentage = 0 };
            }

            _vm.Raise("MIGRATION", new JsonObject { ["status"] = "completed" });
            _phases?.Write($"completed, downtime {downtime} ms");
        }
        catch (Exception e)
        {
            // Whatever went wrong (a broken stream, a cancel, or a bug of ours), the source VM
            // must run on: a migration is never worth the VM.
            _sender.StopLogging();
            channel?.Abandon();
            bool cancelled = e is OperationCanceledException;
            _vm.EndMigration(succeeded: false, resume: stopped);
            lock (_gate)
            {
                _info = WithFigures(_info) with
                {
                    Status = cancelled ? MigrationStatus.Cancelled : MigrationStatus.Failed,
                    TotalTimeMs = _clock.ElapsedMilliseconds,
                    CpuThrottlePercentage = 0,
                    ErrorDescription = cancelled ? null : e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException
                        ? $"cannot send the state to {_address}: {e.Message.TrimEnd('.')}."
                        : $"the migration to {_address} failed: {e.GetType().Name}: {e.Message.TrimEnd('.')}.",
                };
            }

            _vm.Raise("MIGRATION", new JsonObject { ["status"] = cancelled ? "cancelled" : "failed" });
            _phases?.Write(cancelled ? "cancelled" : $"failed: {e.Message}");
        }
        finally
        {
            channel?.Dispose();
        }
    }
}
