using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.IntegrationTests.Lifecycle;
using Vessel.Testing.Hosts;
using static Vessel.IntegrationTests.Hosts.NamespaceMigrationTests;

namespace Vessel.IntegrationTests.Hosts;

/// <summary>
/// Block migration (<c>migrate</c> with <c>blk: true</c>, as QEMU's <c>migrate -b</c>) between
/// two namespace hosts that share nothing but the link: the guest's root disk goes along with
/// its memory to an empty image of the same size on B while the guest appends a record to a file
/// every 0.2 s. Afterwards the destination's image equals the source's as it was at the
/// switch-over (<c>qemu-img compare</c>, the destination held paused until compared), checks
/// clean, and holds every record, contiguous. For qcow2 and raw. Refusals: a destination disk of
/// another size (the source runs on), and a state file as the target.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BlockMigrationTests
{
    private const int MigrationPort = 4445;

    private const string Loop = "(i=0; while true; do i=$((i+1)); echo C$i; echo C$i >> /counter; sync; sleep 0.2; done) &";

    [SkippableTheory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    public void TheDiskGoesAlongWithTheMemoryWhileTheGuestWritesToIt(string format)
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        string raw = ReferenceDisk.Unpack(temp);
        string sourceDisk = temp.File($"a.{format}");
        string targetDisk = temp.File($"b.{format}");
        ExternalTool.Run("qemu-img", ["convert", "-O", format, raw, sourceDisk]);
        long size = new FileInfo(raw).Length;
        File.Delete(raw);
        ExternalTool.Run("qemu-img", ["create", "-q", "-f", format, targetDisk, size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];
        using VesselProcess source = StartOn(a, sourceDisk, temp.File("a.sock"));
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock"));
        source.WaitFor(ReferenceGuest.Prompt);
        source.SendLine(Loop);
        source.WaitFor("C5\r\n");

        // Paused after the state is in, so that its image can be compared with the source's
        // before the guest writes to it again.
        using VesselProcess destination = StartOn(b, targetDisk, temp.File("b.sock"), "--incoming", $"tcp:{b.Address}:{MigrationPort}", "--paused");
        WaitUntilListening(b, MigrationPort);
        // 4 MiB/s: the copy takes seconds, and the guest writes to its disk all along.
        qmp.Run("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 4 << 20 });
        qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:{b.Address}:{MigrationPort}", ["blk"] = true });
        JsonNode during = WaitForDiskProgress(qmp);
        Assert.Equal(size, during["disk"]!["total"]!.GetValue<long>());
        int countDuring = LastCount(source.Output);
        DeterministicContinuationTests.WaitForMigration(qmp);
        JsonNode info = qmp.Run("query-migrate");
        Assert.True(info["disk"]!["transferred"]!.GetValue<long>() > 0);
        Assert.Equal(0, info["disk"]!["remaining"]!.GetValue<long>());
        int atSwitch = LastCount(source.Output);
        Assert.True(atSwitch > countDuring, "the guest did not write while its disk was being copied");
        qmp.Run("quit");
        Assert.Equal(0, source.WaitForExit());

        // The destination's image is the source's at the switch-over, byte for byte.
        ExternalTool.Run("qemu-img", ["compare", "-U", "-f", format, "-F", format, sourceDisk, targetDisk]);

        using (QmpClient destinationQmp = QmpClient.ConnectAndNegotiate(temp.File("b.sock")))
        {
            Assert.Equal("paused", destinationQmp.Run("query-status")["status"]!.GetValue<string>());
            destinationQmp.Run("cont");
        }

        destination.WaitFor($"C{atSwitch + 5}\r\n");
        AssertConsecutive(source.Output + destination.Output);
        destination.SendLine("kill %1; sync; poweroff -f");
        Assert.Equal(0, destination.WaitForExit());
        AssertDiskHoldsCounts(temp, targetDisk, atLeast: atSwitch + 5, format);
    }

    [SkippableFact]
    public void ADestinationDiskOfAnotherSizeIsRefusedAndTheSourceRunsOn()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var temp = new TempDirectory();
        string sourceDisk = temp.File("a.qcow2");
        string targetDisk = temp.File("b.qcow2");
        ExternalTool.Run("qemu-img", ["create", "-q", "-f", "qcow2", sourceDisk, "64M"]);
        ExternalTool.Run("qemu-img", ["create", "-q", "-f", "qcow2", targetDisk, "32M"]);

        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];
        using VesselProcess source = VesselProcess.StartProgram("ip", [.. NamespaceHosts.ExecPrefix(a).Skip(1), "dotnet", TestPaths.CliAssembly, "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd, "--append", ReferenceGuest.QuietInitramfsCommandLine, "--memory", "256M", "--drive", $"file={sourceDisk}", "--qmp", $"unix:{temp.File("a.sock")},server=on,wait=off"]);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock"));
        source.WaitFor(ReferenceGuest.Prompt);

        Qmp.QmpMachineTests.AssertError(
            qmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{temp.File("state")}", ["blk"] = true }),
            "GenericError",
            "Block migration goes to another VMM (tcp:, unix: or exec:), not to a state file");

        using VesselProcess destination = VesselProcess.StartProgram("ip", [.. NamespaceHosts.ExecPrefix(b).Skip(1), "dotnet", TestPaths.CliAssembly, "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd, "--append", ReferenceGuest.QuietInitramfsCommandLine, "--memory", "256M", "--drive", $"file={targetDisk}", "--incoming", $"tcp:{b.Address}:{MigrationPort}"]);
        WaitUntilListening(b, MigrationPort);
        qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:{b.Address}:{MigrationPort}", ["blk"] = true });
        Assert.NotEqual(0, destination.WaitForExit());
        Assert.Contains("block migration needs images of the same sizes", destination.Error, StringComparison.Ordinal);
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (qmp.Run("query-migrate")["status"]!.GetValue<string>() is not ("failed" or "cancelled" or "completed"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the migration did not end");
            Thread.Sleep(50);
        }

        Assert.Equal("failed", qmp.Run("query-migrate")["status"]!.GetValue<string>());
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        Assert.Equal("42\n", source.RunCommand("echo $((6*7))"));
    }

    private static JsonNode WaitForDiskProgress(QmpClient qmp)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (true)
        {
            JsonNode info = qmp.Run("query-migrate");
            string status = info["status"]!.GetValue<string>();
            Assert.True(status is not ("failed" or "cancelled"), $"the migration ended {status}: {info.ToJsonString()}");
            if (info["disk"]?["transferred"]?.GetValue<long>() > 0)
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, "no disk figures in query-migrate");
            Thread.Sleep(20);
        }
    }
}
