namespace Vessel.Cpu.Riscv.Tests.Fpu.QemuOracle;

/// <summary>
/// A fact that needs the RISC-V cross compiler and QEMU user mode (Debian packages
/// gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross, qemu-user); it is reported as skipped,
/// with the reason, where they are missing.
/// </summary>
public sealed class QemuOracleFactAttribute : FactAttribute
{
    public QemuOracleFactAttribute()
    {
        if (Tools.Compiler is null || Tools.Emulator is null)
        {
            Skip = "needs riscv64-linux-gnu-gcc and qemu-riscv64 (apt-get install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user)";
        }
    }

    internal static class Tools
    {
        public static readonly string? Compiler = Find("riscv64-linux-gnu-gcc");
        public static readonly string? Emulator = Find("qemu-riscv64");

        private static string? Find(string name)
        {
            foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
            {
                string candidate = Path.Combine(directory, name);
                if (directory.Length > 0 && File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }
    }
}
