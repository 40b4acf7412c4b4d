using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// Boots the reference Linux guest on the emulated virt board and drives its shell, with the
/// built-in SBI and with Debian's OpenSBI. Each scenario runs with the defaults (the dynamic
/// translator, each hart on a host thread of its own) and again with the interpreter and with
/// all harts on one thread, so every way of running guest code stays tested.
/// </summary>
public abstract class LinuxBootScenarios(params string[] cpuOptions)
{
    private const string FourParallelHashes = "bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8  -\n";

    protected VesselProcess Start(params string[] options) => ReferenceGuest.StartInitramfs([.. cpuOptions, .. options]);

    [Fact]
    public void BootsToShellComputesAndPowersOff()
    {
        using VesselProcess vm = Start();
        vm.WaitFor(new Regex(@"GUEST-UP \d+\.\d+"));
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void FourHartsAreListedAndShareWork()
    {
        using VesselProcess vm = Start("--cpus", "4");
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("4\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));
        Assert.Equal("4\n", vm.RunCommand("cat /sys/devices/system/cpu/online | tr - '\\n' | tail -1 | xargs expr 1 +"));
        HashInParallel(vm);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void BootsWithOpenSbiFirmware()
    {
        using VesselProcess vm = Start("--bios", TestPaths.OpenSbiFwJump, "--cpus", "2");
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
        using VesselProcess vm = Start();
        vm.WaitFor(ReferenceGuest.Prompt);

        // dd and sha256sum exercise rdtime from U-mode, loads/stores, and the M extension.
        Assert.Equal(
            "080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e  -\n",
            vm.RunCommand("dd if=/dev/zero bs=64k count=256 2>/dev/null | sha256sum"));
        Assert.Matches(@"^\d+\n$", vm.RunCommand("date +%s"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    /// <summary>
    /// Four processes hash at once, so every hart runs user code while the kernel migrates and
    /// schedules them (IPIs, remote fences). Commands stay short: the shell wraps its echo at
    /// 80 columns.
    /// </summary>
    protected static void HashInParallel(VesselProcess vm)
    {
        vm.RunCommand("h() { dd if=/dev/zero bs=64k count=64 2>/dev/null | sha256sum; }");
        vm.RunCommand("h >/tmp/1 & h >/tmp/2 & h >/tmp/3 & h >/tmp/4 & wait");
        Assert.Equal("4\n", vm.RunCommand("cat /tmp/[1-4] | wc -l"));
        Assert.Equal(FourParallelHashes, vm.RunCommand("cat /tmp/[1-4] | sort -u"));
    }
}

/// <summary>The boot scenarios with the defaults: the dynamic translator, harts on host threads.</summary>
public sealed class LinuxBootTests() : LinuxBootScenarios
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FourHartsOnThreadsRepeatedly(int repetition)
    {
        // Races do not show every time; bench/cpu/smp-soak.sh boots 20 times.
        _ = repetition;
        using VesselProcess vm = Start("--cpus", "4");
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("4\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));
        HashInParallel(vm);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }
}

/// <summary>The boot scenarios under the interpreter, the reference the translator is held to.</summary>
public sealed class InterpreterLinuxBootTests() : LinuxBootScenarios("--cpu-engine", "interpreter");

/// <summary>The boot scenarios with all harts taking turns on one host thread.</summary>
public sealed class SingleThreadLinuxBootTests() : LinuxBootScenarios("--cpu-threads", "single");
