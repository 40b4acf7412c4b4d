using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// Mistakes a user can make with <c>vessel run</c> end in one clear sentence on stderr and a
/// non-zero exit code, never a stack trace, and before any guest code runs.
/// </summary>
public sealed class CliErrorTests
{
    /// <summary>A mistake in the options themselves (as System.CommandLine's parse errors).</summary>
    private const int UsageExitCode = 2;

    /// <summary>
    /// A file given by the user that cannot be used (a bad --kernel, --bios or --drive): the
    /// options were well formed, the run failed.
    /// </summary>
    private const int BadFileExitCode = 1;

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

    /// <summary>As <see cref="AssertOneSentence"/>, for the exact sentence and exit code.</summary>
    private static void AssertRefused(string[] arguments, string sentence, int expectedExitCode)
    {
        using VesselProcess vessel = VesselProcess.Start(arguments);
        int exitCode = vessel.WaitForExit(TimeSpan.FromMinutes(1));
        Assert.Equal($"vessel: {sentence}\n", vessel.Error);
        Assert.Equal(expectedExitCode, exitCode);
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

    private const string ExpectedFirmware = "expected an ELF executable or a flat binary such as OpenSBI's fw_jump.bin";

    [Fact]
    public void FirmwareThatIsAnElfFileOfAnotherArchitecture()
    {
        string hostArchitecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x86-64",
            System.Runtime.InteropServices.Architecture.Arm64 => "AArch64",
            var other => throw new InvalidOperationException($"No ELF machine name known for a {other} host's /bin/ls."),
        };
        AssertRefused(
            ["run", "--kernel", TestPaths.GuestKernel, "--bios", "/bin/ls"],
            $"firmware file '/bin/ls' is an ELF file for {hostArchitecture}, not RISC-V.",
            BadFileExitCode);
    }

    [Fact]
    public void FirmwareThatIsATextFile() =>
        AssertRefused(
            ["run", "--kernel", TestPaths.GuestKernel, "--bios", "/etc/passwd"],
            $"firmware file '/etc/passwd' is a text file, not RISC-V firmware: {ExpectedFirmware}.",
            BadFileExitCode);

    [Fact]
    public void FirmwareThatIsEmpty()
    {
        using var temp = new TempDirectory();
        string empty = temp.File("empty.bin");
        File.WriteAllBytes(empty, []);
        AssertRefused(["run", "--kernel", TestPaths.GuestKernel, "--bios", empty], $"firmware file '{empty}' is empty.", BadFileExitCode);
    }

    [Fact]
    public void FirmwareThatDoesNotBeginWithAnInstruction()
    {
        // Zeros: the all-zero halfword is the architecture's defined illegal instruction.
        using var temp = new TempDirectory();
        string zeros = temp.File("zeros.bin");
        File.WriteAllBytes(zeros, new byte[4096]);
        AssertRefused(
            ["run", "--kernel", TestPaths.GuestKernel, "--bios", zeros],
            $"firmware file '{zeros}' does not begin with a RISC-V instruction, so it is not RISC-V firmware: {ExpectedFirmware}.",
            BadFileExitCode);
    }

    [Fact]
    public void FirmwareLargerThanRam()
    {
        // Real firmware code at the start, then padding to one MiB more than the guest's RAM.
        using var temp = new TempDirectory();
        string big = temp.File("big.bin");
        using (FileStream file = File.Create(big))
        {
            using (FileStream firmware = File.OpenRead(TestPaths.OpenSbiFwJump))
            {
                firmware.CopyTo(file);
            }

            file.SetLength(65L * 1024 * 1024);
        }

        AssertRefused(
            ["run", "--kernel", TestPaths.GuestKernel, "--bios", big, "--memory", "64M"],
            $"firmware file '{big}' needs 65 MiB at 0x80000000, which does not fit in the guest's 64 MiB of RAM; give the VM more --memory.",
            BadFileExitCode);
    }

    [Theory]
    [InlineData("--kernel")]
    [InlineData("--initrd")]
    [InlineData("--append")]
    public void UBootTakesTheKernelFromTheDisk(string option) =>
        AssertRefused(
            ["run", "--bios", "uboot", option, TestPaths.GuestKernel],
            "--bios uboot boots the kernel that the disk's extlinux.conf names, so it takes no --kernel, --initrd or --append.",
            UsageExitCode);

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
