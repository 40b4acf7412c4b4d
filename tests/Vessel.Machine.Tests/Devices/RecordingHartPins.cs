using Vessel.Machine.Interrupts;

namespace Vessel.Machine.Tests.Devices;

/// <summary>A hart's interrupt pins as the devices drive them (one bit of mip each).</summary>
internal sealed class RecordingHartPins : IHartInterruptPins
{
    private long _mip;

    public ulong Mip => (ulong)Interlocked.Read(ref _mip);

    public bool Meip => IsSet(RiscvInterruptBits.MachineExternal);

    public bool Seip => IsSet(RiscvInterruptBits.SupervisorExternal);

    public bool Mtip => IsSet(RiscvInterruptBits.MachineTimer);

    public bool Msip => IsSet(RiscvInterruptBits.MachineSoftware);

    public static RecordingHartPins[] Create(int count) =>
        Enumerable.Range(0, count).Select(_ => new RecordingHartPins()).ToArray();

    public bool IsSet(int bit) => (Mip & (1UL << bit)) != 0;

    public void SetPin(int mipBit, bool level)
    {
        long bit = 1L << mipBit;
        long current, updated;
        do
        {
            current = Interlocked.Read(ref _mip);
            updated = level ? current | bit : current & ~bit;
        }
        while (Interlocked.CompareExchange(ref _mip, updated, current) != current);
    }
}
