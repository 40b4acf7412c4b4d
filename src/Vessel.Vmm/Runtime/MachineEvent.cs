using System.Text.Json.Nodes;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Something that happened to the VM, named and shaped as QEMU's QMP events
/// (<c>STOP</c>, <c>RESUME</c>, <c>RESET</c>, <c>SHUTDOWN</c>, <c>POWERDOWN</c>,
/// <c>BALLOON_CHANGE</c>, <c>MIGRATION</c>, <c>JOB_STATUS_CHANGE</c>, ...), with the time it happened.
/// </summary>
public sealed record MachineEvent(string Name, JsonObject? Data, DateTimeOffset Timestamp)
{
    public static MachineEvent Now(string name, JsonObject? data = null) => new(name, data, DateTimeOffset.UtcNow);
}
