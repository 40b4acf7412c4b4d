namespace Vessel.Machine.Interrupts;

/// <summary>
/// The interrupt inputs of one RISC-V hart, as seen by the CLINT and the PLIC: each pin is a
/// bit of the hart's <c>mip</c> register (3 = MSIP, 7 = MTIP, 9 = SEIP, 11 = MEIP). Setting a
/// pin wakes the hart if it sleeps in <c>wfi</c>. Safe to call from any thread.
/// </summary>
public interface IHartInterruptPins
{
    void SetPin(int mipBit, bool level);
}

/// <summary>RISC-V <c>mip</c> bit numbers driven by platform devices.</summary>
public static class RiscvInterruptBits
{
    public const int SupervisorSoftware = 1;
    public const int MachineSoftware = 3;
    public const int SupervisorTimer = 5;
    public const int MachineTimer = 7;
    public const int SupervisorExternal = 9;
    public const int MachineExternal = 11;
}
