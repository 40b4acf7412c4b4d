using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Lifecycle;

/// <summary>
/// A guest loop that prints a counter and appends it to a file on its virtio disk goes through
/// everything a platform does to a running VM: saved and restored in another process, migrated
/// live over <c>tcp:</c> to another process, snapshotted with <c>savevm</c> and reverted with
/// <c>loadvm</c>. The counter goes on without a gap or a repeat (or from the snapshot's value
/// after <c>loadvm</c>), a file written after the snapshot is gone after <c>loadvm</c>, and the
/// file system is clean afterwards.
/// </summary>
public sealed partial class GuestNoticesNothingTests
{
    private const string Loop = "(i=0; while true; do i=$((i+1)); echo C$i; echo C$i >> /counter; sync; sleep 0.2; done) &";

    [Fact]
    public void ACountingGuestGoesOnThroughSaveRestoreMigrationAndSnapshots()
    {
        using var temp = new TempDirectory();
        string raw = ReferenceDisk.Unpack(temp);
        string disk = temp.File("root.qcow2");
        ExternalTool.Run("qemu-img", ["convert", "-O", "qcow2", raw, disk]);
        string state = temp.File("saved.state");
        var console = new System.Text.StringBuilder();

        // 1. Saved to a file; a new process goes on from it.
        using (VesselProcess vm = StartOnDisk(disk, temp.File("1.sock")))
        using (QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("1.sock")))
        {
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.SendLine(Loop);
            vm.WaitFor("C5\r\n");
            qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{state}" });
            DeterministicContinuationTests.WaitForMigration(qmp);
            qmp.Run("quit");
            vm.WaitForExit();
            console.Append(vm.Output);
        }

        // 2. Restored, it runs a while, then migrates live over tcp to a third process.
        int port = LocalPorts.Free();
        using VesselProcess restored = StartOnDisk(disk, temp.File("2.sock"), "--incoming", $"file:{state}");
        using QmpClient restoredQmp = QmpClient.ConnectAndNegotiate(temp.File("2.sock"));
        int atRestore = LastCount(console.ToString());
        restored.WaitFor($"C{atRestore + 10}\r\n");

        // Both processes use the same disk file, as two hosts on shared storage do: the
        // destination opens it without the writer's lock and takes it over when the source
        // lets it go at the end of the migration.
        using VesselProcess destination = StartOnDisk(disk, temp.File("3.sock"), "--incoming", $"tcp:127.0.0.1:{port}");
        LocalPorts.WaitUntilListening(port);
        restoredQmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        DeterministicContinuationTests.WaitForMigration(restoredQmp);
        restoredQmp.Run("quit");
        restored.WaitForExit();
        console.Append(restored.Output);

        using QmpClient qmp3 = QmpClient.ConnectAndNegotiate(temp.File("3.sock"));
        int atMigration = LastCount(console.ToString());
        destination.WaitFor($"C{atMigration + 5}\r\n");
        AssertConsecutive(console.ToString() + destination.Output, from: 1);

        // 3. savevm, a file written after it, loadvm: the file is gone and the counter is back.
        int beforeSnapshot = LastCount(destination.Output);
        Assert.Equal(string.Empty, qmp3.Hmp("savevm s1"));
        int afterSnapshot = LastCount(destination.Output);
        destination.SendLine("echo after > /after-snapshot; sync; echo written-$((6*7))");
        destination.WaitFor("written-42");
        int mark = destination.Output.Length;
        Assert.Equal(string.Empty, qmp3.Hmp("loadvm s1"));
        destination.WaitFor(new Regex(@"C(\d+)\r\n(?:.|\n)*C\d+\r\n"));
        string afterLoad = destination.Output[mark..];
        int firstAfterLoad = int.Parse(CounterPattern().Match(afterLoad).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(firstAfterLoad, beforeSnapshot + 1, afterSnapshot + 1);
        AssertConsecutive(afterLoad, from: firstAfterLoad);
        Assert.Equal("gone\n", destination.RunCommand("[ -e /after-snapshot ] && echo there || echo gone"));

        // The disk is clean, and the snapshot with its VM state is an ordinary qcow2 snapshot.
        destination.SendLine("kill %1; sync; poweroff -f");
        Assert.Equal(0, destination.WaitForExit());
        ExternalTool.Run("qemu-img", ["check", disk]);
        string listing = ExternalTool.Run("qemu-img", ["snapshot", "-l", disk]);
        Assert.Matches(@"\bs1\s+\d+(\.\d+)? MiB", listing);
        string check = temp.File("check.raw");
        ExternalTool.Run("qemu-img", ["convert", "-O", "raw", disk, check]);
        ExternalTool.Run("e2fsck", ["-fn", check]);
        Assert.Contains("C", ExternalTool.Run("debugfs", ["-R", "cat /counter", check]), StringComparison.Ordinal);
    }

    private static VesselProcess StartOnDisk(string disk, string socket, params string[] extra) =>
        VesselProcess.Start(
        [
            "run", "--kernel", TestPaths.GuestKernel, "--append", ReferenceDisk.RootCommandLine + " quiet",
            "--drive", $"file={disk}", "--qmp", $"unix:{socket},server=on,wait=off", .. extra,
        ]);

    private static int LastCount(string output) => CounterPattern().Matches(output).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Last();

    /// <summary>The counter's lines are consecutive from <paramref name="from"/>: no gap, no repeat.</summary>
    private static void AssertConsecutive(string output, int from)
    {
        int expected = from;
        foreach (Match match in CounterPattern().Matches(output))
        {
            Assert.Equal(expected, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            expected++;
        }
    }

    [GeneratedRegex(@"C(\d+)\r\n")]
    private static partial Regex CounterPattern();
}
