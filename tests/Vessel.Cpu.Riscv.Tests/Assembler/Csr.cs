namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>CSR numbers (privileged spec, "CSR Listing").</summary>
public static class Csr
{
    // Unprivileged floating point and counters.
    public const ushort Fflags = 0x001;
    public const ushort Frm = 0x002;
    public const ushort Fcsr = 0x003;
    public const ushort Cycle = 0xc00;
    public const ushort Time = 0xc01;
    public const ushort Instret = 0xc02;
    public const ushort Hpmcounter3 = 0xc03;

    // Supervisor.
    public const ushort Sstatus = 0x100;
    public const ushort Sie = 0x104;
    public const ushort Stvec = 0x105;
    public const ushort Scounteren = 0x106;
    public const ushort Senvcfg = 0x10a;
    public const ushort Sscratch = 0x140;
    public const ushort Sepc = 0x141;
    public const ushort Scause = 0x142;
    public const ushort Stval = 0x143;
    public const ushort Sip = 0x144;
    public const ushort Satp = 0x180;

    // Machine information.
    public const ushort Mvendorid = 0xf11;
    public const ushort Marchid = 0xf12;
    public const ushort Mimpid = 0xf13;
    public const ushort Mhartid = 0xf14;

    // Machine trap setup and handling.
    public const ushort Mstatus = 0x300;
    public const ushort Misa = 0x301;
    public const ushort Medeleg = 0x302;
    public const ushort Mideleg = 0x303;
    public const ushort Mie = 0x304;
    public const ushort Mtvec = 0x305;
    public const ushort Mcounteren = 0x306;
    public const ushort Menvcfg = 0x30a;
    public const ushort Mcountinhibit = 0x320;
    public const ushort Mscratch = 0x340;
    public const ushort Mepc = 0x341;
    public const ushort Mcause = 0x342;
    public const ushort Mtval = 0x343;
    public const ushort Mip = 0x344;

    // Memory protection and machine counters.
    public const ushort Pmpcfg0 = 0x3a0;
    public const ushort Pmpcfg2 = 0x3a2;
    public const ushort Pmpaddr0 = 0x3b0;
    public const ushort Mcycle = 0xb00;
    public const ushort Minstret = 0xb02;
}
