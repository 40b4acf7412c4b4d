using Vessel.IntegrationTests.Infrastructure;
using Vessel.Vmm;
using Vessel.Vmm.Boot;

namespace Vessel.IntegrationTests;

/// <summary>
/// A disk image laid out as distributions ship them (GPT, ext4, /boot/extlinux/extlinux.conf)
/// boots through Debian's U-Boot for QEMU's board to the reference guest's shell: with
/// <c>--bios uboot</c> (U-Boot on the built-in SBI) and with U-Boot on Debian's OpenSBI, the
/// way QEMU runs it. The kernel, initrd and command line come from the disk alone.
/// </summary>
public sealed class UBootBootTests
{
    /// <summary>U-Boot reads the kernel and initrd through virtio one block at a time: slow on a busy machine.</summary>
    private static readonly TimeSpan s_bootTimeout = TimeSpan.FromMinutes(10);

    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    public void DiskBootsThroughUBootOnTheBuiltinSbi(string format)
    {
        using var temp = new TempDirectory();
        string disk = ExtlinuxDisk.Create(temp, ReferenceGuest.InitramfsCommandLine);
        if (format == "qcow2")
        {
            string converted = temp.File("disk.qcow2");
            ExternalTool.Run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", disk, converted]);
            disk = converted;
        }

        using VesselProcess vm = VesselProcess.Start("run", "--bios", "uboot", "--drive", $"file={disk}");
        BootsFromTheDiskToAShell(vm);
    }

    [Fact]
    public void DiskBootsThroughUBootOnOpenSbi()
    {
        using var temp = new TempDirectory();
        string disk = ExtlinuxDisk.Create(temp, ReferenceGuest.InitramfsCommandLine);

        using VesselProcess vm = VesselProcess.Start(
            "run", "--bios", TestPaths.OpenSbiFwJump, "--kernel", DistributionUBoot.DebianSupervisorModePath,
            "--drive", $"file={disk},format=raw");
        vm.WaitFor("OpenSBI", s_bootTimeout);
        BootsFromTheDiskToAShell(vm);
    }

    [Fact]
    public void MissingUBootNamesThePackageToInstall()
    {
        VmmException error = Assert.Throws<VmmException>(() => DistributionUBoot.Locate("/nonexistent/uboot.elf"));
        Assert.Equal(
            "--bios uboot runs Debian's U-Boot for QEMU's virt board (/nonexistent/uboot.elf), which is not installed; install it with 'apt-get install u-boot-qemu'.",
            error.Message);
    }

    private static void BootsFromTheDiskToAShell(VesselProcess vm)
    {
        vm.WaitFor("U-Boot ", s_bootTimeout);
        vm.WaitFor("Found /boot/extlinux/extlinux.conf", s_bootTimeout);
        vm.WaitFor($"1:\t{ExtlinuxDisk.Label}", s_bootTimeout);
        vm.WaitFor("Starting kernel ...", s_bootTimeout);
        vm.WaitFor("Linux version", s_bootTimeout);
        vm.WaitFor(ReferenceGuest.Prompt, s_bootTimeout);

        // The command line is the one extlinux.conf gave, passed on by U-Boot in /chosen.
        Assert.Equal(ReferenceGuest.InitramfsCommandLine + "\n", vm.RunCommand("cat /proc/cmdline"));
        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }
}
