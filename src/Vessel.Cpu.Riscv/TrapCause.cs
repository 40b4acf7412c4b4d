namespace Vessel.Cpu.Riscv;

/// <summary>Synchronous exception codes (<c>mcause</c>/<c>scause</c> with the interrupt bit clear).</summary>
public enum ExceptionCause : ulong
{
    InstructionMisaligned = 0,
    InstructionAccessFault = 1,
    IllegalInstruction = 2,
    Breakpoint = 3,
    LoadMisaligned = 4,
    LoadAccessFault = 5,
    StoreMisaligned = 6,
    StoreAccessFault = 7,
    EcallFromUser = 8,
    EcallFromSupervisor = 9,
    EcallFromMachine = 11,
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
}

/// <summary>Interrupt codes (<c>mcause</c>/<c>scause</c> with the interrupt bit set), equal to their <c>mip</c> bit.</summary>
public enum InterruptCause : ulong
{
    SupervisorSoftware = 1,
    MachineSoftware = 3,
    SupervisorTimer = 5,
    MachineTimer = 7,
    SupervisorExternal = 9,
    MachineExternal = 11,
}
