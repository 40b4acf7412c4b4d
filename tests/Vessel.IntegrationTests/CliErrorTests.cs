using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// Mistakes a user can make with <c>vessel run</c> end in one clear sentence on stderr and a
/// non-zero exit code, never a stack trace, and before any guest code runs.
/// </summary>
public sealed class CliErrorTests
{
    private static void AssertOneSentence(string[] arguments, string expectedFragment)
    {
        using VesselProcess vessel = VesselProcess.Start(arguments);
        int exitCode = vessel.WaitForExit(TimeSpan.FromMinutes(1));
        string error = vessel.Error;
        Assert.NotEqual(0, exitCode);
        Assert.Matches(@"^vessel: [^\n]+\n$", error);
        Assert.Contains(expectedFragment, error);
        Assert.DoesNotContain("   at ", error);
        Assert.Equal(string.Empty, vessel.Output);
    }

    [Fact]
    public void MissingKernel() =>
        AssertOneSentence(["run", "--kernel", "/nonexistent/Image"], "does not exist");

    [Fact]
    public void KernelThatIsATextFile()
    {
        using var temp = new TempDirectory();
        string notAKernel = temp.File("notes.txt");
        File.WriteAllText(notAKernel, "this is not a kernel\n");
        AssertOneSentence(["run", "--kernel", notAKernel], "is not a RISC-V kernel");
    }

    [Fact]
    public void KernelForAnotherArchitecture() =>
        // The .NET host itself: an x86-64 (or arm64) ELF executable.
        AssertOneSentence(["run", "--kernel", Environment.ProcessPath!], "not RISC-V");

    [Fact]
    public void UnreadableKernelIsADirectory() =>
        AssertOneSentence(["run", "--kernel", "/tmp"], "is a directory");

    [Fact]
    public void MemoryTooSmallForKernelAndInitrd()
    {
        using var temp = new TempDirectory();
        string bigInitrd = temp.File("big.cpio");
        File.WriteAllBytes(bigInitrd, new byte[20 * 1024 * 1024]);
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--initrd", bigInitrd, "--memory", "16M"], "too small for the kernel");
    }

    [Fact]
    public void MemoryLargerThanTheHost() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--memory", "64T"], "more than");

    [Fact]
    public void MemoryThatIsNotASize() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--memory", "lots"], "is not a size");

    [Theory]
    [InlineData("0")]
    [InlineData("9")]
    public void CpusOutOfRange(string cpus) =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--cpus", cpus], "--cpus must be between 1 and 8");

    [Fact]
    public void ValueOutsideTheAllowedOnesListsThemOnOneLine() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--cpu-threads", "dual"], "single or multi");

    [Fact]
    public void UnknownOption() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--frobnicate"], "--frobnicate");

    [Fact]
    public void MissingFirmwareFile() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--bios", "/nonexistent/fw_jump.bin"], "firmware file");

    [Fact]
    public void MissingDiskImage() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--drive", "file=/nonexistent/disk.img"], "disk.img");

    [Fact]
    public void DriveWithoutFile() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--drive", "format=raw"], "has no file=PATH");

    [Fact]
    public void UnknownDevice() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--device", "virtio-gpu"], "virtio-gpu");

    [Fact]
    public void BadNetworkOption() =>
        AssertOneSentence(["run", "--kernel", TestPaths.GuestKernel, "--net", "user,hostfwd=nonsense"], "hostfwd");
}
