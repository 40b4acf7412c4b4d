using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// Code that changes: after a store to an instruction and a fence.i, the hart must execute the
/// new instruction (Zifencei), whether the store came from the hart itself (through its fast
/// store path or not) or from a device writing guest memory.
/// </summary>
public sealed class SelfModifyingCodeTests
{
    private static uint AddiA0(int imm) => 0x0000_0513u | ((uint)imm << 20); // addi a0, x0, imm

    [Fact]
    public void AStoredInstructionRunsAfterFenceI()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.La(S0, "patched").Li(S1, AddiA0(42));
            asm.Jal(Ra, "patched").Mv(S2, A0);      // first run: the original instruction
            asm.Sw(S1, 0, S0).FenceI();
            asm.Jal(Ra, "patched").Mv(S3, A0);      // second run: the stored one
            asm.Halt();
            asm.Label("patched").Li(A0, 1).Ret();
        });
        machine.Run();
        Assert.Equal(1UL, machine.X(S2));
        Assert.Equal(42UL, machine.X(S3));
    }

    [Fact]
    public void AStoreIntoTheRunningBlockIsSeenAfterFenceI()
    {
        // The store and the patched instruction are on the same page, a few instructions apart.
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.La(S0, "next").Li(S1, AddiA0(7));
            asm.Sw(S1, 0, S0).FenceI();
            asm.Label("next").Li(A0, 1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(7UL, machine.X(A0));
    }

    [Fact]
    public void StoresToAPageThatBecameCodeAfterEarlierStoresStillInvalidateIt()
    {
        // The data page is first written (which may give the hart a fast store path to it), then
        // executed (which makes it a code page), then patched: the patch must not slip past the
        // decoded copy through the fast path.
        const ulong page = TestMachine.RamBase + 0x20_0000;
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(S0, (long)page).Li(T0, AddiA0(1)).Li(T1, 0x0000_8067); // ret
            for (int i = 0; i < 4; i++)
            {
                asm.Sw(T0, 0, S0).Sw(T1, 4, S0);   // stores while the page is plain data
            }

            asm.Jalr(Ra, S0, 0).Mv(S2, A0);       // executes it: now a code page
            asm.Li(T0, AddiA0(2)).Sw(T0, 0, S0).FenceI();
            asm.Jalr(Ra, S0, 0).Mv(S3, A0);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(1UL, machine.X(S2));
        Assert.Equal(2UL, machine.X(S3));
    }

    [Fact]
    public void CodeWrittenByADeviceIsSeenOnTheNextRun()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.Label("loop").Label("patched").Li(A0, 1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(1UL, machine.X(A0));

        machine.Write(program.AddressOf("patched"), AddiA0(9)); // as DMA would
        machine.Hart.Pc = program.AddressOf("loop");
        machine.Run();
        Assert.Equal(9UL, machine.X(A0));
    }

    [Fact]
    public void AnInstructionStraddlingTwoPagesExecutes()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.J("there");
            asm.Org(TestMachine.RamBase + 0xffe).Label("there").Li(A0, 123); // a 4-byte addi over the boundary
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(123UL, machine.X(A0));
    }
}
