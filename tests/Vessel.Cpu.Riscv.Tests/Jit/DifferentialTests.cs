using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Hand-written programs that exercise what a translator gets wrong most easily, each run on
/// the interpreter and on the translator; besides agreeing, the results are checked against
/// values computed here.
/// </summary>
public sealed class DifferentialTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong Data = Base + 0x8_0000;

    [Fact]
    public void LoopWithArithmeticLoadsAndStores()
    {
        var code = new Code(Base);
        code.Li(10, 0).Li(11, 1000).Li(12, (long)Data).Li(13, 0x1234_5678_9abc_def1);
        Code.Label loop = code.NewLabel();
        code.Bind(loop);
        code.Emit(Rv.Add(10, 10, 11));
        code.Emit(Rv.Mul(14, 11, 13));
        code.Emit(Rv.Xor(10, 10, 14));
        code.Emit(Rv.Srli(15, 10, 7));
        code.Emit(Rv.Sd(15, 12, 0));
        code.Emit(Rv.Lw(16, 12, 4));
        code.Emit(Rv.Addw(10, 10, 16));
        code.Emit(Rv.Addi(12, 12, 8));
        code.Emit(Rv.Addi(11, 11, -1));
        code.Emit(loop, offset => Rv.Bne(11, 0, offset));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        ulong a = 0;
        const ulong c = 0x1234_5678_9abc_def1;
        for (ulong i = 1000; i != 0; i--)
        {
            a += i;
            a ^= i * c;
            ulong word = (ulong)(long)(int)((a >> 7) >> 32);
            a = (ulong)(long)(int)(a + word);
        }

        Assert.Equal(a, state.Registers[10]);
        Assert.Equal(Data + 8000, state.Registers[12]);
        ulong prologue = (ulong)loop.Position / 4;
        Assert.Equal(prologue + (1000 * 10) + 1, Instret(state));
    }

    [Fact]
    public void InstretCountsEveryRetiredInstructionAcrossTranslatedLoops()
    {
        var code = new Code(Base);
        code.Emit(Rv.Csrr(5, 0xc02));
        code.Emit(Rv.Addi(7, 0, 1000));
        Code.Label loop = code.NewLabel();
        code.Bind(loop);
        code.Emit(Rv.Addi(8, 8, 3));
        code.Emit(Rv.CAddi(9, 1));
        code.Emit(Rv.Addi(7, 7, -1));
        code.Emit(loop, offset => Rv.Bne(7, 0, offset));
        code.Emit(Rv.Csrr(6, 0xc02));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(4002UL, state.Registers[6] - state.Registers[5]);
        Assert.Equal(4004UL, Instret(state));
    }

    [Fact]
    public void FaultInTheMiddleOfATranslatedLoopIsPrecise()
    {
        // M-mode; the store of the 5th iteration goes to a hole in the address space.
        var code = new Code(Base);
        Code.Label handler = code.NewLabel();
        Code.Label loop = code.NewLabel();
        code.Emit(Rv.Auipc(5, 0));
        code.Emit(handler, offset => Rv.Addi(5, 5, offset + 4));
        code.Emit(Rv.Csrw(0x305, 5));
        code.Li(5, (long)Data);
        code.Li(9, 0x2_0000); // the 5th store leaves the 1 MiB of RAM
        code.Li(6, 0);
        code.Bind(loop);
        code.Emit(Rv.Addi(6, 6, 1));
        code.Emit(Rv.Sd(6, 5, 0));
        code.Emit(Rv.Addi(7, 6, 100));
        code.Emit(Rv.Add(5, 5, 9));
        code.Emit(loop, offset => Rv.Jal(0, offset));
        code.Bind(handler);
        code.Emit(Rv.Csrr(20, 0x342));
        code.Emit(Rv.Csrr(21, 0x341));
        code.Emit(Rv.Csrr(22, 0x343));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(7UL, state.Registers[20]); // store access fault
        Assert.Equal(Base + (ulong)loop.Position + 4, state.Registers[21]); // the sd
        Assert.Equal(Data + 0x8_0000, state.Registers[22]);
        Assert.Equal(5UL, state.Registers[6]);
        Assert.Equal(104UL, state.Registers[7]); // the addi after the faulting store did not run
    }

    [Fact]
    public void DeviceAccessesInALoopHappenOnceEachInOrder()
    {
        var code = new Code(Base);
        code.Li(5, (long)TestMachine.RecorderBase).Li(6, 10).Li(10, 0);
        Code.Label loop = code.NewLabel();
        code.Bind(loop);
        code.Emit(Rv.Sw(6, 5, 0x40));
        code.Emit(Rv.Ld(7, 5, 0x80));
        code.Emit(Rv.Add(10, 10, 7));
        code.Emit(Rv.Addi(6, 6, -1));
        code.Emit(loop, offset => Rv.Bne(6, 0, offset));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(20, state.DeviceLog.Count);
        Assert.Equal("w4 40 a", state.DeviceLog[0]);
        Assert.Equal("r8 80", state.DeviceLog[1]);
        Assert.Equal("w4 40 1", state.DeviceLog[18]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoopThatRewritesItsOwnCodeRunsTheNewCode(bool fenceI)
    {
        // Each iteration writes "addi x10, x10, k" into the slot below, then runs it.
        var code = new Code(Base);
        Code.Label loop = code.NewLabel();
        Code.Label slot = code.NewLabel();
        code.Li(10, 0).Li(11, 1).Li(12, 20).Li(15, Rv.Addi(10, 10, 0));
        code.Emit(Rv.Auipc(13, 0));
        code.Emit(slot, offset => Rv.Addi(13, 13, offset + 4));
        code.Bind(loop);
        code.Emit(Rv.Slli(14, 11, 20));
        code.Emit(Rv.Or(14, 14, 15));
        code.Emit(Rv.Sw(14, 13, 0));
        code.Emit(fenceI ? Rv.FenceI() : Rv.Addi(0, 0, 0));
        code.Bind(slot);
        code.Emit(Rv.Addi(10, 10, 0));
        code.Emit(Rv.Addi(11, 11, 1));
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(loop, offset => Rv.Bne(12, 0, offset));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(210UL, state.Registers[10]);
    }

    [Fact]
    public void InstructionsStraddlingPageBoundariesInsideLoops()
    {
        var code = new Code(Base);
        code.Li(10, 0).Li(11, 0).Li(12, 100);
        code.PadTo(Base + 0xff0);
        Code.Label loop = code.NewLabel();
        code.Bind(loop);
        code.Emit(Rv.CAddi(11, 1));
        code.PadTo(Base + 0xffe);
        code.Emit(Rv.Addi(10, 10, 3)); // straddles 0x80001000
        code.PadTo(Base + 0x1ffe);
        code.Emit(Rv.CAddi(10, 1)); // last halfword of the page
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(Rv.Beq(12, 0, 8));
        code.Emit(loop, offset => Rv.Jal(0, offset));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(400UL, state.Registers[10]);
        Assert.Equal(100UL, state.Registers[11]);
    }

    [Fact]
    public void AtomicsAndReservationsAroundTranslatedCode()
    {
        var code = new Code(Base);
        Code.Label loop = code.NewLabel();
        Code.Label retry = code.NewLabel();
        code.Li(5, (long)Data).Li(6, 50).Li(7, 1);
        code.Bind(loop);
        code.Bind(retry);
        code.Emit(Rv.LrD(8, 5));
        code.Emit(Rv.Addi(8, 8, 2));
        code.Emit(Rv.ScD(9, 5, 8));
        code.Emit(retry, offset => Rv.Bne(9, 0, offset));
        code.Emit(Rv.Amo(0, false, 10, 5, 7)); // amoadd.w
        code.Emit(Rv.Addi(6, 6, -1));
        code.Emit(loop, offset => Rv.Bne(6, 0, offset));
        code.Emit(Rv.Ld(11, 5, 0));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(150UL, state.Registers[11]);
    }

    [Fact]
    public void FloatingPointBetweenTranslatedInstructions()
    {
        var code = new Code(Base);
        Code.Label loop = code.NewLabel();
        code.Li(5, 1L << 13).Emit(Rv.Csrrs(0, 0x300, 5));
        code.Li(5, BitConverter.DoubleToInt64Bits(0.1)).Emit(Rv.FmvDX(1, 5));
        code.Emit(Rv.FmvDX(2, 0));
        code.Li(6, 100);
        code.Bind(loop);
        code.Emit(Rv.FaddD(2, 2, 1));
        code.Emit(Rv.Addi(6, 6, -1));
        code.Emit(loop, offset => Rv.Bne(6, 0, offset));
        code.Emit(Rv.FmvXD(10, 2));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        double sum = 0;
        for (int i = 0; i < 100; i++)
        {
            sum += 0.1;
        }

        Assert.Equal(BitConverter.DoubleToInt64Bits(sum), (long)state.Registers[10]);
        Assert.Equal(1UL, state.Control.Single(c => c.Key == "fflags").Value); // inexact
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InterruptReachesAHartSpinningInATranslatedLoop(bool firstTier)
    {
        // The hart spins in "j ." with a huge budget; only the loop's check of the attention
        // flag can let the interrupt in.
        var code = new Code(Base);
        Code.Label handler = code.NewLabel();
        code.Emit(Rv.Auipc(5, 0));
        code.Emit(handler, offset => Rv.Addi(5, 5, offset + 4));
        code.Emit(Rv.Csrw(0x305, 5)); // mtvec
        code.Li(5, 1 << 7).Emit(Rv.Csrw(0x304, 5)); // mie.MTIE
        code.Li(5, 1 << 3).Emit(Rv.Csrrs(0, 0x300, 5)); // mstatus.MIE
        Code.Label spin = code.NewLabel();
        code.Bind(spin);
        code.Emit(spin, offset => Rv.Jal(0, offset));
        code.Bind(handler);
        code.Emit(Rv.Csrr(20, 0x342));
        code.Emit(Rv.Csrw(0x304, 0)); // mie = 0, so that wfi waits
        code.Emit(Rv.Wfi());

        using var machine = TestMachine.WithTranslator(Differential.DefaultRam, firstTier ? TranslatorOptions.FirstTierOnly : TranslatorOptions.Eager);
        machine.Load(code.Base, code.ToArray());
        machine.Hart.Reset(code.Base);
        var raiser = new Thread(() =>
        {
            Thread.Sleep(200);
            machine.Hart.SetPin(7, true);
        });
        raiser.Start();
        machine.Hart.Run(int.MaxValue);
        raiser.Join();

        Assert.Equal((1UL << 63) | 7, machine.Hart.GetRegister(20));
        Assert.Equal(HartRunState.WaitingForInterrupt, machine.Hart.RunState);
        Assert.True(machine.Processor.TranslatorStatistics!.TranslatedInstructions > 1000);
    }

    [Fact]
    public void FullCacheIsFlushedAndCodeIsTranslatedAgain()
    {
        // A cache bound far below what the program needs: translations are dropped over and
        // over while the harts keep running blocks from the jump cache.
        var program = new RandomProgram(77, items: 400);
        var options = new TranslatorOptions { HotThreshold = 0, Background = false, CacheCapacityBytes = 8 * 1024 };
        MachineSnapshot state = Differential.Run(program.LoadInto, RandomProgram.EntryAddress, options);

        using var machine = TestMachine.WithTranslator(Differential.DefaultRam, options);
        program.LoadInto(machine);
        machine.Hart.Reset(RandomProgram.EntryAddress);
        machine.RunUntilIdle();
        Assert.True(machine.Processor.TranslatorStatistics!.CacheFlushes > 2);
        Assert.Equal(state.RamHash, machine.Capture().RamHash);
    }

    [Fact]
    public void FloatingPointWithTheUnitOffIsAPreciseIllegalInstruction()
    {
        var code = new Code(Base);
        Code.Label handler = code.NewLabel();
        code.Emit(Rv.Auipc(5, 0));
        code.Emit(handler, offset => Rv.Addi(5, 5, offset + 4));
        code.Emit(Rv.Csrw(0x305, 5));
        code.Li(6, 0).Li(7, 0);
        Code.Label loop = code.NewLabel();
        code.Bind(loop);
        code.Emit(Rv.Addi(6, 6, 1));
        code.Emit(Rv.Addi(8, 6, -10));
        code.Emit(Rv.Bne(8, 0, 8));
        code.Emit(Rv.FaddD(1, 2, 3)); // reached on the 10th iteration; mstatus.FS is off
        code.Emit(Rv.Addi(7, 7, 1));
        code.Emit(loop, offset => Rv.Jal(0, offset));
        code.Bind(handler);
        code.Emit(Rv.Csrr(20, 0x342));
        code.Emit(Rv.Csrr(21, 0x341));
        code.Emit(Rv.Csrr(22, 0x343));
        code.Emit(Rv.Wfi());

        MachineSnapshot state = Differential.Run(code);

        Assert.Equal(2UL, state.Registers[20]);
        Assert.Equal(Base + (ulong)loop.Position + 12, state.Registers[21]);
        Assert.Equal((ulong)Rv.FaddD(1, 2, 3), state.Registers[22]);
        Assert.Equal(10UL, state.Registers[6]);
        Assert.Equal(9UL, state.Registers[7]);
    }

    private static ulong Instret(MachineSnapshot state) => state.Control.Single(c => c.Key == "instret").Value;
}
