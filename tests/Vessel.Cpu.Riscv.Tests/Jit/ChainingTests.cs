using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Programs whose translated regions leave each other through direct exits (fall-through and
/// branches across a page boundary, jal into another page), so that the dispatcher chains
/// them through exit links: the links must give way when the target page is rewritten, and
/// chained execution must still take an interrupt. (Remapping a chained target page is in
/// <see cref="PagingDifferentialTests"/>.)
/// </summary>
public sealed class ChainingTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong MachineSoftwareInterrupt = 3;

    [Fact]
    public void LoopSpanningTwoPagesChainsBothWays()
    {
        // The loop body starts 16 bytes before a page end and falls through into the next page,
        // whose branch goes back: two regions, each leaving towards the other.
        const int iterations = 5000;
        var code = new Code(Base);
        Code.Label loop = code.NewLabel();
        code.Li(10, 0).Li(11, iterations).Li(12, 0);
        code.Emit(loop, offset => Rv.Jal(0, offset));
        code.PadTo(Base + 0xff0);
        code.Bind(loop);
        code.Emit(Rv.Addi(10, 10, 3));
        code.Emit(Rv.Xori(10, 10, 0x55));
        code.Emit(Rv.Addi(11, 11, -1));
        code.Emit(Rv.Add(12, 12, 10));
        Assert.Equal(Base + 0x1000, code.Here);
        code.Emit(Rv.Xor(12, 12, 11));
        code.Emit(loop, offset => Rv.Bne(11, 0, offset));
        code.Emit(Rv.Wfi());

        long chained = 0;
        MachineSnapshot state = Differential.Run(
            machine => machine.Load(Base, code.ToArray()),
            Base,
            inspect: statistics => chained = statistics.ChainedDispatches);

        ulong a = 0, b = 0;
        for (ulong n = iterations; n != 0;)
        {
            a = (a + 3) ^ 0x55;
            n--;
            b = (b + a) ^ n;
        }

        Assert.Equal(a, state.Registers[10]);
        Assert.Equal(b, state.Registers[12]);
        Assert.True(chained > iterations, $"only {chained} dispatches chained");
    }

    [Fact]
    public void RewritingAChainedTargetPageRunsTheNewCode()
    {
        // Page 0 jumps (jal) to a function in page 1 that jumps (jal) straight back, a hundred
        // times; then page 0 rewrites the function's first instruction and does it again.
        const ulong function = Base + 0x1000;
        var code = new Code(Base);
        Code.Label outer = code.NewLabel();
        Code.Label call = code.NewLabel();
        Code.Label back = code.NewLabel();
        Code.Label done = code.NewLabel();
        code.Li(10, 0).Li(13, 2);
        code.Bind(outer);
        code.Li(12, 100);
        code.Bind(call);
        code.Emit(Rv.Jal(0, (int)(function - code.Here)));
        code.Bind(back);
        code.Emit(Rv.Addi(12, 12, -1));
        code.Emit(call, offset => Rv.Bne(12, 0, offset));
        code.Emit(Rv.Addi(13, 13, -1));
        code.Emit(done, offset => Rv.Beq(13, 0, offset));
        code.Li(5, Rv.Addi(10, 10, 100)).Li(6, (long)function);
        code.Emit(Rv.Sw(5, 6, 0));
        code.Emit(Rv.FenceI());
        code.Emit(outer, offset => Rv.Jal(0, offset));
        code.Bind(done);
        code.Emit(Rv.Wfi());

        var target = new Code(function);
        target.Emit(Rv.Addi(10, 10, 1));
        target.Emit(Rv.Jal(0, (int)(Base + (ulong)back.Position - target.Here)));

        long chained = 0;
        MachineSnapshot state = Differential.Run(
            machine =>
            {
                machine.Load(Base, code.ToArray());
                machine.Load(function, target.ToArray());
            },
            Base,
            inspect: statistics => chained = statistics.ChainedDispatches);

        Assert.Equal(100UL + (100 * 100), state.Registers[10]);
        Assert.True(chained > 100, $"only {chained} dispatches chained");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InterruptReachesTwoRegionsThatChainToEachOtherForever(bool firstTier)
    {
        // ping (page 0) and pong (page 1) jump to each other with jal and nothing else: no loop
        // inside a region, so only the dispatcher's checks between chained blocks can notice
        // the interrupt. The hart runs on a thread of its own with a budget it would need
        // seconds to use up; the interrupt must end that one Run call early.
        const ulong pong = Base + 0x1000;
        const ulong handler = Base + 0x2000;
        var code = new Code(Base);
        Code.Label ping = code.NewLabel();
        code.Li(5, (long)handler).Emit(Rv.Csrw(0x305, 5));
        code.Li(5, 1L << (int)MachineSoftwareInterrupt);
        code.Emit(Rv.Csrrs(0, 0x304, 5)); // mie.MSIE
        code.Li(5, 1L << 3);
        code.Emit(Rv.Csrrs(0, 0x300, 5)); // mstatus.MIE
        code.Li(10, 0).Li(11, 0);
        code.Bind(ping);
        code.Emit(Rv.Addi(10, 10, 1));
        code.Emit(Rv.Jal(0, (int)(pong - code.Here)));

        var pongCode = new Code(pong);
        pongCode.Emit(Rv.Addi(11, 11, 1));
        pongCode.Emit(Rv.Jal(0, (int)(Base + (ulong)ping.Position - pongCode.Here)));

        // The handler disables the interrupt (the pin stays raised) and waits.
        var handlerCode = new Code(handler);
        handlerCode.Emit(Rv.Csrr(20, 0x342));
        handlerCode.Emit(Rv.Csrw(0x304, 0));
        handlerCode.Emit(Rv.Wfi());

        using var machine = TestMachine.WithTranslator(Differential.DefaultRam, firstTier ? TranslatorOptions.FirstTierOnly : TranslatorOptions.Eager);
        machine.Load(Base, code.ToArray());
        machine.Load(pong, pongCode.ToArray());
        machine.Load(handler, handlerCode.ToArray());
        machine.Hart.Reset(Base);

        const int budget = int.MaxValue - 1_000_000;
        int executed = -1;
        var runner = new Thread(() => executed = machine.Hart.Run(budget)) { IsBackground = true, Name = "chaining test hart" };
        runner.Start();

        // Statistics are read racily here: they only tell when chaining is well under way.
        DateTime deadline = DateTime.UtcNow.AddMinutes(2);
        while (machine.Processor.TranslatorStatistics!.ChainedDispatches < 10_000 && runner.IsAlive && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }

        machine.Hart.SetPin((int)MachineSoftwareInterrupt, true);
        Assert.True(runner.Join(TimeSpan.FromMinutes(2)), "the hart did not stop");

        Assert.True(executed is > 0 and < budget, $"the Run call used its whole budget ({executed}) instead of taking the interrupt");
        Assert.Equal(HartRunState.WaitingForInterrupt, machine.Hart.RunState);
        Assert.Equal((1UL << 63) | MachineSoftwareInterrupt, machine.Hart.GetRegister(20));
        ulong pings = machine.Hart.GetRegister(10), pongs = machine.Hart.GetRegister(11);
        Assert.True(pings - pongs <= 1, $"{pings} pings, {pongs} pongs");
        Assert.True(machine.Processor.TranslatorStatistics!.ChainedDispatches >= 10_000, "the regions did not chain");
    }
}
