using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using static Vessel.IntegrationTests.Qmp.QmpMachineTests;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// Internal snapshots through QMP: <c>snapshot-save</c>, <c>-load</c> and <c>-delete</c> as jobs
/// with <c>JOB_STATUS_CHANGE</c> events, <c>query-jobs</c> and <c>job-dismiss</c>, and HMP's
/// <c>savevm</c>, <c>loadvm</c>, <c>delvm</c> and <c>info snapshots</c>, on a running guest
/// whose shell comes back to the moment of the snapshot.
/// </summary>
public sealed class QmpSnapshotTests
{
    private static readonly string[] s_successStatuses = ["created", "running", "waiting", "pending", "concluded"];
    private static readonly string[] s_failureStatuses = ["created", "running", "aborting", "concluded"];

    [Fact]
    public void SnapshotJobsSaveLoadAndDeleteAndHmpSeesThem()
    {
        using var temp = new TempDirectory();
        string disk = temp.File("data.qcow2");
        ExternalTool.Run("qemu-img", ["create", "-q", "-f", "qcow2", disk, "64M"]);
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfsWith(
            ReferenceGuest.QuietInitramfsCommandLine, "--drive", $"file={disk},id=data", "--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);
        Assert.Equal("There is no snapshot available.\r\n", qmp.Hmp("info snapshots"));

        vm.RunCommand("MARK=before-$((6*7))");
        RunJob(qmp, "save1", "snapshot-save", new JsonObject { ["tag"] = "first", ["vmstate"] = "data", ["devices"] = new JsonArray("data") }, s_successStatuses);
        JsonArray jobs = qmp.Run("query-jobs").AsArray();
        JsonObject job = Assert.Single(jobs)!.AsObject();
        Assert.Equal("snapshot-save", job["type"]!.GetValue<string>());
        Assert.Equal("concluded", job["status"]!.GetValue<string>());
        Assert.False(job.ContainsKey("error"), job.ToJsonString());
        AssertError(
            qmp.Execute("snapshot-save", new JsonObject { ["job-id"] = "save1", ["tag"] = "again", ["vmstate"] = "data", ["devices"] = new JsonArray("data") }),
            "GenericError",
            "Job ID 'save1' already in use");
        AssertError(qmp.Execute("job-dismiss", new JsonObject { ["id"] = "nope" }), "GenericError", "Job not found");
        Dismiss(qmp, "save1");
        Assert.Empty(qmp.Run("query-jobs").AsArray());

        string listing = qmp.Hmp("info snapshots");
        Assert.StartsWith("List of snapshots present on all disks:\r\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\r\n--        first   ", listing);

        // The guest moves on, then comes back to the snapshot's moment.
        vm.RunCommand("MARK=after");
        RunJob(qmp, "load1", "snapshot-load", new JsonObject { ["tag"] = "first", ["vmstate"] = "data", ["devices"] = new JsonArray("data") }, s_successStatuses);
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        Assert.Equal("before-42\n", vm.RunCommand("echo $MARK"));
        Dismiss(qmp, "load1");

        // A job that fails concludes with its error.
        RunJob(qmp, "empty", "snapshot-save", new JsonObject { ["tag"] = "x", ["vmstate"] = "data", ["devices"] = new JsonArray() }, s_failureStatuses);
        Assert.Equal("At least one device is required for snapshot", qmp.Run("query-jobs")[0]!["error"]!.GetValue<string>());
        Dismiss(qmp, "empty");

        // HMP: savevm (replacing a tag of the same name), loadvm, delvm.
        Assert.Equal(string.Empty, qmp.Hmp("savevm second"));
        Assert.Equal(string.Empty, qmp.Hmp("savevm second"));
        Assert.Contains(" second ", qmp.Hmp("info snapshots"));
        Assert.Equal("loadvm: string expected\r\nTry \"help loadvm\" for more information\r\n", qmp.Hmp("loadvm"));
        Assert.StartsWith("Error: ", qmp.Hmp("loadvm no-such-tag"));
        Assert.Equal(string.Empty, qmp.Hmp("loadvm second"));
        Assert.Equal("before-42\n", vm.RunCommand("echo $MARK"));
        Assert.Equal(string.Empty, qmp.Hmp("delvm second"));
        Assert.DoesNotContain(" second ", qmp.Hmp("info snapshots"));

        RunJob(qmp, "delete1", "snapshot-delete", new JsonObject { ["tag"] = "first", ["devices"] = new JsonArray("data") }, s_successStatuses);
        Assert.Equal("There is no snapshot available.\r\n", qmp.Hmp("info snapshots"));

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    /// <summary>Starts a job and waits for it to conclude; checks the statuses it went through.</summary>
    private static void RunJob(QmpClient qmp, string id, string command, JsonObject arguments, string[] statuses)
    {
        int from = qmp.Events.Count;
        arguments["job-id"] = id;
        qmp.Run(command, arguments);
        qmp.WaitForEvent("JOB_STATUS_CHANGE", e => IsJob(e, id, "concluded"), from);
        string[] seen = qmp.Events.Skip(from)
            .Where(e => e["event"]!.GetValue<string>() == "JOB_STATUS_CHANGE" && e["data"]!["id"]!.GetValue<string>() == id)
            .Select(e => e["data"]!["status"]!.GetValue<string>())
            .ToArray();
        Assert.Equal(statuses, seen);
    }

    private static void Dismiss(QmpClient qmp, string id)
    {
        int from = qmp.Events.Count;
        qmp.Run("job-dismiss", new JsonObject { ["id"] = id });
        qmp.WaitForEvent("JOB_STATUS_CHANGE", e => IsJob(e, id, "null"), from);
    }

    private static bool IsJob(JsonObject e, string id, string status) =>
        e["data"]!["id"]!.GetValue<string>() == id && e["data"]!["status"]!.GetValue<string>() == status;
}
