namespace Vessel.Cpu.Riscv;

/// <summary>RISC-V privilege modes, with their encodings in <c>mstatus.MPP</c>.</summary>
public enum PrivilegeLevel : byte
{
    User = 0,
    Supervisor = 1,
    Machine = 3,
}
