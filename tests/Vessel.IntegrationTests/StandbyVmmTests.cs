using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// <c>vessel run --standby</c>: a VMM started without a machine, which gets one over QMP
/// (<c>x-vessel-launch</c> with <c>vessel run</c>'s options) and then is that VM, exactly as if
/// it had been started with them; vessel serve keeps a pool of them.
/// </summary>
public sealed class StandbyVmmTests
{
    [Fact]
    public void AStandbyTakesItsMachineOverQmpAndIsThenThatVm()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock");
        string standbyPidFile = temp.File("standby.pid");
        string vmPidFile = temp.File("vm.pid");
        string console = temp.File("console.txt");
        using VesselProcess standby = VesselProcess.Start("run", "--standby", "--qmp", $"unix:{qmpSocket},server=on,wait=off", "--pidfile", standbyPidFile);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);
        int pid = int.Parse(File.ReadAllText(standbyPidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        // Without a machine, only the standby's commands work; the others say why not.
        JsonObject status = qmp.Execute("query-status");
        Assert.Contains("standby process with no machine yet", status["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(qmp.Run("query-version")["qemu"]);

        // A launch with a mistake is answered with vessel run's sentence, and the process waits on.
        JsonObject mistaken = Launch(qmp, "--kernel", TestPaths.GuestKernel, "--frobnicate");
        Assert.Contains("'--frobnicate' is not a vessel option", mistaken["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        JsonObject hosting = Launch(qmp, "--kernel", TestPaths.GuestKernel, "--qmp", $"unix:{temp.File("other.sock")},server=on");
        Assert.Contains("already has its QMP socket", hosting["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        JsonObject missing = Launch(qmp, "--kernel", temp.File("no-such-kernel"), "--serial", "null");
        Assert.True(missing.ContainsKey("error"), missing.ToJsonString());

        JsonObject launched = Launch(qmp,
            "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd, "--append", ReferenceGuest.InitramfsCommandLine,
            "--memory", "256M", "--serial", $"file:{console}", "--name", "launched-vm", "--pidfile", vmPidFile);
        Assert.True(launched.ContainsKey("return"), launched.ToJsonString());

        // The same process is now the VM: named, running, booting to the shell, its pidfile moved.
        Assert.Equal("launched-vm", qmp.Run("query-name")["name"]!.GetValue<string>());
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        WaitForFileText(console, ReferenceGuest.Prompt);
        Assert.Equal(pid, int.Parse(File.ReadAllText(vmPidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(File.Exists(standbyPidFile), "the standby's pidfile stayed behind after the launch moved it");

        // A second launch is refused: the process has its machine.
        Assert.True(Launch(qmp, "--kernel", TestPaths.GuestKernel).ContainsKey("error"));
        qmp.Run("quit");
        Assert.Equal(0, standby.WaitForExit());
        Assert.False(File.Exists(vmPidFile), "the VM's pidfile stayed behind");
    }

    [Fact]
    public void AStandbyEndsWhenTheClientThatOwnsItGoesAwayBeforeALaunch()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock");
        using VesselProcess standby = VesselProcess.Start("run", "--standby", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        using (QmpClient owner = QmpClient.ConnectAndNegotiate(qmpSocket))
        {
            Assert.NotNull(owner.Run("query-version"));
        }

        // The daemon that kept it is gone (closed or killed): nobody will give it a machine.
        Assert.Equal(0, standby.WaitForExit());
        Assert.False(File.Exists(qmpSocket), "the standby left its QMP socket behind");
    }

    [Theory]
    [InlineData("--kernel", "--standby takes no --kernel")]
    [InlineData("--memory", "--standby takes no --memory")]
    public void AStandbyTakesNoMachineOptions(string option, string sentence)
    {
        using var temp = new TempDirectory();
        string value = option == "--memory" ? "256M" : TestPaths.GuestKernel;
        using VesselProcess refused = VesselProcess.Start("run", "--standby", option, value, "--qmp", $"unix:{temp.File("qmp.sock")},server=on,wait=off");
        Assert.Equal(2, refused.WaitForExit());
        Assert.Contains(sentence, refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void AStandbyNeedsAQmpSocket()
    {
        using VesselProcess refused = VesselProcess.Start("run", "--standby");
        Assert.Equal(2, refused.WaitForExit());
        Assert.Contains("--standby needs --qmp", refused.Error, StringComparison.Ordinal);
    }

    private static JsonObject Launch(QmpClient qmp, params string[] arguments) =>
        qmp.Execute("x-vessel-launch", new JsonObject { ["arguments"] = new JsonArray(arguments.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()) });

    private static void WaitForFileText(string path, string text)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (!(File.Exists(path) && File.ReadAllText(path).Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' did not appear in {path}");
            Thread.Sleep(200);
        }
    }
}
