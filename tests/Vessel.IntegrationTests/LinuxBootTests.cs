using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// Boots the reference Linux guest on the emulated virt board and drives its shell, with the
/// built-in SBI and with Debian's OpenSBI.
/// </summary>
public sealed class LinuxBootTests
{
    [Fact]
    public void BootsToShellComputesAndPowersOff()
    {
        using VesselProcess vm = ReferenceGuest.StartInitramfs();
        vm.WaitFor(new Regex(@"GUEST-UP \d+\.\d+"));
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void FourHartsAreListedInCpuinfo()
    {
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--cpus", "4");
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("4\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));
        Assert.Equal("4\n", vm.RunCommand("cat /sys/devices/system/cpu/online | tr - '\\n' | tail -1 | xargs expr 1 +"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void BootsWithOpenSbiFirmware()
    {
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--bios", TestPaths.OpenSbiFwJump, "--cpus", "2");
        vm.WaitFor("OpenSBI");
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));
        Assert.Equal("2\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void UserSpaceSeesTimeAndIntegerArithmetic()
    {
        using VesselProcess vm = ReferenceGuest.StartInitramfs();
        vm.WaitFor(ReferenceGuest.Prompt);

        // dd and sha256sum exercise rdtime from U-mode, loads/stores, and the M extension.
        Assert.Equal(
            "080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e  -\n",
            vm.RunCommand("dd if=/dev/zero bs=64k count=256 2>/dev/null | sha256sum"));
        Assert.Matches(@"^\d+\n$", vm.RunCommand("date +%s"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }
}
