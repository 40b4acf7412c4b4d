using Vessel.Cpu.Riscv;
using Vessel.Machine.Devices;
using Vessel.Machine.Virtio.Mmio;

namespace Vessel.Vmm.State;

/// <summary>
/// One machine's state apart from guest RAM, gathered from every stateful part's
/// <see cref="Vessel.Machine.Persistence.IPersistent{TState}"/>: plain data that
/// <see cref="MachineStateFile"/> writes as named, versioned sections.
/// </summary>
public sealed record MachineState
{
    public required MachineIdentity Identity { get; init; }

    /// <summary>The virtual clock, in ticks of 100 ns (the CLINT's <c>mtime</c> follows it).</summary>
    public required ulong ClockTicks { get; init; }

    /// <summary>The deterministic clock's instructions towards its next tick (0 otherwise).</summary>
    public long ClockPendingInstructions { get; init; }

    public required IReadOnlyList<HartArchitecturalState> Harts { get; init; }

    public required ClintState Clint { get; init; }

    public required PlicState Plic { get; init; }

    public required Uart16550State Uart { get; init; }

    public required GoldfishRtcState Rtc { get; init; }

    /// <summary>Each virtio-mmio slot's transport, queues and device.</summary>
    public required IReadOnlyList<VirtioSlotState> Virtio { get; init; }
}

/// <summary>The state of the virtio-mmio transport in one slot.</summary>
public sealed record VirtioSlotState(int Slot, VirtioMmioState Transport);
