using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests;

/// <summary>
/// Harts on host threads of their own (<see cref="RiscvProcessor.ThreadPerHart"/>), under both
/// engines: AMOs and LR/SC stay atomic when harts really run at the same time, and a store
/// published behind a fence is seen by a hart spinning on its flag (a translated spin loop
/// must reload guest memory on every iteration, not keep it in a register).
/// </summary>
public sealed class HartThreadsTests
{
    private const ulong AmoCounter = TestMachine.RamBase + 0x10_0000;
    private const ulong LrScCounter = AmoCounter + 0x40;
    private const ulong Done = AmoCounter + 0x80;
    private const ulong Data = AmoCounter + 0x1000;
    private const ulong Flag = AmoCounter + 0x2000;
    private const ulong Seen = AmoCounter + 0x3000;
    private const int Iterations = 200_000;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData(ExecutionEngine.Interpreter, 2)]
    [InlineData(ExecutionEngine.Jit, 2)]
    [InlineData(ExecutionEngine.Jit, 4)]
    public void AmosAndLrScCountExactlyAcrossThreads(ExecutionEngine engine, int harts)
    {
        using var machine = new TestMachine(hartCount: harts, engine: engine);
        machine.Processor.ThreadPerHart = true;
        machine.Load(asm =>
        {
            asm.Li(S0, (long)AmoCounter).Li(S1, (long)LrScCounter).Li(S2, (long)Done).Li(T2, 1);

            asm.Li(T1, Iterations);
            asm.Label("amo").AmoaddD(Zero, T2, S0).Addi(T1, T1, -1).Bnez(T1, "amo");

            asm.Li(T1, Iterations);
            asm.Label("lrsc").LrD(T3, S1).Addi(T3, T3, 1).ScD(T4, T3, S1).Bnez(T4, "lrsc");
            asm.Addi(T1, T1, -1).Bnez(T1, "lrsc");

            asm.AmoaddD(Zero, T2, S2).Spin();
        });

        RunUntil(machine, () => machine.Read<ulong>(Done) == (ulong)harts, "every hart to finish counting");

        Assert.Equal((ulong)(Iterations * harts), machine.Read<ulong>(AmoCounter));
        Assert.Equal((ulong)(Iterations * harts), machine.Read<ulong>(LrScCounter));
    }

    [Theory]
    [InlineData(ExecutionEngine.Interpreter)]
    [InlineData(ExecutionEngine.Jit)]
    public void AStorePublishedBehindAFenceIsSeenByASpinningHart(ExecutionEngine engine)
    {
        using var machine = new TestMachine(hartCount: 2, engine: engine);
        machine.Processor.ThreadPerHart = true;
        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data).Li(S1, (long)Flag).Li(S2, (long)Seen).Li(S3, (long)Done).Li(T2, 1);
            asm.Csrr(T0, Csr.Mhartid).Bnez(T0, "reader");

            // Hart 0 first burns enough time for the reader's spin loop to become hot (and be
            // translated under the JIT), then writes the data, a fence, and the flag.
            asm.Li(T1, 20_000_000);
            asm.Label("delay").Addi(T1, T1, -1).Bnez(T1, "delay");
            asm.Li(T1, 0x1234_5678).Sd(T1, 0, S0).Fence(RiscvAssembler.FenceSet.W, RiscvAssembler.FenceSet.W).Sd(T2, 0, S1);
            asm.J("finish");

            asm.Label("reader").Ld(T1, 0, S1).Beqz(T1, "reader");
            asm.Fence(RiscvAssembler.FenceSet.R, RiscvAssembler.FenceSet.R).Ld(T1, 0, S0).Sd(T1, 0, S2);

            asm.Label("finish").AmoaddD(Zero, T2, S3).Spin();
        });

        RunUntil(machine, () => machine.Read<ulong>(Done) == 2, "the reader to see the flag");

        Assert.Equal(0x1234_5678UL, machine.Read<ulong>(Seen));
    }

    /// <summary>Runs the machine's harts on their threads until <paramref name="condition"/> holds, then stops them.</summary>
    private static void RunUntil(TestMachine machine, Func<bool> condition, string what)
    {
        var scheduler = new HartScheduler(machine.Processor, _ => ulong.MaxValue, () => { });
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                scheduler.Run();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "hart threads under test" };
        thread.Start();
        DateTime deadline = DateTime.UtcNow + Patience;
        bool reached;
        while (!(reached = condition()) && DateTime.UtcNow < deadline && thread.IsAlive)
        {
            Thread.Sleep(5);
        }

        scheduler.RequestStop();
        Assert.True(thread.Join(Patience), "the harts did not stop when asked");
        Assert.Null(failure);
        Assert.True(reached, $"timed out waiting for {what}: " + string.Join("; ", machine.Processor.Harts.Select(h => h.DescribeState())));
    }
}
