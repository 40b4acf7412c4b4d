using Vessel.Machine.Bus;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// An MMIO device with side effects that tests can observe: it logs every access, and each
/// read returns a value that depends on how many accesses came before, so an access executed
/// twice, skipped, or reordered changes what the guest sees.
/// </summary>
public sealed class RecordingDevice : IMmioDevice
{
    private readonly List<string> _log = [];

    public IReadOnlyList<string> Log => _log;

    public ulong Read(ulong offset, int size)
    {
        _log.Add($"r{size} {offset:x}");
        ulong value = (0x1234_5678_9abc_def0UL * (ulong)(_log.Count + 1)) ^ offset;
        return size == 8 ? value : value & ((1UL << (8 * size)) - 1);
    }

    public void Write(ulong offset, int size, ulong value) => _log.Add($"w{size} {offset:x} {value:x}");
}
