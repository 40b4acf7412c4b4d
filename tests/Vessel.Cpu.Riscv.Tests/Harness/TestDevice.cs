using Vessel.Machine.Bus;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// The device test programs talk to. At offset 0 it behaves like QEMU's sifive_test finisher
/// (a 32-bit write of 0x5555 means pass, 0x3333 | code &lt;&lt; 16 means fail with a code), so
/// the same program can end the same way under QEMU. At offset 8 every write is appended to
/// <see cref="Log"/>: programs record values there (a trap handler's mcause/mepc/mtval...) and
/// the test reads them back in order.
/// </summary>
public sealed class TestDevice : IMmioDevice
{
    public const ulong FinisherOffset = 0;
    public const ulong LogOffset = 8;
    public const uint Pass = 0x5555;
    public const uint Fail = 0x3333;

    private readonly List<ulong> _log = [];

    /// <summary>The value written to the finisher, or null while nothing was written.</summary>
    public uint? FinisherValue { get; private set; }

    public IReadOnlyList<ulong> Log => _log;

    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset == FinisherOffset)
        {
            FinisherValue ??= (uint)value;
        }
        else if (offset == LogOffset)
        {
            _log.Add(value);
        }
    }
}
