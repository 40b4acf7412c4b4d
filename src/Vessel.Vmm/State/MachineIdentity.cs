namespace Vessel.Vmm.State;

/// <summary>
/// What a saved state needs of the machine it is restored into: the same board, RAM size, hart
/// count, firmware kind and virtio devices in the same slots (disks, networks and consoles are
/// given by the destination's configuration, as with QEMU's <c>-incoming</c>).
/// </summary>
public sealed record MachineIdentity
{
    public const string RiscvVirtBoard = "riscv-virt";

    public required string Board { get; init; }

    public required ulong MemorySize { get; init; }

    public required int Harts { get; init; }

    /// <summary><c>builtin</c>, <c>file</c> or <c>none</c>: whether the SBI is Vessel's or the guest's own.</summary>
    public required string Firmware { get; init; }

    /// <summary>The virtio devices, by slot.</summary>
    public required IReadOnlyList<MachineSlot> Devices { get; init; }

    /// <summary>
    /// Why a state saved from <paramref name="saved"/> cannot be restored into this machine, as one
    /// sentence, or null when it can.
    /// </summary>
    public string? MismatchWith(MachineIdentity saved)
    {
        const ulong MiB = 1024 * 1024;
        if (saved.Board != Board)
        {
            return $"the state is of a '{saved.Board}' machine, not a '{Board}' machine.";
        }

        if (saved.MemorySize != MemorySize)
        {
            return $"the state is of a machine with {saved.MemorySize / MiB} MiB of RAM; start this one with --memory {saved.MemorySize / MiB}M, not {MemorySize / MiB}M.";
        }

        if (saved.Harts != Harts)
        {
            return $"the state is of a machine with {saved.Harts} harts; start this one with --cpus {saved.Harts}, not {Harts}.";
        }

        if (saved.Firmware != Firmware)
        {
            return $"the state is of a machine with '{saved.Firmware}' firmware, and this one has '{Firmware}' (--bios must match).";
        }

        string savedDevices = Describe(saved.Devices);
        string devices = Describe(Devices);
        if (savedDevices != devices)
        {
            return $"the state is of a machine with the devices {savedDevices}, and this one has {devices}; give the same --drive, --net, --device and --console options.";
        }

        return null;
    }

    private static string Describe(IReadOnlyList<MachineSlot> devices) =>
        devices.Count == 0 ? "(none)" : string.Join(", ", devices.OrderByDescending(d => d.Slot).Select(d => $"{d.Device} in slot {d.Slot}"));
}

/// <summary>One virtio-mmio slot and the kind of device in it (e.g. <c>virtio-blk</c>).</summary>
public sealed record MachineSlot(int Slot, string Device);
