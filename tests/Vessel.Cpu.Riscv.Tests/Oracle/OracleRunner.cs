using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// Runs one bare-metal image twice: under qemu-system-riscv64 (<c>-M virt -bios none</c>, the
/// image as an ELF kernel, entered in M-mode at RAM base, the UART written to a file) and under Vessel's hart in a
/// <see cref="TestMachine"/>, which maps the same UART and test finisher. Both print through the
/// UART and power off through the finisher, so their outputs can be compared line by line.
/// </summary>
internal static class OracleRunner
{
    /// <summary>
    /// QEMU's rv64 CPU without the extensions Vessel does not implement and that change what the
    /// scenarios see (H adds CSR bits and delegations; Sstc makes STIP read-only in mip).
    /// </summary>
    public const string QemuCpu = "rv64,h=false,sstc=false";

    /// <summary>How long QEMU may run; short when debugging (VESSEL_ORACLE_KEEP), where a hang is the thing to look at.</summary>
    public static readonly TimeSpan QemuTimeout = TimeSpan.FromSeconds(Environment.GetEnvironmentVariable("VESSEL_ORACLE_KEEP") is { Length: > 0 } ? 5 : 120);

    /// <summary>The UART output of the image under QEMU.</summary>
    public static string RunQemu(byte[] image)
    {
        string directory = Directory.CreateTempSubdirectory("vessel-cpu-oracle-").FullName;
        try
        {
            string elf = Path.Combine(directory, "program.elf");
            File.WriteAllBytes(elf, ElfImage.Create(TestMachine.RamBase, image));

            // To trace a difference by hand: VESSEL_ORACLE_KEEP=dir keeps the image, to run with
            // qemu-system-riscv64 -M virt -bios none -nographic -d int,in_asm -kernel dir/program.elf.
            if (Environment.GetEnvironmentVariable("VESSEL_ORACLE_KEEP") is { Length: > 0 } keep)
            {
                Directory.CreateDirectory(keep);
                File.Copy(elf, Path.Combine(keep, "program.elf"), overwrite: true);
            }

            // The UART goes to a file rather than to stdout: a pipe through -nographic's mux can
            // lose the last bytes when the finisher ends QEMU, a file write cannot.
            string uart = Path.Combine(directory, "uart.txt");
            (int exit, string output, string errors) = HostTools.Run(
                HostTools.QemuSystem!,
                ["-M", "virt", "-cpu", QemuCpu, "-smp", "1", "-m", "64M", "-bios", "none", "-display", "none", "-monitor", "none",
                    "-serial", $"file:{uart}", "-kernel", elf],
                QemuTimeout);
            Assert.True(exit == 0, $"qemu-system-riscv64 exited with {exit}: {errors}\n{output}");
            return File.ReadAllText(uart).Replace("\r", string.Empty, StringComparison.Ordinal);
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
        machine.Bus.Map(OracleProgram.Clint, 0x1_0000, new MmioSink(), "clint");
        machine.Memory.WriteBytes(TestMachine.RamBase, image);
        machine.Run(maxInstructions, until: () => false);
        Assert.Equal(TestDevice.Pass, machine.Device.FinisherValue);
        return machine.Uart.Text;
    }
}
