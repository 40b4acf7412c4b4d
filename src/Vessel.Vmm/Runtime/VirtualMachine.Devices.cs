using System.Text.Json.Nodes;
using Vessel.Cpu.Riscv;
using Vessel.Machine.Virtio.Balloon;

namespace Vessel.Vmm.Runtime;

/// <summary>What control protocols ask of the VM's hardware: its harts and its balloon.</summary>
public sealed partial class VirtualMachine
{
    private const ulong PageSize = 4096;

    /// <summary>The harts, as <c>query-cpus-fast</c> lists them.</summary>
    public IReadOnlyList<HartInfo> QueryHarts() => _machine.Processor.Harts
        .Select(hart => new HartInfo(
            hart.HartId,
            hart.HostThreadId == 0 ? Environment.ProcessId : hart.HostThreadId,
            hart.Pc,
            hart.Privilege.ToString().ToLowerInvariant(),
            hart.RunState.ToString()))
        .ToArray();

    /// <summary>The guest's disks by drive id, with their I/O counters (QMP <c>query-blockstats</c>).</summary>
    public IReadOnlyList<Vessel.Machine.Virtio.DriveStatistics> DriveStatistics => _machine.DriveStatistics;

    /// <summary>The guest's network cards with their counters, in the order of the --net options.</summary>
    public IReadOnlyList<Vessel.Machine.Virtio.Net.VirtioNetDevice> NetworkCards => _machine.NetworkCards;

    /// <summary>The balloon device, or null when the VM has none.</summary>
    public VirtioBalloonDevice? Balloon => _machine.Balloon;

    /// <summary>The guest memory the balloon leaves the guest, in bytes (QMP <c>query-balloon</c>'s <c>actual</c>).</summary>
    /// <exception cref="VmmException">The VM has no balloon.</exception>
    public ulong BalloonActual => _machine.MemorySize - ((ulong)RequireBalloon().ActualPages * PageSize);

    /// <summary>Asks the guest to leave it <paramref name="bytes"/> of memory (QMP <c>balloon</c>'s <c>value</c>).</summary>
    /// <exception cref="VmmException">The VM has no balloon, or the value is out of range.</exception>
    public void SetBalloonTarget(ulong bytes)
    {
        VirtioBalloonDevice balloon = RequireBalloon();
        if (bytes == 0 || bytes > _machine.MemorySize)
        {
            throw new VmmException($"Parameter 'value' expects a size between 1 and {_machine.MemorySize} bytes");
        }

        balloon.SetTargetPages((uint)((_machine.MemorySize - bytes) / PageSize));
    }

    /// <summary>Raises <c>BALLOON_CHANGE</c> with the memory left to the guest whenever the guest reports a new balloon size.</summary>
    private void WatchBalloon()
    {
        if (_machine.Balloon is { } balloon)
        {
            balloon.ActualPagesChanged += pages =>
                Raise("BALLOON_CHANGE", new JsonObject { ["actual"] = _machine.MemorySize - ((ulong)pages * PageSize) });
        }
    }

    private VirtioBalloonDevice RequireBalloon() => _machine.Balloon ?? throw new VmmException("No balloon device has been activated");

    /// <summary>
    /// Deterministic mode (<c>--clock icount</c>): runs a stopped VM for <paramref name="instructions"/>
    /// instructions and stops it again; returns how many ran. Tests use it to reach the same
    /// instruction in two runs.
    /// </summary>
    /// <exception cref="VmmException">The VM is not stopped or not in the deterministic mode.</exception>
    public long StepInstructions(long instructions)
    {
        lock (_gate)
        {
            if (Configuration.Clock != ClockMode.InstructionCount)
            {
                throw new VmmException("Stepping by instructions needs --clock icount");
            }

            if (_state is not (VmRunState.Paused or VmRunState.Prelaunch or VmRunState.PostMigrate))
            {
                throw new VmmException($"The VM must be stopped to step it, and it is {_state.ToQmpName()}");
            }

            // Running on after sending its state: the disks it let go are needed again.
            ActivateDisks(TimeSpan.Zero);
        }

        return _machine.Step(instructions);
    }

    /// <summary>The SHA-256 of the stopped VM's whole state (every part and all of RAM), as lowercase hex.</summary>
    /// <exception cref="VmmException">The VM is not stopped.</exception>
    public string HashState()
    {
        if (!_machine.IsPaused)
        {
            throw new VmmException("The VM must be stopped to hash its state");
        }

        return Convert.ToHexStringLower(_machine.HashState());
    }
}
