using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// QMP against a running reference guest: the negotiation rules, events reaching every
/// negotiated client, stop and cont, system_reset rebooting the guest, and quit.
/// </summary>
public sealed class QmpMachineTests
{
    [Fact]
    public void CommandsBeforeNegotiationAreRefusedAsQemuRefusesThem()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        // Started paused: nothing runs, only the protocol is exercised.
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--paused", "--qmp", $"unix:{socket},server=on,wait=off");
        using QmpClient qmp = QmpClient.Connect(socket);

        JsonObject version = qmp.Greeting["QMP"]!["version"]!.AsObject();
        Assert.True(version["qemu"]!["major"]!.GetValue<int>() >= 0);
        Assert.StartsWith("Vessel ", version["package"]!.GetValue<string>());
        Assert.Equal("[\"oob\"]", qmp.Greeting["QMP"]!["capabilities"]!.ToJsonString());

        AssertError(qmp.Execute("query-status", id: 5), "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'", id: 5);
        AssertError(qmp.Execute("no-such-command"), "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
        AssertError(qmp.Execute("qmp_capabilities", new JsonObject { ["enable"] = new JsonArray("bogus") }), "GenericError", "Parameter 'enable' does not accept value 'bogus'");
        // exec-oob is not a member before oob is negotiated.
        AssertError(qmp.SendRaw("{\"exec-oob\": \"query-status\"}"), "GenericError", "QMP input member 'exec-oob' is unexpected");

        JsonObject negotiated = qmp.Execute("qmp_capabilities", new JsonObject { ["enable"] = new JsonArray("oob") }, id: "neg");
        Assert.Equal("{\"return\":{},\"id\":\"neg\"}", negotiated.ToJsonString());
        AssertError(qmp.Execute("qmp_capabilities"), "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
        AssertError(qmp.SendRaw("{\"exec-oob\": \"query-status\", \"id\": 1}"), "GenericError", "The command query-status does not support OOB", id: 1);
        AssertError(qmp.SendRaw("{\"execute\": \"query-status\", \"exec-oob\": \"query-status\"}"), "GenericError", "QMP input member 'execute' clashes with 'exec-oob'");

        JsonNode status = qmp.Run("query-status");
        Assert.Equal("prelaunch", status["status"]!.GetValue<string>());
        Assert.False(status["running"]!.GetValue<bool>());
        Assert.Contains(qmp.Run("query-commands").AsArray(), command => command!["name"]!.GetValue<string>() == "snapshot-save");

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void StopAndContReachEveryNegotiatedClientAsEvents()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off", "--name", "events-vm");
        vm.WaitFor(ReferenceGuest.Prompt);

        using QmpClient first = QmpClient.ConnectAndNegotiate(socket);
        using QmpClient second = QmpClient.ConnectAndNegotiate(socket);
        using QmpClient silent = QmpClient.Connect(socket);
        Assert.Equal("events-vm", first.Run("query-name")["name"]!.GetValue<string>());

        first.Run("stop");
        first.WaitForEvent("STOP");
        second.WaitForEvent("STOP");
        Assert.Equal("paused", second.Run("query-status")["status"]!.GetValue<string>());
        Assert.Equal("VM status: paused\r\n", second.Hmp("info status"));

        // A client that has not negotiated gets no events: the next thing it receives is its reply.
        JsonObject reply = silent.Execute("qmp_capabilities");
        Assert.True(reply.ContainsKey("return"), reply.ToJsonString());
        Assert.Empty(silent.Events);

        int firstFrom = first.Events.Count;
        second.Run("cont");
        JsonObject resume = first.WaitForEvent("RESUME", from: firstFrom);
        Assert.True(resume["timestamp"]!["seconds"]!.GetValue<long>() > 1_600_000_000);
        Assert.InRange(resume["timestamp"]!["microseconds"]!.GetValue<long>(), 0, 999_999);
        silent.WaitForEvent("RESUME");
        Assert.Equal("running", first.Run("query-status")["status"]!.GetValue<string>());
        Assert.True(first.Run("query-status")["running"]!.GetValue<bool>());

        // The guest runs again after cont.
        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));
        JsonArray harts = first.Run("query-cpus-fast").AsArray();
        Assert.Single(harts);
        Assert.Equal("riscv64", harts[0]!["target"]!.GetValue<string>());

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
        JsonObject shutdown = first.WaitForEvent("SHUTDOWN");
        Assert.Equal("{\"guest\":true,\"reason\":\"guest-shutdown\"}", shutdown["data"]!.ToJsonString());
        first.WaitForEndOfStream();
    }

    [Fact]
    public void SystemResetRebootsTheGuestToItsPrompt()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor("GUEST-UP");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        qmp.Run("system_reset");
        JsonObject reset = qmp.WaitForEvent("RESET");
        Assert.Equal("{\"guest\":false,\"reason\":\"host-qmp-system-reset\"}", reset["data"]!.ToJsonString());

        // The board starts over: the kernel boots again and the shell comes back.
        vm.WaitFor("Linux version");
        vm.WaitFor("GUEST-UP");
        vm.WaitFor(ReferenceGuest.Prompt);
        Assert.Equal("after-reset\n", vm.RunCommand("echo after-reset"));
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());

        // POWERDOWN is raised; the virt board has no power button the guest listens to, so it runs on (as on QEMU).
        qmp.Run("system_powerdown");
        qmp.WaitForEvent("POWERDOWN");
        Assert.Equal("still-here\n", vm.RunCommand("echo still-here"));

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void QuitEndsTheVmmAfterItsReplyAndShutdownEvent()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        JsonObject reply = qmp.Execute("quit", id: "bye");
        Assert.Equal("{\"return\":{},\"id\":\"bye\"}", reply.ToJsonString());
        JsonObject shutdown = qmp.WaitForEvent("SHUTDOWN");
        Assert.Equal("{\"guest\":false,\"reason\":\"host-qmp-quit\"}", shutdown["data"]!.ToJsonString());
        qmp.WaitForEndOfStream();
        Assert.Equal(0, vm.WaitForExit());
        Assert.False(File.Exists(socket), "the QMP socket was left behind");
    }

    [Fact]
    public void DeterministicModeStepsAndHashesThroughQmp()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--clock", "icount", "--paused", "--qmp", $"unix:{socket},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        string start = qmp.Run("x-vessel-state-hash")["sha256"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{64}$", start);
        Assert.Equal(start, qmp.Run("x-vessel-state-hash")["sha256"]!.GetValue<string>());
        Assert.Equal(100_000, qmp.Run("x-vessel-step", new JsonObject { ["instructions"] = 100_000 })["instructions"]!.GetValue<long>());
        Assert.NotEqual(start, qmp.Run("x-vessel-state-hash")["sha256"]!.GetValue<string>());
        AssertError(qmp.Execute("x-vessel-step", new JsonObject { ["instructions"] = "many" }), "GenericError", "Invalid parameter type for 'instructions', expected: integer");

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    internal static void AssertError(JsonObject reply, string errorClass, string description, JsonNode? id = null)
    {
        JsonObject? error = reply["error"] as JsonObject;
        Assert.True(error is not null, reply.ToJsonString());
        Assert.Equal(errorClass, error!["class"]!.GetValue<string>());
        Assert.Equal(description, error["desc"]!.GetValue<string>());
        if (id is null)
        {
            Assert.False(reply.ContainsKey("id"), reply.ToJsonString());
        }
        else
        {
            Assert.Equal(id.ToJsonString(), reply["id"]!.ToJsonString());
        }
    }
}
