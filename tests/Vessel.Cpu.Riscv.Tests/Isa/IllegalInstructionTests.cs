using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// Encodings RV64GC leaves reserved or gives to extensions Vessel does not implement: each must
/// raise an illegal-instruction exception (cause 2) at its own address, with its bits in mtval.
/// </summary>
public sealed class IllegalInstructionTests
{
    public static TheoryData<uint, string> Encodings => new()
    {
        { 0x0000_000b, "custom-0 opcode" },
        { 0x0000_007b, "custom-3 opcode" },
        { 0x0400_0033, "OP with funct7 = 0000010" },
        { 0x4000_1033, "sll with funct7 = 0100000" },
        { 0x4000_103b, "sllw with funct7 = 0100000" },
        { 0x0400_1013, "slli with imm[11:6] = 000001" },
        { 0x4400_5013, "srai with imm[11:6] = 010001" },
        { 0x0200_101b, "slliw with shamt[5] set (reserved in RV64)" },
        { 0x4200_501b, "sraiw with shamt[5] set" },
        { 0x0000_7003, "load with funct3 = 111" },
        { 0x0000_4023, "store with funct3 = 100" },
        { 0x0000_1067, "jalr with funct3 = 001" },
        { 0x0000_2063, "branch with funct3 = 010" },
        { 0x0000_4073, "SYSTEM with funct3 = 100" },
        { 0x0020_0073, "uret (the removed N extension)" },
        { 0x7b20_0073, "dret outside debug mode" },
        { 0x0800_002f, "AMO with funct3 = 000" },
        { 0x2800_202f, "AMO with funct5 = 00101" },
        { 0x1010_202f, "lr.w with rs2 = x1" },
        { 0x0400_0053, "fadd.h (no Zfh)" },
        { 0x0600_0043, "fmadd.q (no Q)" },
        { 0x5810_0053, "fsqrt.s with rs2 = 1" },
        { 0x4000_0053, "fcvt.s.s" },
        { 0xe000_2053, "fmv.x.w with funct3 = 010" },
        { 0x0000_1007, "flh (no Zfh)" },
        { 0x0000_4007, "flq (no Q)" },
        { 0x0000_4027, "fsq (no Q)" },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void ReservedEncodingsRaiseIllegalInstructionWithTheirBits(uint bits, string description)
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(T0, 1L << 13).Csrs(Csr.Mstatus, T0); // FS on, so FP encodings are judged on their own
            asm.Label("bad").Emit32(bits);
            asm.Halt();
            asm.MachineTrapRecorder("trap");
        });
        machine.Run();
        Assert.True(
            new[] { 2UL, program.AddressOf("bad"), bits }.SequenceEqual(machine.Log),
            $"{description}: log {string.Join(", ", machine.Log.Select(v => $"0x{v:x}"))}");
    }
}
