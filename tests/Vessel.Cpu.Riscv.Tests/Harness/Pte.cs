namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>The bits of a page-table entry (privileged spec, "Sv39: Page-Based 39-bit Virtual-Memory System").</summary>
[Flags]
public enum Pte : ulong
{
    None = 0,
    V = 1 << 0,
    R = 1 << 1,
    W = 1 << 2,
    X = 1 << 3,
    U = 1 << 4,
    G = 1 << 5,
    A = 1 << 6,
    D = 1 << 7,

    /// <summary>Valid, readable, writable and executable, with A and D already set.</summary>
    Rwx = V | R | W | X | A | D,
}
