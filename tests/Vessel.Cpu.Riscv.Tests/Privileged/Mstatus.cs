namespace Vessel.Cpu.Riscv.Tests.Privileged;

/// <summary>mstatus bit masks (privileged spec, "Machine Status Register").</summary>
internal static class Mstatus
{
    public const long Sie = 1L << 1;
    public const long Mie = 1L << 3;
    public const long Spie = 1L << 5;
    public const long Mpie = 1L << 7;
    public const long Spp = 1L << 8;
    public const long Mpp = 3L << 11;
    public const long MppSupervisor = 1L << 11;
    public const long Fs = 3L << 13;
    public const long Mprv = 1L << 17;
    public const long Sum = 1L << 18;
    public const long Mxr = 1L << 19;
    public const long Tvm = 1L << 20;
    public const long Tw = 1L << 21;
    public const long Tsr = 1L << 22;
    public const long InterruptBit = long.MinValue;
}
