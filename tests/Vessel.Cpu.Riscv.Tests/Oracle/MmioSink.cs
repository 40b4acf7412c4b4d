using Vessel.Machine.Bus;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>A device window that ignores writes and reads as zero (stands in for QEMU devices the oracle programs only write).</summary>
internal sealed class MmioSink : IMmioDevice
{
    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value)
    {
    }
}
