namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// A translated region of guest code. It runs from the pc in <paramref name="state"/> with the
/// guest registers in locals, until it leaves the region, a loop runs out of
/// <paramref name="budget"/>, or the hart needs attention; it then writes the registers and the
/// next pc back to <paramref name="state"/>. The result is encoded as <see cref="BlockExit"/> says.
/// </summary>
internal unsafe delegate int BlockFunction(Hart hart, HartState* state, int budget);

/// <summary>How a <see cref="BlockFunction"/> reports what happened.</summary>
internal static class BlockExit
{
    /// <summary>
    /// Set in a non-negative result when the block stopped in front of an instruction it does
    /// not translate (system instructions and the like): the dispatcher interprets it next.
    /// </summary>
    public const int InterpretNextFlag = 1 << 30;

    /// <summary>The instructions retired, in a non-negative result.</summary>
    public const int CountMask = InterpretNextFlag - 1;

    // A negative result -(n + 1) means that the block took a trap (the state already holds the
    // trap handler's pc) after retiring n instructions.
}
