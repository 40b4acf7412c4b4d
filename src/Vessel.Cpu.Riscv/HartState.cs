using System.Runtime.InteropServices;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The registers executed code touches on every instruction, kept in native memory so that
/// the interpreter and translated code reach them through one pointer without bounds checks.
/// Slot 32 of <see cref="X"/> is the sink for writes to x0 (see <c>Instruction.ZeroSink</c>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct HartState
{
    public const int IntegerSlots = 33;

    public fixed ulong X[IntegerSlots];
    public fixed ulong F[32];
    public ulong Pc;
}
