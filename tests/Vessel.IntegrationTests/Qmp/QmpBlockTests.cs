using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.Testing;

namespace Vessel.IntegrationTests.Qmp;

/// <summary><c>query-block</c> names every drive with what it holds, and follows the CD/DVD drive's disc through <c>eject</c> and <c>blockdev-change-medium</c>.</summary>
public sealed class QmpBlockTests
{
    [Fact]
    public void QueryBlockShowsEachDriveAndTheDiscInTheDrive()
    {
        using var temp = new TempDirectory();
        string disk = temp.File("disk.raw");
        string first = temp.File("first.iso"), second = temp.File("second.iso");
        foreach (string file in new[] { disk, first, second })
        {
            using FileStream stream = File.Create(file);
            stream.SetLength(4L << 20);
        }

        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfsWith(
            ReferenceGuest.QuietInitramfsCommandLine,
            "--drive", $"file={disk},format=raw,id=data", "--cdrom", first, "--net", "none", "--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        JsonObject data = Device(qmp, "data");
        Assert.False(data["removable"]!.GetValue<bool>());
        Assert.Equal(disk, data["inserted"]!["file"]!.GetValue<string>());
        Assert.Equal("raw", data["inserted"]!["drv"]!.GetValue<string>());
        Assert.False(data["inserted"]!["ro"]!.GetValue<bool>());

        JsonObject cd = Device(qmp, "cd0");
        Assert.True(cd["removable"]!.GetValue<bool>());
        Assert.Equal(first, cd["inserted"]!["file"]!.GetValue<string>());
        Assert.True(cd["inserted"]!["ro"]!.GetValue<bool>());

        qmp.Run("eject", new JsonObject { ["id"] = "cd0", ["force"] = true });
        Assert.Null(Device(qmp, "cd0")["inserted"]);

        qmp.Run("blockdev-change-medium", new JsonObject { ["id"] = "cd0", ["filename"] = second, ["format"] = "raw" });
        Assert.Equal(second, Device(qmp, "cd0")["inserted"]!["file"]!.GetValue<string>());

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    private static JsonObject Device(QmpClient qmp, string name) =>
        qmp.Run("query-block").AsArray().Select(d => d!.AsObject()).Single(d => d["device"]!.GetValue<string>() == name);
}
