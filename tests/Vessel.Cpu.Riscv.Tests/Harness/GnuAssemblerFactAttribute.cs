namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>A fact that needs the GNU RISC-V assembler (Debian binutils-riscv64-linux-gnu); skipped with the reason where it is missing.</summary>
public sealed class GnuAssemblerFactAttribute : FactAttribute
{
    public GnuAssemblerFactAttribute()
    {
        if (HostTools.GnuAssembler is null || HostTools.ObjCopy is null)
        {
            Skip = "needs riscv64-linux-gnu-as and riscv64-linux-gnu-objcopy (apt-get install binutils-riscv64-linux-gnu)";
        }
    }
}
