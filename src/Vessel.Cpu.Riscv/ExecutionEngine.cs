namespace Vessel.Cpu.Riscv;

/// <summary>How harts execute guest code (<c>vessel run --cpu-engine</c>).</summary>
public enum ExecutionEngine
{
    /// <summary>The interpreter over the decode cache.</summary>
    Interpreter,

    /// <summary>The dynamic translator to .NET IL, with the interpreter for cold code.</summary>
    Jit,
}
