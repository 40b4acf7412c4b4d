using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// The paravirtual devices seen from a real Linux guest: virtio-blk (root disk, read-only
/// disks, flushes surviving power-off), virtio-rng, virtio-console and virtio-balloon.
/// </summary>
public sealed class VirtioDeviceTests
{
    [Fact]
    public void BootsFromRootDiskAndWritesSurvivePowerOff()
    {
        using var temp = new TempDirectory();
        string disk = ReferenceDisk.Unpack(temp);

        using (VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={disk}", "--append", ReferenceDisk.RootCommandLine))
        {
            vm.WaitFor("ROOT-ON-DISK");
            vm.WaitFor("hello from disk");
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand("echo written-by-the-guest > /proof.txt");
            vm.RunCommand("sync");
            vm.SendLine("poweroff -f");
            Assert.Equal(0, vm.WaitForExit());
        }

        // e2fsck exits 0 when the file system has no errors (it may still note summary counts
        // that only a journal replay updates, as it does for images written under QEMU).
        ExternalTool.Run("e2fsck", ["-fn", disk]);
        Assert.Equal("written-by-the-guest\n", ExternalTool.Run("debugfs", ["-R", "cat /proof.txt", disk]));
    }

    [Fact]
    public void ReadOnlyDiskRefusesWritesAndRngFeedsHwrng()
    {
        using var temp = new TempDirectory();
        string root = ReferenceDisk.Unpack(temp);
        string data = temp.File("data.img");
        byte[] pattern = new byte[1024 * 1024];
        new Random(7).NextBytes(pattern);
        File.WriteAllBytes(data, pattern);

        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={root}", "--drive", $"file={data},format=raw,readonly=on",
            "--device", "virtio-rng", "--append", ReferenceDisk.RootCommandLine);
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.Equal("1\n", vm.RunCommand("cat /sys/block/vdb/ro"));
        Assert.Equal("2048\n", vm.RunCommand("cat /sys/block/vdb/size"));
        // Commands stay short: BusyBox's line editor wraps long lines on an 80-column console.
        string failure = vm.RunCommand("dd if=/dev/zero of=/dev/vdb count=1 oflag=direct");
        Assert.Contains("Operation not permitted", failure);
        Assert.Equal("status=1\n", vm.RunCommand("echo status=$?"));

        // The guest reads back exactly what the host wrote.
        string expectedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(pattern));
        Assert.StartsWith(expectedHash, vm.RunCommand("sha256sum /dev/vdb"));

        Assert.Equal("virtio_rng.0\n", vm.RunCommand("cat /sys/class/misc/hw_random/rng_current"));
        Assert.Equal("4096\n", vm.RunCommand("head -c 4096 /dev/hwrng | wc -c"));
        // Two reads of a CSPRNG differ, and neither is all zeroes.
        string first = vm.RunCommand("head -c 4096 /dev/hwrng | sha256sum");
        string second = vm.RunCommand("head -c 4096 /dev/hwrng | sha256sum");
        string zeroes = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[4096]));
        Assert.NotEqual(first, second);
        Assert.DoesNotContain(zeroes, first + second);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
        Assert.Equal(pattern, File.ReadAllBytes(data));
    }

    [Fact]
    public void VirtioConsoleCarriesTheShell()
    {
        // This kernel has HVC_RISCV_SBI, which takes hvc0 for the SBI console: virtio-console's
        // first port is hvc1, exactly as on QEMU with -device virtconsole.
        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd,
            "--console", "virtio", "--append", "console=hvc1 panic=-1");
        vm.WaitFor(new Regex("GUEST-UP"));
        vm.WaitFor(ReferenceGuest.Prompt);

        Assert.StartsWith("hvc1 ", vm.RunCommand("cat /proc/consoles"));
        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void InflatingTheBalloonReturnsMemoryToTheHost()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--memory", "256M", "--device", "virtio-balloon", "--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);

        // Touch 160 MiB in the guest, then free it: the pages stay resident in the VMM.
        vm.RunCommand("dd if=/dev/zero of=/fill bs=1M count=160 2>/dev/null; rm /fill; echo done");
        long before = vm.ResidentBytes();

        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);
        Assert.Equal(256L * 1024 * 1024, qmp.Run("query-balloon")["actual"]!.GetValue<long>());
        qmp.Run("balloon", new JsonObject { ["value"] = 64L * 1024 * 1024 });

        // The guest inflates the balloon: BALLOON_CHANGE events follow its progress (at most
        // one a second, the latest kept) until query-balloon reports what it has given back.
        qmp.WaitForEvent("BALLOON_CHANGE", e => e["data"]!["actual"]!.GetValue<long>() == 64L * 1024 * 1024);
        Assert.Equal(64L * 1024 * 1024, qmp.Run("query-balloon")["actual"]!.GetValue<long>());
        Assert.Equal("balloon: actual=64\r\n", qmp.Hmp("info balloon"));
        long after = vm.ResidentBytes();
        Assert.True(after < before - (80L * 1024 * 1024), $"resident memory went from {before} to {after} bytes");

        // The guest sees less memory while the balloon holds it.
        int freeMiB = int.Parse(vm.RunCommand("free -m | awk '/Mem:/ {print $4}'").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(freeMiB < 100, $"the guest still has {freeMiB} MiB free");

        // Letting go: the guest deflates back to all of its memory.
        int from = qmp.Events.Count;
        qmp.Run("balloon", new JsonObject { ["value"] = 256L * 1024 * 1024 });
        qmp.WaitForEvent("BALLOON_CHANGE", e => e["data"]!["actual"]!.GetValue<long>() == 256L * 1024 * 1024, from);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void TwoVmsCannotOpenTheSameWritableDisk()
    {
        using var temp = new TempDirectory();
        string disk = ReferenceDisk.Unpack(temp);
        using VesselProcess first = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={disk}", "--append", ReferenceDisk.RootCommandLine);
        first.WaitFor(ReferenceGuest.Prompt);

        using VesselProcess second = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--drive", $"file={disk}", "--append", ReferenceDisk.RootCommandLine);
        Assert.NotEqual(0, second.WaitForExit());
        Assert.Matches(@"^vessel: .*in use.*\n$", second.Error);

        first.SendLine("poweroff -f");
        Assert.Equal(0, first.WaitForExit());
    }
}
