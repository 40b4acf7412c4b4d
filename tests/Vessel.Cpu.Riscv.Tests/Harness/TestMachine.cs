using System.Security.Cryptography;
using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Machine.Bus;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;
using Xunit.Sdk;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// A minimal machine around the hart under test: RAM at 0x8000_0000, the <see cref="TestDevice"/>
/// at 0x10_0000 (where QEMU's virt board has its test finisher), a transmit-only UART at
/// 0x1000_0000, an <see cref="InterruptPinDevice"/> at 0x20_0000, a <see cref="RecordingDevice"/>
/// at <see cref="RecorderBase"/>, and a <see cref="RiscvProcessor"/> with one or more harts that
/// start in M-mode at RAM base. The translator's differential tests make one per engine
/// (<see cref="WithTranslator"/>) and compare what each <see cref="Capture"/>s.
/// </summary>
/// <remarks>
/// A program ends by spinning on itself (<see cref="RiscvAssembler.Spin"/>, <c>j .</c>) or by
/// writing the finisher; <see cref="Run"/> notices either, and fails the test when the program
/// runs past its instruction limit, so a broken CPU cannot hang the suite.
/// </remarks>
public sealed class TestMachine : IDisposable
{
    public const ulong RamBase = 0x8000_0000;
    public const ulong TestDeviceBase = 0x0010_0000;
    public const ulong PinDeviceBase = 0x0020_0000;
    public const ulong UartBase = 0x1000_0000;
    public const ulong RecorderBase = 0x3000_0000;

    /// <summary>An address where nothing is mapped: accesses fault.</summary>
    public const ulong HoleAddress = 0x4000_0000;

    /// <summary>Instructions a hart runs between two checks of the stop conditions.</summary>
    private const int Slice = 256;

    /// <summary>
    /// The engine machines use unless told otherwise: the interpreter, or the one named by the
    /// VESSEL_CPU_TEST_ENGINE environment variable (e.g. <c>Jit</c>), so the whole suite can be
    /// run again under another engine.
    /// </summary>
    public static readonly ExecutionEngine DefaultEngine =
        Enum.TryParse(Environment.GetEnvironmentVariable("VESSEL_CPU_TEST_ENGINE"), ignoreCase: true, out ExecutionEngine engine)
            ? engine
            : ExecutionEngine.Interpreter;

    public TestMachine(int hartCount = 1, ulong ramSize = 16 << 20, ExecutionEngine? engine = null)
    {
        Memory = new GuestMemory(RamBase, ramSize);
        Bus = new MmioBus();
        Clock = new VirtualClock();
        Processor = new RiscvProcessor(Memory, Bus, Clock, hartCount) { Engine = engine ?? DefaultEngine };
        Device = new TestDevice();
        Uart = new UartSink();
        Bus.Map(TestDeviceBase, 0x1000, Device, "test");
        Bus.Map(PinDeviceBase, 0x1000, new InterruptPinDevice(Processor), "pins");
        Bus.Map(UartBase, 0x100, Uart, "uart");
        Bus.Map(RecorderBase, 0x1000, Recorder, "recorder");
        foreach (Hart hart in Processor.Harts)
        {
            hart.Reset(RamBase);
        }
    }

    public GuestMemory Memory { get; }

    public MmioBus Bus { get; }

    public VirtualClock Clock { get; }

    public RiscvProcessor Processor { get; }

    public TestDevice Device { get; }

    public UartSink Uart { get; }

    /// <summary>An MMIO device whose reads depend on every access before them (see <see cref="RecordingDevice"/>).</summary>
    public RecordingDevice Recorder { get; } = new();

    /// <summary>Hart 0.</summary>
    public Hart Hart => Processor.Harts[0];

    /// <summary>Values the program wrote to the test device's log port.</summary>
    public IReadOnlyList<ulong> Log => Device.Log;

    /// <summary>Instructions executed by all harts so far.</summary>
    public long InstructionsExecuted { get; private set; }

    /// <summary>
    /// A machine whose harts run through the translator with <paramref name="translator"/>, or
    /// only the interpreter when it is null, whatever VESSEL_CPU_TEST_ENGINE says.
    /// </summary>
    public static TestMachine WithTranslator(ulong ramSize, TranslatorOptions? translator, int harts = 1)
    {
        var machine = new TestMachine(harts, ramSize, ExecutionEngine.Interpreter);
        machine.Processor.UseTranslator(translator);
        return machine;
    }

    public void Load(ulong address, byte[] bytes) => Memory.WriteBytes(address, bytes);

    /// <summary>Builds <paramref name="program"/> and copies it to its origin (which must be in RAM).</summary>
    public TestMachine Load(RiscvAssembler program)
    {
        Memory.WriteBytes(program.Origin, program.Build());
        return this;
    }

    /// <summary>Assembles a program at RAM base with <paramref name="build"/>, loads it, and returns the assembler (for label addresses).</summary>
    public RiscvAssembler Load(Action<RiscvAssembler> build)
    {
        var program = new RiscvAssembler(RamBase);
        build(program);
        Load(program);
        return program;
    }

    /// <summary>Whether hart <paramref name="index"/> is parked on a <c>j .</c> (or <c>c.j .</c>) at an identity-mapped pc.</summary>
    public bool IsSpinning(int index = 0)
    {
        ulong pc = Processor.Harts[index].Pc;
        return Memory.TryRead(pc, out uint bits) && (bits == 0x0000_006f || (ushort)bits == 0xa001);
    }

    /// <summary>
    /// Runs the harts round robin until hart 0 spins, the finisher is written or
    /// <paramref name="until"/> holds; fails the test after <paramref name="maxInstructions"/>.
    /// The conditions are checked after each slice of instructions, never before the first, so
    /// a hart parked in <c>wfi</c> in front of a spin still takes its interrupt first.
    /// </summary>
    public TestMachine Run(long maxInstructions = 1_000_000, Func<bool>? until = null)
    {
        long limit = InstructionsExecuted + maxInstructions;
        int idleRounds = 0;
        while (true)
        {
            bool ran = false;
            foreach (Hart hart in Processor.Harts)
            {
                if (hart.RunState == HartRunState.Stopped)
                {
                    continue;
                }

                int executed = hart.Run(Slice);
                InstructionsExecuted += executed;
                ran |= executed > 0;
            }

            idleRounds = ran ? 0 : idleRounds + 1;
            bool spinning = Hart.RunState == HartRunState.Running && IsSpinning(0);
            if (Device.FinisherValue is not null || (until is null ? spinning : until()))
            {
                return this;
            }

            if (InstructionsExecuted >= limit || idleRounds > 10_000)
            {
                throw new XunitException(
                    $"the program did not stop within {maxInstructions} instructions; " +
                    string.Join("; ", Processor.Harts.Select(h => h.DescribeState())));
            }
        }
    }

    /// <summary>
    /// Runs hart 0 alone in slices of <paramref name="slice"/> instructions until it waits for an
    /// interrupt (the differential test programs end with <c>wfi</c>) or stops. Fails after
    /// <paramref name="limit"/> instructions.
    /// </summary>
    public long RunUntilIdle(int slice = 10_000, long limit = 50_000_000)
    {
        long executed = 0;
        while (Hart.RunState == HartRunState.Running)
        {
            executed += Hart.Run(slice);
            if (executed > limit)
            {
                throw new TimeoutException($"The program ran more than {limit} instructions: {Hart.DescribeState()}");
            }
        }

        return executed;
    }

    /// <summary>Everything architectural about the machine, for comparison between engines.</summary>
    public MachineSnapshot Capture()
    {
        var registers = new ulong[32];
        var floats = new ulong[32];
        for (int i = 0; i < 32; i++)
        {
            registers[i] = Hart.GetRegister(i);
            floats[i] = Hart.GetFloatRegister(i);
        }

        byte[] ram = Memory.GetReadSpan(RamBase, (int)Memory.Size).ToArray();
        return new MachineSnapshot(Hart.Pc, registers, floats, Hart.CaptureControlState(), Convert.ToHexString(SHA256.HashData(ram)), ram, [.. Recorder.Log]);
    }

    /// <summary>Runs until hart 0 waits in <c>wfi</c>.</summary>
    public TestMachine RunUntilWaiting(long maxInstructions = 1_000_000) =>
        Run(maxInstructions, () => Hart.RunState == HartRunState.WaitingForInterrupt);

    public ulong X(Reg register, int hart = 0) => Processor.Harts[hart].GetRegister((int)register);

    public ulong F(FReg register, int hart = 0) => Processor.Harts[hart].GetFloatRegister((int)register);

    public T Read<T>(ulong address) where T : unmanaged => Memory.Read<T>(address);

    public void Write<T>(ulong address, T value) where T : unmanaged => Memory.Write(address, value);

    public void Dispose()
    {
        Processor.Dispose();
        Memory.Dispose();
    }
}
