using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.Testing;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// What the guest's devices did, as monitoring reads it through QMP: <c>query-blockstats</c>
/// counts exactly the bytes a guest reads and writes with O_DIRECT, and
/// <c>x-vessel-query-nic-stats</c> the frames and bytes of its network traffic.
/// </summary>
public sealed class QmpStatisticsTests
{
    [Fact]
    public void DiskAndNetworkCountersFollowWhatTheGuestDoes()
    {
        using var temp = new TempDirectory();
        string scratch = temp.File("scratch.raw");
        using (FileStream file = File.Create(scratch))
        {
            file.SetLength(8L << 20);
        }

        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfsWith(
            ReferenceGuest.QuietInitramfsCommandLine,
            "--drive", $"file={scratch},format=raw,id=scratch", "--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        JsonObject before = Drive(qmp, "scratch");
        // Commands stay shorter than the guest's 80 columns: a wrapped echo would not match.
        Assert.Contains("16+0 records in", vm.RunCommand("dd if=/dev/vda of=/dev/null bs=64k count=16 iflag=direct"));
        Assert.Contains("8+0 records out", vm.RunCommand("dd if=/dev/zero of=/dev/vda bs=64k count=8 oflag=direct"));
        JsonObject after = Drive(qmp, "scratch");

        // O_DIRECT goes to the device as asked: exactly 1 MiB read and 512 KiB written.
        Assert.Equal(1L << 20, Delta(before, after, "rd_bytes"));
        Assert.Equal(512L << 10, Delta(before, after, "wr_bytes"));
        Assert.InRange(Delta(before, after, "rd_operations"), 1, 16);
        Assert.InRange(Delta(before, after, "wr_operations"), 1, 8);
        Assert.Equal(0, Delta(before, after, "failed_rd_operations"));

        // The network card counts the DHCP exchange and a ping both ways.
        JsonObject quiet = Card(qmp);
        Assert.Contains("lease of 10.0.2.15 obtained", vm.RunCommand("udhcpc -i eth0 -n -q 2>&1 | tail -1"));
        Assert.Contains("3 packets received", vm.RunCommand("ping -c 3 -i 0.2 10.0.2.2"));
        JsonObject busy = Card(qmp);
        Assert.Equal("net0", busy["id"]!.GetValue<string>());
        Assert.True(Delta(quiet, busy, "tx-packets") >= 5, $"tx-packets went from {quiet["tx-packets"]} to {busy["tx-packets"]}");
        Assert.True(Delta(quiet, busy, "rx-packets") >= 5, $"rx-packets went from {quiet["rx-packets"]} to {busy["rx-packets"]}");
        // Three 98-byte echo requests and replies at least, besides DHCP's larger frames.
        Assert.True(Delta(quiet, busy, "tx-bytes") >= 3 * 98);
        Assert.True(Delta(quiet, busy, "rx-bytes") >= 3 * 98);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    private static JsonObject Drive(QmpClient qmp, string device) =>
        qmp.Run("query-blockstats").AsArray().Select(d => d!.AsObject()).Single(d => d["device"]!.GetValue<string>() == device)["stats"]!.AsObject();

    private static JsonObject Card(QmpClient qmp) => qmp.Run("x-vessel-query-nic-stats").AsArray().Single()!.AsObject();

    private static long Delta(JsonObject before, JsonObject after, string name) => after[name]!.GetValue<long>() - before[name]!.GetValue<long>();
}
