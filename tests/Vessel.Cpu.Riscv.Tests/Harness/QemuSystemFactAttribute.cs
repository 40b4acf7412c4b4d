namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>A fact that needs qemu-system-riscv64 (Debian qemu-system-misc); skipped with the reason where it is missing.</summary>
public sealed class QemuSystemFactAttribute : FactAttribute
{
    public QemuSystemFactAttribute()
    {
        if (HostTools.QemuSystem is null)
        {
            Skip = "needs qemu-system-riscv64 (apt-get install qemu-system-misc, see scripts/setup)";
        }
    }
}
