using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// Programs without firmware (<c>--bios none</c>): started in M-mode at their ELF entry, they
/// talk to the board's devices directly, and the test device's status becomes the exit code.
/// </summary>
public sealed class BareMetalTests
{
    // Hand-assembled RV64I (encodings from the ISA manual):
    //   lui  t0, 0x10000       ; t0 = UART0
    //   addi t1, zero, 'O'     ; sb t1, 0(t0)
    //   addi t1, zero, 'K'     ; sb t1, 0(t0)
    //   addi t1, zero, '\n'    ; sb t1, 0(t0)
    //   lui  t0, 0x100         ; t0 = test device
    //   lui  t1, 0x53          ; addi t1, t1, 0x333  -> 0x53333: failure (0x3333), code 5
    //   sw   t1, 0(t0)
    //   jal  zero, 0           ; wait for the machine to stop
    private static readonly uint[] s_printOkThenFailWithFive =
    [
        0x100002B7,
        0x04F00313, 0x00628023,
        0x04B00313, 0x00628023,
        0x00A00313, 0x00628023,
        0x001002B7,
        0x00053337, 0x33330313,
        0x0062A023,
        0x0000006F,
    ];

    // Same, but 0x5555: power off (exit code 0).
    private static readonly uint[] s_powerOff =
    [
        0x001002B7,
        0x00005337, 0x55530313,
        0x0062A023,
        0x0000006F,
    ];

    [Fact]
    public void TestDeviceFailureCodeIsTheExitCode()
    {
        using var temp = new TempDirectory();
        string program = temp.File("fail5.elf");
        File.WriteAllBytes(program, BareMetalImage.Build(s_printOkThenFailWithFive));

        using VesselProcess vm = VesselProcess.Start("run", "--bios", "none", "--kernel", program, "--memory", "16M");
        Assert.Equal(5, vm.WaitForExit());
        Assert.Equal("OK\n", vm.Output);
    }

    [Fact]
    public void TestDevicePowerOffExitsWithZeroOnEveryHart()
    {
        using var temp = new TempDirectory();
        string program = temp.File("poweroff.elf");
        File.WriteAllBytes(program, BareMetalImage.Build(s_powerOff));

        // Every hart starts at the entry with --bios none, as on QEMU.
        using VesselProcess vm = VesselProcess.Start("run", "--bios", "none", "--kernel", program, "--cpus", "3", "--memory", "16M");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void QemuRunsTheSameProgramToTheSameEnd()
    {
        // The oracle: QEMU's virt board with the same ELF prints the same and exits the same way
        // (QEMU reports the test device's failure code as its exit status too).
        using var temp = new TempDirectory();
        string program = temp.File("fail5.elf");
        File.WriteAllBytes(program, BareMetalImage.Build(s_printOkThenFailWithFive));

        var start = new System.Diagnostics.ProcessStartInfo("qemu-system-riscv64",
            ["-M", "virt", "-m", "16M", "-bios", "none", "-nographic", "-monitor", "none", "-kernel", program])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var qemu = System.Diagnostics.Process.Start(start)!;
        string qemuOutput = qemu.StandardOutput.ReadToEnd();
        Assert.True(qemu.WaitForExit(TimeSpan.FromMinutes(1)));

        using VesselProcess vm = VesselProcess.Start("run", "--bios", "none", "--kernel", program, "--memory", "16M");
        Assert.Equal(qemu.ExitCode, vm.WaitForExit());
        Assert.Equal(qemuOutput.Replace("\r", string.Empty), vm.Output);
    }
}
