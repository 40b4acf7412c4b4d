using System.Security.Cryptography;
using Vessel.Cpu.Riscv.Jit;
using Vessel.Machine.Bus;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// A bare machine for CPU tests: RAM at <see cref="RamBase"/>, a <see cref="RecordingDevice"/>
/// at <see cref="DeviceBase"/>, and one hart, run by the interpreter or by the translator.
/// </summary>
public sealed class TestMachine : IDisposable
{
    public const ulong RamBase = 0x8000_0000;
    public const ulong DeviceBase = 0x1000_0000;
    public const ulong DeviceSize = 0x1000;

    /// <summary>An address where nothing is mapped: accesses fault.</summary>
    public const ulong HoleAddress = 0x4000_0000;

    public TestMachine(ulong ramSize, TranslatorOptions? translator, int harts = 1)
    {
        Memory = new GuestMemory(RamBase, ramSize);
        var bus = new MmioBus();
        bus.Map(DeviceBase, DeviceSize, Device, "recorder");
        Processor = new RiscvProcessor(Memory, bus, new VirtualClock(), harts);
        Processor.UseTranslator(translator);
    }

    public GuestMemory Memory { get; }

    public RecordingDevice Device { get; } = new();

    public RiscvProcessor Processor { get; }

    public Hart Hart => Processor.Harts[0];

    public void Load(ulong address, byte[] bytes) => Memory.WriteBytes(address, bytes);

    /// <summary>
    /// Runs hart 0 in slices of <paramref name="slice"/> instructions until it waits for an
    /// interrupt (the test programs end with <c>wfi</c>) or stops. Fails after
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
        return new MachineSnapshot(Hart.Pc, registers, floats, Hart.CaptureControlState(), Convert.ToHexString(SHA256.HashData(ram)), ram, [.. Device.Log]);
    }

    public void Dispose()
    {
        Processor.Dispose();
        Memory.Dispose();
    }
}
