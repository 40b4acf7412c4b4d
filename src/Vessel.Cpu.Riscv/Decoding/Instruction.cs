using System.Runtime.InteropServices;

namespace Vessel.Cpu.Riscv.Decoding;

/// <summary>
/// One decoded instruction, 16 bytes. Integer destination registers are stored with x0
/// replaced by <see cref="ZeroSink"/>, a scratch slot nobody reads, so that executing an
/// instruction never needs to test for x0; source register 0 always reads the real, zero x0.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Instruction
{
    /// <summary>The integer register slot that absorbs writes to x0.</summary>
    public const byte ZeroSink = 32;

    public Opcode Op;
    public byte Rd;
    public byte Rs1;
    public byte Rs2;
    public byte Rs3;

    /// <summary>2 for a compressed instruction, 4 otherwise.</summary>
    public byte Length;

    /// <summary>The rounding-mode field of FP instructions (7 = dynamic); 0 elsewhere.</summary>
    public byte Rm;

    /// <summary>Immediate, offset, shift amount or CSR number, already sign-extended.</summary>
    public int Imm;

    /// <summary>The raw instruction bits (what <c>mtval</c> reports on an illegal instruction).</summary>
    public uint Raw;
}
