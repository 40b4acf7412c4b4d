namespace Vessel.Machine.Devices;

/// <summary>
/// The state of a <see cref="Clint"/>. Time itself lives in the machine's
/// <see cref="Timing.VirtualClock"/> (saved with the machine); the CLINT keeps only the
/// difference the guest introduced by writing <c>mtime</c>.
/// </summary>
public sealed record ClintState
{
    /// <summary><c>mtime</c> minus the virtual clock, in ticks (0 unless the guest wrote <c>mtime</c>).</summary>
    public ulong TimeOffset { get; init; }

    public ulong[] TimeCompare { get; init; } = [];

    public bool[] SoftwareInterrupt { get; init; } = [];
}
