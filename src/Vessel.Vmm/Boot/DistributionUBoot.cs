namespace Vessel.Vmm.Boot;

/// <summary>
/// Debian's U-Boot for QEMU's <c>virt</c> board, built to run in S-mode on an SBI (package
/// <c>u-boot-qemu</c>). Distribution disk images boot through it as on QEMU: its distro boot
/// scans the disks for <c>/boot/extlinux/extlinux.conf</c> and starts the kernel named there
/// with its initrd and command line. Vessel runs it as the S-mode stage after the built-in
/// SBI, where OpenSBI would hand over to it.
/// </summary>
public static class DistributionUBoot
{
    /// <summary>Where Debian installs the S-mode build for QEMU's virt board.</summary>
    public const string DebianSupervisorModePath = "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf";

    /// <summary>The U-Boot file to boot, or a one-sentence error saying what to install.</summary>
    public static string Locate(string path = DebianSupervisorModePath)
    {
        if (!File.Exists(path))
        {
            throw new VmmException($"--bios uboot runs Debian's U-Boot for QEMU's virt board ({path}), which is not installed; install it with 'apt-get install u-boot-qemu'.");
        }

        return path;
    }
}
