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
    public void CodePatchedByAnotherHartRunsAfterFenceIOnTheExecutingHart()
    {
        // Hart 0 writes data on the page first (it may keep a fast store path to it), hart 1 then
        // runs code from that page, and hart 0 patches the code: hart 1, fencing each time,
        // must eventually run the new instruction.
        const ulong page = TestMachine.RamBase + 0x20_0000;
        const ulong flags = page + 0x800;
        using var machine = new TestMachine(hartCount: 2);
        machine.Write(page, AddiA0(1));
        machine.Write(page + 4, 0x0000_8067U); // ret
        machine.Load(asm =>
        {
            asm.Csrr(T0, Csr.Mhartid).Li(S0, (long)page).Li(S1, (long)flags);
            asm.Bnez(T0, "hart1");

            asm.Li(T1, 7).Sd(T1, 8, S1);                         // a store to the page while it is data
            asm.Li(T1, 1).Sd(T1, 0, S1);                         // let hart 1 start
            asm.Label("wait").Ld(T1, 16, S1).Beqz(T1, "wait");   // hart 1 has run the code
            asm.Li(T1, AddiA0(2)).Sw(T1, 0, S0);                 // patch it
            asm.Halt();

            asm.Label("hart1").Ld(T1, 0, S1).Beqz(T1, "hart1");
            asm.Li(S2, 0);
            asm.Label("again").FenceI().Jalr(Ra, S0, 0).Addi(S2, S2, 1);
            asm.Li(T1, 1).Sd(T1, 16, S1);
            asm.Li(T1, 2).Bne(A0, T1, "again");
            asm.Halt();
        });
        machine.Run(maxInstructions: 2_000_000, until: () => machine.IsSpinning(0) && machine.IsSpinning(1));
        Assert.Equal(2UL, machine.X(A0, hart: 1));
        Assert.True(machine.X(S2, hart: 1) >= 1);
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
