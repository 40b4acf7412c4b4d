using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// Runs one bare-metal image twice: under qemu-system-riscv64 (<c>-M virt -bios none</c>, the
/// image as an ELF kernel, entered in M-mode at RAM base) and under Vessel's hart in a
/// <see cref="TestMachine"/>, which maps the same UART and test finisher. Both print through the
/// UART and power off through the finisher, so their outputs can be compared line by line.
/// </summary>
internal static class OracleRunner
{
    public static readonly TimeSpan QemuTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The UART output of the image under QEMU.</summary>
    public static string RunQemu(byte[] image)
    {
        string directory = Directory.CreateTempSubdirectory("vessel-cpu-oracle-").FullName;
        try
        {
            string elf = Path.Combine(directory, "program.elf");
            File.WriteAllBytes(elf, ElfImage.Create(TestMachine.RamBase, image));
            (int exit, string output, string errors) = HostTools.Run(
                HostTools.QemuSystem!,
                ["-M", "virt", "-smp", "1", "-m", "64M", "-bios", "none", "-nographic", "-kernel", elf],
                QemuTimeout);
            Assert.True(exit == 0, $"qemu-system-riscv64 exited with {exit}: {errors}\n{output}");
            return output.Replace("\r", string.Empty, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The UART output of the image under Vessel's hart.</summary>
    public static string RunVessel(byte[] image, long maxInstructions = 50_000_000)
    {
        using var machine = new TestMachine(ramSize: 64 << 20);
        machine.Memory.WriteBytes(TestMachine.RamBase, image);
        machine.Run(maxInstructions, until: () => false);
        Assert.Equal(TestDevice.Pass, machine.Device.FinisherValue);
        return machine.Uart.Text;
    }
}
