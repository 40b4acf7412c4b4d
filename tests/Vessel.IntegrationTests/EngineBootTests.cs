using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// The Linux boot scenarios with each execution engine named explicitly, so that the engine
/// that is not the default stays tested as well: with the dynamic translator the kernel,
/// BusyBox and OpenSBI run mostly as translated code, with interrupts, page faults, SBI calls
/// and code loading in between; the interpreter is the reference the translator is held to.
/// </summary>
public abstract class EngineBootTests(string engine)
{
    protected string Engine { get; } = engine;

    private VesselProcess Start(params string[] options) =>
        ReferenceGuest.StartInitramfs(["--cpu-engine", Engine, .. options]);

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
    public void UserSpaceSeesTimeAndIntegerArithmetic()
    {
        using VesselProcess vm = Start();
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal(
            "080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e  -\n",
            vm.RunCommand("dd if=/dev/zero bs=64k count=256 2>/dev/null | sha256sum"));
        Assert.Matches(@"^\d+\n$", vm.RunCommand("date +%s"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void FourHartsBootAndShareWork()
    {
        using VesselProcess vm = Start("--cpus", "4");
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("4\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));

        // Four processes hash at once, so every hart runs translated user code and the kernel
        // migrates and schedules them (IPIs, remote fences). Commands stay short: the shell
        // wraps its echo at 80 columns.
        vm.RunCommand("h() { dd if=/dev/zero bs=64k count=64 2>/dev/null | sha256sum; }");
        vm.RunCommand("h >/tmp/1 & h >/tmp/2 & h >/tmp/3 & h >/tmp/4 & wait");
        Assert.Equal("4\n", vm.RunCommand("cat /tmp/[1-4] | wc -l"));
        Assert.Equal("bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8  -\n", vm.RunCommand("cat /tmp/[1-4] | sort -u"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FourHartsOnTheirOwnThreads(int repetition)
    {
        // Each hart on a host thread (--cpu-threads multi): real
        // concurrency between translated code, remote fences, IPIs and code-page tracking.
        // Repeated, since races do not show every time; bench/cpu/smp-soak.sh boots 20 times.
        _ = repetition;
        using VesselProcess vm = VesselProcess.Start(
            "run", "--cpu-engine", Engine, "--cpu-threads", "multi", "--cpus", "4", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd,
            "--append", ReferenceGuest.InitramfsCommandLine);
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("4\n", vm.RunCommand("grep -c processor /proc/cpuinfo"));
        vm.RunCommand("h() { dd if=/dev/zero bs=64k count=64 2>/dev/null | sha256sum; }");
        vm.RunCommand("h >/tmp/1 & h >/tmp/2 & h >/tmp/3 & h >/tmp/4 & wait");
        Assert.Equal("4\n", vm.RunCommand("cat /tmp/[1-4] | wc -l"));
        Assert.Equal("bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8  -\n", vm.RunCommand("cat /tmp/[1-4] | sort -u"));

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
}

/// <summary>The boot scenarios under the dynamic translator (the default engine).</summary>
public sealed class JitBootTests() : EngineBootTests("jit");

/// <summary>The boot scenarios under the interpreter.</summary>
public sealed class InterpreterBootTests() : EngineBootTests("interpreter");
