using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using static Vessel.IntegrationTests.Qmp.QmpMachineTests;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// Migration driven through QMP as a QEMU administrator drives it: <c>migrate</c> to a file
/// with <c>MIGRATION</c> events, a new process continuing the guest from it (with
/// <c>--incoming file:</c>, and with <c>--incoming defer</c> and <c>migrate-incoming</c>), and
/// <c>migrate_cancel</c> of a migration slowed by <c>max-bandwidth</c>.
/// </summary>
public sealed class QmpMigrationTests
{
    [Fact]
    public void MigrateToFileAndANewProcessContinuesTheGuest()
    {
        using var temp = new TempDirectory();
        string state = temp.File("vm.state");
        string source = temp.File("source.sock");
        using (VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{source},server=on,wait=off"))
        {
            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand("MARK=moved-$((6*7))");
            using QmpClient qmp = QmpClient.ConnectAndNegotiate(source);
            qmp.Run("migrate-set-capabilities", new JsonObject
            {
                ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "events", ["state"] = true }),
            });
            Assert.True(qmp.Run("query-migrate-capabilities")[0]!["state"]!.GetValue<bool>());
            Assert.Equal("{}", qmp.Run("query-migrate").ToJsonString());

            qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{state}" });
            qmp.WaitForEvent("MIGRATION", e => e["data"]!["status"]!.GetValue<string>() == "setup");
            qmp.WaitForEvent("MIGRATION", e => e["data"]!["status"]!.GetValue<string>() == "completed");
            JsonNode info = qmp.Run("query-migrate");
            Assert.Equal("completed", info["status"]!.GetValue<string>());
            Assert.True(info["ram"]!["total"]!.GetValue<long>() >= 256L * 1024 * 1024);
            Assert.True(info["total-time"]!.GetValue<long>() >= 0);
            Assert.Equal("postmigrate", qmp.Run("query-status")["status"]!.GetValue<string>());
            Assert.Equal("VM status: paused (postmigrate)\r\n", qmp.Hmp("info status"));
            qmp.Run("quit");
            Assert.Equal(0, vm.WaitForExit());
        }

        // A new process started from the state on its command line.
        string first = temp.File("first.sock");
        using (VesselProcess vm = ReferenceGuest.StartInitramfs("--incoming", $"file:{state}", "--qmp", $"unix:{first},server=on,wait=off"))
        {
            using QmpClient qmp = QmpClient.ConnectAndNegotiate(first);
            Assert.Equal("moved-42\n", vm.RunCommand("echo $MARK"));
            Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
            AssertError(qmp.Execute("migrate-incoming", new JsonObject { ["uri"] = $"file:{state}" }), "GenericError", "The incoming migration has already been started");
            qmp.Run("quit");
            Assert.Equal(0, vm.WaitForExit());
        }

        // And one that waits (--incoming defer) until QMP names the source.
        string second = temp.File("second.sock");
        using (VesselProcess vm = ReferenceGuest.StartInitramfs("--incoming", "defer", "--qmp", $"unix:{second},server=on,wait=off"))
        {
            using QmpClient qmp = QmpClient.ConnectAndNegotiate(second);
            Assert.Equal("inmigrate", qmp.Run("query-status")["status"]!.GetValue<string>());
            AssertError(qmp.Execute("cont"), "GenericError", "Guest is waiting for an incoming migration");
            AssertError(qmp.Execute("migrate-incoming", new JsonObject { ["uri"] = "bogus" }), "GenericError", "'bogus' is not a migration address; use file:PATH, unix:PATH, tcp:HOST:PORT or exec:COMMAND");
            qmp.Run("migrate-set-capabilities", new JsonObject
            {
                ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "events", ["state"] = true }),
            });

            qmp.Run("migrate-incoming", new JsonObject { ["uri"] = $"file:{state}" });
            qmp.WaitForEvent("MIGRATION", e => e["data"]!["status"]!.GetValue<string>() == "completed");
            qmp.WaitForEvent("RESUME");
            Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
            Assert.Equal("moved-42\n", vm.RunCommand("echo $MARK"));
            qmp.Run("quit");
            Assert.Equal(0, vm.WaitForExit());
        }
    }

    [Fact]
    public void MigrateCancelLeavesTheGuestRunning()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        // 64 KiB/s: the guest's memory takes minutes to send, so the migration is still going when cancelled.
        qmp.Run("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 64 * 1024, ["downtime-limit"] = 100 });
        JsonNode parameters = qmp.Run("query-migrate-parameters");
        Assert.Equal(64 * 1024, parameters["max-bandwidth"]!.GetValue<long>());
        Assert.Equal(100, parameters["downtime-limit"]!.GetValue<long>());
        qmp.Run("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "events", ["state"] = true }),
        });

        qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{temp.File("slow.state")}" });
        qmp.WaitForEvent("MIGRATION", e => e["data"]!["status"]!.GetValue<string>() == "active");
        Assert.Equal("active", qmp.Run("query-migrate")["status"]!.GetValue<string>());
        AssertError(qmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{temp.File("other.state")}" }), "GenericError", "There's a migration process in progress");

        qmp.Run("migrate_cancel");
        qmp.WaitForEvent("MIGRATION", e => e["data"]!["status"]!.GetValue<string>() == "cancelled");
        Assert.Equal("cancelled", qmp.Run("query-migrate")["status"]!.GetValue<string>());
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void MigrationEventsStayOffUntilTheEventsCapabilityIsOn()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        qmp.Run("stop");
        qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{temp.File("quiet.state")}" });
        DateTime deadline = DateTime.UtcNow + QmpClient.DefaultTimeout;
        while (qmp.Run("query-migrate")["status"]!.GetValue<string>() != "completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "the migration to a file did not complete");
            Thread.Sleep(100);
        }

        // As in QEMU, MIGRATION events are only for clients that asked (libvirt turns them on).
        Assert.DoesNotContain(qmp.Events, e => e["event"]!.GetValue<string>() == "MIGRATION");
        AssertError(
            qmp.Execute("migrate-set-capabilities", new JsonObject
            {
                ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "postcopy-ram", ["state"] = true }),
            }),
            "GenericError",
            "Migration capability 'postcopy-ram' is not supported by Vessel");
        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }
}
