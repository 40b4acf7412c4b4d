using System.Text.Json.Nodes;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Sending the VM's state away (QMP <c>migrate</c>): to a file, a socket or a command. After the
/// state is out the VM stays stopped in <see cref="VmRunState.PostMigrate"/>, as QEMU's does;
/// <c>cont</c> lets it run on.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>Saves the whole VM to <paramref name="address"/> and leaves it stopped.</summary>
    /// <exception cref="VmmException">The state could not be written (one sentence); the VM runs on as before.</exception>
    public SnapshotFigures Migrate(MigrationAddress address)
    {
        bool wasRunning;
        lock (_gate)
        {
            if (_state is not (VmRunState.Running or VmRunState.Paused or VmRunState.Prelaunch or VmRunState.PostMigrate))
            {
                throw new VmmException($"The VM cannot be migrated while it is {_state.ToQmpName()}");
            }

            wasRunning = _state == VmRunState.Running;
            _state = VmRunState.FinishMigrate;
        }

        Raise("MIGRATION", new JsonObject { ["status"] = "setup" });
        _machine.Pause();
        if (wasRunning)
        {
            Raise("STOP");
        }

        try
        {
            Raise("MIGRATION", new JsonObject { ["status"] = "active" });
            SnapshotFigures figures = address.Transport switch
            {
                MigrationTransport.File => MachineSnapshot.SaveToFile(_machine, address.Path),
                _ => throw new VmmException($"migration to {address.Transport.ToString().ToLowerInvariant()} addresses is not available yet"),
            };
            SetState(VmRunState.PostMigrate);
            Raise("MIGRATION", new JsonObject { ["status"] = "completed" });
            return figures;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Raise("MIGRATION", new JsonObject { ["status"] = "failed" });
            ResumeAfterFailedSave(wasRunning);
            throw new VmmException($"cannot write the state to {address}: {e.Message.TrimEnd('.')}.");
        }
        catch (VmmException)
        {
            Raise("MIGRATION", new JsonObject { ["status"] = "failed" });
            ResumeAfterFailedSave(wasRunning);
            throw;
        }
    }

    private void ResumeAfterFailedSave(bool wasRunning)
    {
        lock (_gate)
        {
            _state = wasRunning ? VmRunState.Running : VmRunState.Paused;
            if (wasRunning)
            {
                _machine.Resume();
            }
        }

        if (wasRunning)
        {
            Raise("RESUME");
        }
    }
}
