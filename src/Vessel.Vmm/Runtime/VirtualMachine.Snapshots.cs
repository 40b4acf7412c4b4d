using Vessel.Machine.Persistence;
using Vessel.Storage;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Snapshots;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Internal snapshots, as QEMU's <c>savevm</c>/<c>loadvm</c>/<c>delvm</c> and
/// <c>snapshot-save</c>/<c>snapshot-load</c>/<c>snapshot-delete</c>: every writable qcow2 disk
/// is snapshotted under one tag, and the VM state goes into one of them (the VM-state area of
/// the first writable qcow2 disk, or the one named). A save is live: RAM is written while the
/// guest runs (<see cref="PrecopySender"/>) and the guest stops only for the last dirty pages,
/// the devices and the disk snapshots. Synchronous; QMP wraps them in jobs.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>The internal snapshots of the VM's disks (<c>info snapshots</c>).</summary>
    /// <exception cref="VmmException">No disk can hold snapshots (one sentence).</exception>
    public IReadOnlyList<VmSnapshotInfo> ListSnapshots()
    {
        VmSnapshots snapshots = SnapshotsOf(null);
        return Storage(() => snapshots.List()
            .Select(s => new VmSnapshotInfo(s.Id, s.Name, s.VmStateSize, s.Date, TimeSpan.FromTicks(s.VmClockNanoseconds / 100), snapshots.SnapshotDisks.Select(d => d.Id).ToArray()))
            .ToArray());
    }

    /// <summary>Takes a snapshot of every writable disk and of the VM state under <paramref name="tag"/>.</summary>
    /// <param name="vmstateDrive">The drive id that receives the VM state, or null for the first writable qcow2 disk.</param>
    /// <param name="drives">The drive ids to snapshot, or null for every writable disk.</param>
    /// <param name="overwrite">Replace a snapshot of that name (HMP <c>savevm</c>) instead of refusing (QMP <c>snapshot-save</c>).</param>
    /// <exception cref="VmmException">No disk can hold the snapshot, or writing it failed (one sentence); the VM runs on.</exception>
    public void SaveSnapshot(string tag, string? vmstateDrive = null, IReadOnlyList<string>? drives = null, bool overwrite = false)
    {
        VmSnapshots snapshots = SnapshotsOf(drives);
        Storage(() => snapshots.FindVmStateDisk(vmstateDrive));
        bool wasRunning = BeginSnapshotOperation(VmRunState.SaveVm, pauseNow: false);
        bool paused = false;
        var sender = new PrecopySender(_machine, MigrationParameters with { MaxBandwidth = 0 }, static () => false);
        try
        {
            Storage(() => snapshots.Save(
                tag,
                stream =>
                {
                    var writer = new StateWriter(stream);
                    MachineStateCodec.WriteIdentity(writer, _machine.Identity);
                    var sink = new StreamRamSink(writer);
                    sender.SendWhileRunning(sink);
                    PauseForSnapshot(wasRunning);
                    paused = true;
                    sender.FinishStopped(sink, writer);
                },
                vmClockNanoseconds: (long)_machine.Clock.Now * 100,
                vmStateDiskId: vmstateDrive,
                overwrite: overwrite));
        }
        finally
        {
            sender.StopLogging();
            EndSnapshotOperation(wasRunning, paused);
        }
    }

    /// <summary>
    /// Brings the disks and the VM back to the snapshot <paramref name="tag"/>; the VM then runs
    /// (or stays paused) as it was before. The state is read and checked whole before anything
    /// changes, so a corrupt or foreign state leaves the VM as it was.
    /// </summary>
    /// <exception cref="VmmException">The snapshot does not exist or cannot be loaded (one sentence).</exception>
    public void LoadSnapshot(string tag, string? vmstateDrive = null, IReadOnlyList<string>? drives = null)
    {
        VmSnapshots snapshots = SnapshotsOf(drives);
        var stateImage = (Qcow2Image)Storage(() => snapshots.FindVmStateDisk(vmstateDrive)).Image;
        SnapshotInfo snapshot = stateImage.Snapshots.FirstOrDefault(s => s.Name == tag || s.Id == tag)
            ?? throw new VmmException($"Snapshot '{tag}' does not exist in the VM");
        if (snapshot.VmStateSize == 0)
        {
            throw new VmmException($"snapshot '{tag}' has no VM state (it is disk-only)");
        }

        try
        {
            using VmStateReader check = Storage(() => stateImage.OpenVmState(snapshot.Name));
            MachineSnapshot.Verify(_machine, check);
        }
        catch (StateFormatException e)
        {
            throw new VmmException($"cannot load snapshot '{tag}': its VM state {e.Message}");
        }

        bool wasRunning = BeginSnapshotOperation(VmRunState.RestoreVm, pauseNow: true);
        try
        {
            Storage(() =>
            {
                snapshots.Load(snapshot.Name, stream => MachineSnapshot.Restore(_machine, stream), vmstateDrive);
                return true;
            });
            _machine.ResetNetworkConnections();
        }
        catch (StateFormatException e)
        {
            throw new VmmException($"cannot load snapshot '{tag}': its VM state {e.Message}");
        }
        finally
        {
            EndSnapshotOperation(wasRunning, paused: true);
        }
    }

    /// <summary>Deletes the snapshot <paramref name="tag"/> from every disk that has it.</summary>
    /// <exception cref="VmmException">No disk has it (one sentence).</exception>
    public void DeleteSnapshot(string tag, IReadOnlyList<string>? drives = null)
    {
        VmSnapshots snapshots = SnapshotsOf(drives);
        Storage(() =>
        {
            snapshots.Delete(tag);
            return true;
        });
    }

    private VmSnapshots SnapshotsOf(IReadOnlyList<string>? drives)
    {
        IReadOnlyList<VmDisk> disks = _machine.Disks;
        if (drives is not null)
        {
            string? unknown = drives.FirstOrDefault(id => disks.All(d => d.Id != id));
            if (unknown is not null)
            {
                throw new VmmException($"The VM has no drive '{unknown}'");
            }

            disks = disks.Where(d => drives.Contains(d.Id)).ToArray();
        }

        if (disks.Count == 0)
        {
            throw new VmmException("The VM has no disk that can hold snapshots; add a writable qcow2 --drive");
        }

        return new VmSnapshots(disks);
    }

    /// <summary>Marks the VM busy with a snapshot; returns whether it was running.</summary>
    private bool BeginSnapshotOperation(VmRunState busy, bool pauseNow)
    {
        bool wasRunning;
        lock (_gate)
        {
            if (_state is not (VmRunState.Running or VmRunState.Paused or VmRunState.Prelaunch or VmRunState.PostMigrate))
            {
                throw new VmmException($"The VM cannot take or load a snapshot while it is {_state.ToQmpName()}");
            }

            if (_migration is not null && !_migration.IsFinished)
            {
                throw new VmmException("There's a migration process in progress");
            }

            wasRunning = _state == VmRunState.Running;
            _resumeStateAfterSnapshot = _state;
            if (pauseNow)
            {
                _state = busy;
            }
        }

        if (pauseNow)
        {
            PauseForSnapshot(wasRunning, busy);
        }

        return wasRunning;
    }

    private VmRunState _resumeStateAfterSnapshot;

    private void PauseForSnapshot(bool wasRunning, VmRunState busy = VmRunState.SaveVm)
    {
        SetState(busy);
        _machine.Pause();
        if (wasRunning)
        {
            Raise("STOP");
        }
    }

    private void EndSnapshotOperation(bool wasRunning, bool paused)
    {
        lock (_gate)
        {
            _state = wasRunning ? VmRunState.Running : _resumeStateAfterSnapshot;
            if (wasRunning && paused)
            {
                _machine.Resume();
            }
        }

        if (wasRunning && paused)
        {
            Raise("RESUME");
        }
    }

    /// <summary>Runs a block-layer call, turning its errors into the VMM's one-sentence errors.</summary>
    private static T Storage<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (StorageException e)
        {
            throw new VmmException(e.Message);
        }
        catch (IOException e)
        {
            throw new VmmException($"the snapshot failed: {e.Message.TrimEnd('.')}");
        }
    }
}
