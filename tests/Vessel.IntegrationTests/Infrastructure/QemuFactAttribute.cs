namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>A fact that needs qemu-system-riscv64 (Debian qemu-system-misc, installed by scripts/setup); skipped with the reason where it is missing.</summary>
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        bool found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, "qemu-system-riscv64")));
        if (!found)
        {
            Skip = "needs qemu-system-riscv64 (apt-get install qemu-system-misc, see scripts/setup)";
        }
    }
}
