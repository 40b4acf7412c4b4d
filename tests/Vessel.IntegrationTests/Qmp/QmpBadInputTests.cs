using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using static Vessel.IntegrationTests.Qmp.QmpMachineTests;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// What a careless or hostile QMP client can send: malformed JSON, unknown commands and
/// arguments, a 10 MB line, and vanishing in the middle of a command. Each gets QEMU's error
/// (or is dropped), and neither the VM nor the other clients notice.
/// </summary>
public sealed class QmpBadInputTests
{
    [Fact]
    public void MalformedInputGetsQemusErrorsAndTheSessionGoesOn()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--paused", "--qmp", $"unix:{socket},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        AssertError(qmp.SendRaw("[1, 2]"), "GenericError", "QMP input must be a JSON object");
        AssertError(qmp.SendRaw("\"text\""), "GenericError", "QMP input must be a JSON object");
        AssertError(qmp.SendRaw("garbage"), "GenericError", "JSON parse error, invalid keyword 'garbage'");
        AssertError(qmp.SendRaw("{}"), "GenericError", "QMP input lacks member 'execute'");
        AssertError(qmp.SendRaw("{\"id\": 7}"), "GenericError", "QMP input lacks member 'execute'", id: 7);
        AssertError(qmp.SendRaw("{\"execute\": 1}"), "GenericError", "QMP input member 'execute' must be a string");
        AssertError(qmp.SendRaw("{\"execute\": \"stop\", \"arguments\": []}"), "GenericError", "QMP input member 'arguments' must be an object");
        AssertError(qmp.SendRaw("{\"execute\": \"stop\", \"extra\": 1}"), "GenericError", "QMP input member 'extra' is unexpected");
        AssertError(qmp.SendRaw("{\"execute\": \"query-status\", \"id\": 1, \"id\": 2}"), "GenericError", "JSON parse error, duplicate key");
        AssertError(qmp.Execute("no-such-command", id: new JsonArray(1)), "CommandNotFound", "The command no-such-command has not been found", id: new JsonArray(1));
        AssertError(qmp.Execute("stop", new JsonObject { ["x"] = 1 }), "GenericError", "Parameter 'x' is unexpected");
        AssertError(qmp.Execute("balloon"), "GenericError", "Parameter 'value' is missing");
        AssertError(qmp.Execute("balloon", new JsonObject { ["value"] = "x" }), "GenericError", "Invalid parameter type for 'value', expected: integer");
        AssertError(qmp.Execute("balloon", new JsonObject { ["value"] = 1.5 }), "GenericError", "Invalid parameter type for 'value', expected: integer");
        AssertError(qmp.Execute("balloon", new JsonObject { ["value"] = 1 }), "DeviceNotActive", "No balloon device has been activated");
        AssertError(qmp.Execute("job-dismiss", new JsonObject { ["id"] = "nope" }), "GenericError", "Job not found");
        AssertError(qmp.Execute("migrate-incoming", new JsonObject { ["uri"] = "file:/nonexistent" }), "GenericError", "'-incoming' was not specified on the command line");
        AssertError(
            qmp.Execute("migrate-set-parameters", new JsonObject { ["downtime-limit"] = -1 }),
            "GenericError",
            "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms");

        // Stray closers, each its own error, then a command split over two lines, and two on one line.
        qmp.Write("}]\n"u8);
        AssertError(qmp.NextReply(QmpClient.DefaultTimeout), "GenericError", "JSON parse error, expecting value");
        AssertError(qmp.NextReply(QmpClient.DefaultTimeout), "GenericError", "JSON parse error, expecting value");
        qmp.Write("{\"execute\":\n"u8);
        Assert.True(qmp.SendRaw("\"query-status\", \"id\": \"split\"}")["return"] is JsonObject);
        qmp.Write("{\"execute\":\"query-status\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}\n"u8);
        Assert.Equal(1, qmp.NextReply(QmpClient.DefaultTimeout)["id"]!.GetValue<int>());
        Assert.Equal(2, qmp.NextReply(QmpClient.DefaultTimeout)["id"]!.GetValue<int>());

        // QEMU's single-quoted strings.
        Assert.Equal("prelaunch", qmp.SendRaw("{'execute': 'query-status'}")["return"]!["status"]!.GetValue<string>());

        // An unterminated string ends at the line's end; the next line is read normally.
        qmp.Write("{\"execute\": \"query-sta\n"u8);
        AssertError(qmp.NextReply(QmpClient.DefaultTimeout), "GenericError", "JSON parse error, invalid control character in a string");
        Assert.True(qmp.Execute("query-status").ContainsKey("return"));

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void TenMegabyteLinesCostOneErrorAndBlockNoOtherClient()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient flooder = QmpClient.ConnectAndNegotiate(socket);
        using QmpClient other = QmpClient.ConnectAndNegotiate(socket);

        // Ten megabytes of one keyword, then of one string: each is one error, the rest of the line skipped.
        byte[] keyword = new byte[10 * 1024 * 1024 + 1];
        keyword.AsSpan().Fill((byte)'x');
        keyword[^1] = (byte)'\n';
        var sending = new Thread(() => flooder.Write(keyword));
        sending.Start();
        // The other client is served meanwhile.
        Assert.Equal("running", other.Run("query-status")["status"]!.GetValue<string>());
        Assert.True(sending.Join(QmpClient.DefaultTimeout), "ten megabytes could not be sent");
        JsonObject error = flooder.NextReply(QmpClient.DefaultTimeout);
        Assert.Equal("GenericError", error["error"]!["class"]!.GetValue<string>());
        Assert.StartsWith("JSON parse error, input longer than", error["error"]!["desc"]!.GetValue<string>());

        byte[] longString = Encoding.ASCII.GetBytes("{\"execute\": \"query-status\", \"id\": \"" + new string('y', 10 * 1024 * 1024) + "\"}\n");
        flooder.Write(longString);
        Assert.StartsWith("JSON parse error, input longer than", flooder.NextReply(QmpClient.DefaultTimeout)["error"]!["desc"]!.GetValue<string>());
        Assert.Equal("after", flooder.Execute("query-status", id: "after")["id"]!.GetValue<string>());

        // Nesting beyond the limit is refused the same way.
        flooder.Write(Encoding.ASCII.GetBytes(new string('[', 5000) + "\n"));
        Assert.StartsWith("JSON parse error, nesting deeper than", flooder.NextReply(QmpClient.DefaultTimeout)["error"]!["desc"]!.GetValue<string>());
        Assert.True(flooder.Execute("query-status").ContainsKey("return"));

        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));
        other.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void AClientVanishingMidCommandLeavesTheVmAsItWas()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient watcher = QmpClient.ConnectAndNegotiate(socket);

        for (int i = 0; i < 20; i++)
        {
            using var socketClient = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socketClient.Connect(new UnixDomainSocketEndPoint(socket));
            // Negotiate, send a command (or half of one) and go away without reading anything.
            string text = "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info status\"}}" +
                (i % 2 == 0 ? "{\"execute\": \"query-st" : "{\"execute\": \"query-status\"}");
            socketClient.Send(Encoding.ASCII.GetBytes(text));
            socketClient.Close();
        }

        // One that leaves in the middle of a stop: the stop happens, the VM is unharmed.
        using (var leaving = QmpClient.ConnectAndNegotiate(socket))
        {
            leaving.Write("{\"execute\": \"stop\"}\n"u8);
        }

        watcher.WaitForEvent("STOP");
        Assert.Equal("paused", watcher.Run("query-status")["status"]!.GetValue<string>());
        watcher.Run("cont");
        Assert.Equal("42\n", vm.RunCommand("echo $((6*7))"));
        Assert.Equal("running", watcher.Run("query-status")["status"]!.GetValue<string>());

        watcher.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }
}
