using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// The guest's root disk in qcow2: a converted image, and a linked clone (an overlay whose
/// backing file is the raw reference disk), written by the guest and checked by qemu-img.
/// </summary>
public sealed class Qcow2BootTests
{
    [Fact]
    public void BootsFromAQcow2RootDiskConvertedByVessel()
    {
        using var temp = new TempDirectory();
        string raw = ReferenceDisk.Unpack(temp);
        string qcow2 = temp.File("root.qcow2");
        using (VesselProcess convert = VesselProcess.Start("img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2))
        {
            Assert.Equal(0, convert.WaitForExit());
        }

        using (VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={qcow2}", "--append", ReferenceDisk.RootCommandLine))
        {
            vm.WaitFor("ROOT-ON-DISK");
            vm.WaitFor("hello from disk");
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand("echo in-a-qcow2 > /qcow2.txt");
            vm.RunCommand("sync");
            vm.SendLine("poweroff -f");
            Assert.Equal(0, vm.WaitForExit());
        }

        // qemu-img finds the image Vessel's VM wrote consistent, and the file is there.
        ExternalTool.Run("qemu-img", ["check", qcow2]);
        string flat = temp.File("flat.img");
        ExternalTool.Run("qemu-img", ["convert", "-O", "raw", qcow2, flat]);
        Assert.Equal("in-a-qcow2\n", ExternalTool.Run("debugfs", ["-R", "cat /qcow2.txt", flat]));
    }

    [Fact]
    public void BootsFromALinkedCloneOfTheRawReferenceDisk()
    {
        using var temp = new TempDirectory();
        string baseImage = ReferenceDisk.Unpack(temp, "base.ext4");
        byte[] baseBefore = File.ReadAllBytes(baseImage);
        string overlay = temp.File("clone.qcow2");
        // The overlay made by qemu-img, so the format= detection and the backing chain are
        // exercised on a file Vessel did not write.
        ExternalTool.Run("qemu-img", ["create", "-f", "qcow2", "-b", baseImage, "-F", "raw", overlay]);

        using (VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={overlay}", "--append", ReferenceDisk.RootCommandLine))
        {
            vm.WaitFor("ROOT-ON-DISK");
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand("echo only-in-the-clone > /clone.txt");
            vm.RunCommand("sync");
            vm.SendLine("poweroff -f");
            Assert.Equal(0, vm.WaitForExit());
        }

        // Copy-on-write: the backing file is untouched, the clone has the change.
        Assert.Equal(baseBefore, File.ReadAllBytes(baseImage));
        ExternalTool.Run("qemu-img", ["check", overlay]);
        string flat = temp.File("flat.img");
        ExternalTool.Run("qemu-img", ["convert", "-O", "raw", overlay, flat]);
        Assert.Equal("only-in-the-clone\n", ExternalTool.Run("debugfs", ["-R", "cat /clone.txt", flat]));
        Assert.Contains("File not found", ExternalToolResult("debugfs", "-R", "cat /clone.txt", baseImage));
    }

    [Fact]
    public void RawImageThatLooksLikeQcow2NeedsFormatRaw()
    {
        using var temp = new TempDirectory();
        string disguised = temp.File("disguised.img");
        // A raw disk whose first bytes happen to be a qcow2 header must not be probed as raw.
        ExternalTool.Run("qemu-img", ["create", "-f", "qcow2", disguised, "16M"]);
        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={disguised},format=raw", "--append", ReferenceDisk.RootCommandLine);
        // format=raw is honoured: the VM starts (the guest then finds no file system on vda).
        vm.WaitFor("Linux version");
        vm.Dispose();

        using VesselProcess missing = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={temp.File("nope.qcow2")}", "--append", ReferenceDisk.RootCommandLine);
        Assert.NotEqual(0, missing.WaitForExit());
        Assert.Matches(@"^vessel: [^\n]*nope\.qcow2[^\n]*\n$", missing.Error);
    }

    private static string ExternalToolResult(string program, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
