using Vessel.Cpu.Riscv.Sbi;
using Vessel.Machine.Interrupts;

namespace Vessel.Cpu.Riscv.Tests.Sbi;

/// <summary>
/// What a board gives the built-in SBI, reduced to something a test can inspect: it records
/// every call, and its timer behaves like a CLINT comparator against a time the test sets
/// (the hart's timer pin is high while the comparator is at or below that time).
/// </summary>
internal sealed class FakeFirmwarePlatform(RiscvProcessor processor) : IFirmwarePlatform
{
    private readonly Queue<byte> _input = new();

    public List<(int Hart, ulong Time)> TimerCalls { get; } = [];

    public List<byte> Console { get; } = [];

    public List<SystemResetKind> Resets { get; } = [];

    /// <summary>The time the comparator is checked against.</summary>
    public ulong Now { get; set; } = 1000;

    public void QueueInput(params byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            _input.Enqueue(b);
        }
    }

    public void SetTimer(int hartIndex, ulong time)
    {
        TimerCalls.Add((hartIndex, time));
        processor.Harts[hartIndex].SetPin(RiscvInterruptBits.MachineTimer, time <= Now);
    }

    public void ConsoleWrite(byte value) => Console.Add(value);

    public int ConsoleRead() => _input.Count > 0 ? _input.Dequeue() : -1;

    public void SystemReset(SystemResetKind kind) => Resets.Add(kind);
}
