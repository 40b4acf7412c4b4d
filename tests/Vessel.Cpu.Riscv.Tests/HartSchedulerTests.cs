using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using Vessel.Machine.Interrupts;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests;

/// <summary>
/// The scheduler that runs all harts on one thread: it interleaves running harts, skips stopped
/// ones, sleeps when every hart waits in wfi, wakes when a pin is raised from another thread, and
/// stops on request. (Only outcomes are asserted, never timings; the waits are generous.)
/// </summary>
public sealed class HartSchedulerTests
{
    private const ulong Counters = TestMachine.RamBase + 0x10_0000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static void WaitFor(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(1);
        }
    }

    private static (HartScheduler Scheduler, Thread Thread) Start(TestMachine machine, Action? betweenSlices = null, List<int>? timerQueries = null)
    {
        var scheduler = new HartScheduler(
            machine.Processor,
            hart =>
            {
                if (timerQueries is not null)
                {
                    lock (timerQueries)
                    {
                        timerQueries.Add(hart);
                    }
                }

                return ulong.MaxValue;
            },
            betweenSlices ?? (() => { }));
        var thread = new Thread(scheduler.Run) { IsBackground = true, Name = "hart scheduler under test" };
        thread.Start();
        return (scheduler, thread);
    }

    private static void Stop(HartScheduler scheduler, Thread thread)
    {
        scheduler.RequestStop();
        Assert.True(thread.Join(Patience), "the scheduler did not stop when asked");
    }

    [Fact]
    public void RunningHartsAllMakeProgressUntilStopIsRequested()
    {
        using var machine = new TestMachine(hartCount: 2);
        machine.Load(asm =>
        {
            // Each hart counts forever in its own doubleword.
            asm.Csrr(T0, Csr.Mhartid).Slli(T0, T0, 3).Li(S0, (long)Counters).Add(S0, S0, T0);
            asm.Label("loop").Ld(T1, 0, S0).Addi(T1, T1, 1).Sd(T1, 0, S0).J("loop");
        });
        int rounds = 0;
        var queried = new List<int>();
        (HartScheduler scheduler, Thread thread) = Start(machine, () => Interlocked.Increment(ref rounds), queried);
        WaitFor(() => machine.Read<ulong>(Counters) > 100_000 && machine.Read<ulong>(Counters + 8) > 100_000, "both harts to count");
        Stop(scheduler, thread);

        Assert.True(scheduler.InstructionsExecuted > 400_000);
        Assert.True(Volatile.Read(ref rounds) > 0);
        lock (queried)
        {
            Assert.Contains(0, queried);
            Assert.Contains(1, queried);
        }
    }

    [Fact]
    public void StoppedHartsAreNotRun()
    {
        using var machine = new TestMachine(hartCount: 2);
        machine.Load(asm =>
        {
            asm.Csrr(T0, Csr.Mhartid).Slli(T0, T0, 3).Li(S0, (long)Counters).Add(S0, S0, T0);
            asm.Label("loop").Ld(T1, 0, S0).Addi(T1, T1, 1).Sd(T1, 0, S0).J("loop");
        });
        machine.Processor.Harts[1].StopUntilStarted();
        (HartScheduler scheduler, Thread thread) = Start(machine);
        WaitFor(() => machine.Read<ulong>(Counters) > 100_000, "hart 0 to count");
        Stop(scheduler, thread);
        Assert.Equal(0UL, machine.Read<ulong>(Counters + 8));
        Assert.Equal(TestMachine.RamBase, machine.Processor.Harts[1].Pc);
    }

    [Fact]
    public void WhenEveryHartWaitsTheSchedulerSleepsAndAPinWakesTheHart()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            asm.Li(T0, 1 << 11).Csrw(Csr.Mie, T0); // MEIE, with mstatus.MIE clear: wakes wfi, no trap
            asm.Li(S0, (long)Counters).Wfi();
            asm.Li(T1, 1).Sd(T1, 0, S0);
            asm.Label("idle").Wfi().J("idle");
        });
        (HartScheduler scheduler, Thread thread) = Start(machine);
        WaitFor(() => scheduler.Sleeps > 0, "the scheduler to sleep");
        Assert.Equal(0UL, machine.Read<ulong>(Counters));

        machine.Hart.SetPin(RiscvInterruptBits.MachineExternal, true);
        WaitFor(() => machine.Read<ulong>(Counters) == 1, "the hart to wake up");
        Stop(scheduler, thread);
    }
}
