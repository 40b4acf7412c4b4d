namespace Vessel.Vmm.Runtime;

/// <summary>
/// What the VM is doing, with QEMU's run states (<c>qapi/run-state.json</c>), so that
/// <c>query-status</c> and management tools read the same words from Vessel as from QEMU.
/// </summary>
public enum VmRunState
{
    /// <summary>Built, not started yet (waiting for <c>cont</c>).</summary>
    Prelaunch,

    Running,

    /// <summary>Stopped by <c>stop</c> (or started paused).</summary>
    Paused,

    /// <summary>Waiting for, or reading, an incoming state.</summary>
    InMigrate,

    /// <summary>The state was sent to a destination; this VM stays stopped.</summary>
    PostMigrate,

    /// <summary>Stopped to write the last of its state (the final part of a save or migration).</summary>
    FinishMigrate,

    /// <summary>Writing an internal snapshot.</summary>
    SaveVm,

    /// <summary>Loading an internal snapshot.</summary>
    RestoreVm,

    /// <summary>The guest powered off or the VMM is quitting.</summary>
    Shutdown,

    /// <summary>The guest reported a failure through the test device.</summary>
    GuestPanicked,

    /// <summary>The VMM stopped the guest on an error of its own (a restore that failed half-way).</summary>
    InternalError,
}

/// <summary>QEMU's spelling of the run states.</summary>
public static class VmRunStateNames
{
    public static string ToQmpName(this VmRunState state) => state switch
    {
        VmRunState.Prelaunch => "prelaunch",
        VmRunState.Running => "running",
        VmRunState.Paused => "paused",
        VmRunState.InMigrate => "inmigrate",
        VmRunState.PostMigrate => "postmigrate",
        VmRunState.FinishMigrate => "finish-migrate",
        VmRunState.SaveVm => "save-vm",
        VmRunState.RestoreVm => "restore-vm",
        VmRunState.Shutdown => "shutdown",
        VmRunState.GuestPanicked => "guest-panicked",
        VmRunState.InternalError => "internal-error",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
