namespace Vessel.Vmm.Runtime;

/// <summary>
/// Sending the VM's state away (QMP <c>migrate</c>) to a file, a socket or a command, live
/// (<see cref="MigrationJob"/>). After the state is out the VM stays stopped in
/// <see cref="VmRunState.PostMigrate"/>, as QEMU's does; <c>cont</c> lets it run on.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>How long after boot the save path is compiled, off the record: late enough not to slow the boot, early enough for the first migration to find it done.</summary>
    private static readonly TimeSpan s_savePathWarmUpDelay = TimeSpan.FromSeconds(1);

    private MigrationJob? _migration;
    private bool _stoppedByMigration;
    private Lazy<bool>? _savePathWarmUp;

    /// <summary>The parameters the next migration uses (<c>migrate-set-parameters</c>).</summary>
    public MigrationParameters MigrationParameters { get; set; } = new();

    /// <summary>Starts sending the state to <paramref name="address"/>; progress through <see cref="QueryMigration"/> and <c>MIGRATION</c> events.</summary>
    /// <param name="block">Send the disks' contents too (block migration, to a VMM with empty images of the same sizes).</param>
    /// <exception cref="VmmException">A migration is running, or the VM cannot be migrated now.</exception>
    public void StartMigration(MigrationAddress address, bool block = false)
    {
        if (block && address.Transport == MigrationTransport.File)
        {
            throw new VmmException("Block migration goes to another VMM (tcp:, unix: or exec:), not to a state file");
        }

        lock (_gate)
        {
            if (_migration is not null && !_migration.IsFinished)
            {
                throw new VmmException("There's a migration process in progress");
            }

            if (_state is not (VmRunState.Running or VmRunState.Paused or VmRunState.Prelaunch or VmRunState.PostMigrate))
            {
                throw new VmmException($"The VM cannot be migrated while it is {_state.ToQmpName()}");
            }

            _migration = new MigrationJob(this, _machine, address, MigrationParameters, block);
        }

        _migration.Start();
    }

    /// <summary>Where the current or last migration is (<c>query-migrate</c>).</summary>
    public MigrationInfo QueryMigration()
    {
        lock (_gate)
        {
            return _migration?.Info ?? new MigrationInfo { Status = MigrationStatus.None };
        }
    }

    /// <summary>Stops a running migration; the VM runs on (<c>migrate_cancel</c>).</summary>
    public void CancelMigration()
    {
        MigrationJob? job;
        lock (_gate)
        {
            job = _migration;
        }

        if (job is not null && !job.IsFinished)
        {
            job.Cancel();
        }
    }

    /// <summary>Saves the VM to <paramref name="address"/> and waits until it is done; the VM stays stopped afterwards.</summary>
    /// <exception cref="VmmException">The state could not be written (one sentence); the VM runs on as before.</exception>
    public MigrationInfo Migrate(MigrationAddress address, TimeSpan timeout)
    {
        StartMigration(address);
        var deadline = DateTime.UtcNow + timeout;
        MigrationInfo info;
        while (!IsFinal((info = QueryMigration()).Status))
        {
            if (DateTime.UtcNow > deadline)
            {
                CancelMigration();
                throw new VmmException($"the migration to {address} did not finish within {timeout.TotalSeconds:F0} s and was cancelled");
            }

            Thread.Sleep(1);
        }

        return info.Status == MigrationStatus.Completed ? info : throw new VmmException(info.ErrorDescription ?? $"the migration to {address} was cancelled");
    }

    /// <summary>
    /// Makes sure the save path (device state to JSON sections, page records) has run once in
    /// this process before a migration's guest stops: the first call of a .NET method pays for
    /// its compilation, which would otherwise land in the downtime. Returns at once when it is
    /// done or not needed (a VM restored from a state ran the save path in its restore warm-up);
    /// otherwise runs it, or waits for the background warm-up that is running it.
    /// </summary>
    internal void WarmSavePath() => _ = _savePathWarmUp?.Value;

    /// <summary>
    /// Captures the booted machine's state before it first runs and compiles the save path with
    /// it a second after boot, on a background thread of low priority (the guest runs
    /// meanwhile; the warm-up only serialises that copy to nowhere).
    /// </summary>
    private void PrepareSavePathWarmUp()
    {
        Vessel.Vmm.State.MachineState initial = _machine.CaptureStateBeforeFirstRun();
        _savePathWarmUp = new Lazy<bool>(() =>
        {
            try
            {
                Vessel.Vmm.State.MachineSnapshot.WarmUpSave(_machine, initial);
                return true;
            }
            catch (Exception)
            {
                // Only a head start: a save that really fails says why in its own words.
                return false;
            }
        }, LazyThreadSafetyMode.ExecutionAndPublication);
        new Thread(() =>
        {
            Thread.Sleep(s_savePathWarmUpDelay);
            WarmSavePath();
        })
        { IsBackground = true, Priority = ThreadPriority.Lowest, Name = "save path warm-up" }.Start();
    }

    private static bool IsFinal(MigrationStatus status) => status is MigrationStatus.Completed or MigrationStatus.Failed or MigrationStatus.Cancelled;

    /// <summary>The migration stops the guest for its last round; returns whether it was running.</summary>
    internal bool EnterFinishMigrate()
    {
        lock (_gate)
        {
            _stoppedByMigration = _state == VmRunState.Running;
            _state = VmRunState.FinishMigrate;
            return _stoppedByMigration;
        }
    }

    /// <summary>
    /// The migration ended: after success the VM stays stopped in postmigrate; after a failure in
    /// its last round it runs on if it ran before.
    /// </summary>
    internal void EndMigration(bool succeeded, bool resume)
    {
        bool resumed = false;
        lock (_gate)
        {
            if (succeeded)
            {
                // The state is out: a destination on the same storage may take the disks now.
                foreach (Vessel.Vmm.Storage.HandoverDisk disk in _machine.HandoverDisks)
                {
                    disk.Deactivate();
                }

                _state = VmRunState.PostMigrate;
            }
            else if (resume)
            {
                _state = _stoppedByMigration ? VmRunState.Running : VmRunState.Paused;
                if (_stoppedByMigration)
                {
                    _machine.Resume();
                    resumed = true;
                }
            }
        }

        if (resumed)
        {
            Raise("RESUME");
        }
    }
}
