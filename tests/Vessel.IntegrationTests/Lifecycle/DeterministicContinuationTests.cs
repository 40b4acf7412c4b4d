using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Lifecycle;

/// <summary>
/// Bit-exact continuation in the deterministic mode (<c>--clock icount</c>): a guest runs N
/// instructions and is saved, runs M more (state hash H1); the saved state restored in a new
/// process runs M (H2); H1 = H2, with disk and network I/O going on across the save, for the
/// interpreter and the translator, with one and four harts.
/// </summary>
public sealed class DeterministicContinuationTests
{
    private const long BeforeSave = 250_000_000;
    private const long AfterSave = 80_000_000;

    // The guest's init, on the kernel command line: a DHCP lease from the NAT, then forever a
    // ping of the gateway, a disk read, a line appended to a file and a sync.
    private const string CommandLine =
        "console=ttyS0 root=/dev/vda rw panic=-1 init=/bin/busybox -- sh -c \"busybox mount -t proc p /proc; busybox --install -s; " +
        "ip link set eth0 up; udhcpc -i eth0 -n -q -s /usr/share/udhcpc/default.script; i=0; while true; do i=$((i+1)); " +
        "ping -c 1 10.0.2.2 >/dev/null; dd if=/dev/vda of=/dev/null bs=4k count=300 skip=$((i*37%10000)) 2>/dev/null; " +
        "echo L$i >> /log; echo L$i; sync; done\"";

    [Theory]
    [InlineData("interpreter", 1)]
    [InlineData("jit", 1)]
    [InlineData("interpreter", 4)]
    [InlineData("jit", 4)]
    public void ARestoredStateRunsOnBitForBitAsTheOriginalDoes(string engine, int harts)
    {
        using var temp = new TempDirectory();
        string diskA = ReferenceDisk.Unpack(temp, "a.ext4");
        string diskB = temp.File("b.ext4");
        string state = temp.File("n.state");

        string h1;
        using (VesselProcess vm = Start(engine, harts, diskA, temp.File("a.sock")))
        using (QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("a.sock")))
        {
            Step(qmp, BeforeSave);
            qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{state}" });
            WaitForMigration(qmp);

            // The disk as it was at the save goes with the state (QEMU's migration assumes
            // shared storage; here the second process gets a copy).
            File.Copy(diskA, diskB);
            Step(qmp, AfterSave);
            h1 = Hash(qmp);
            Assert.Contains("L", vm.Output, StringComparison.Ordinal); // the loop was running
            qmp.Run("quit");
            vm.WaitForExit();
        }

        string h2;
        using (VesselProcess vm = Start(engine, harts, diskB, temp.File("b.sock"), "--incoming", $"file:{state}"))
        using (QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("b.sock")))
        {
            Step(qmp, AfterSave);
            h2 = Hash(qmp);
            qmp.Run("quit");
            vm.WaitForExit();
        }

        Assert.Equal(h1, h2);
        Assert.True(File.ReadAllBytes(diskA).AsSpan().SequenceEqual(File.ReadAllBytes(diskB)), "the disks differ after the same instructions");
    }

    private static VesselProcess Start(string engine, int harts, string disk, string socket, params string[] extra) =>
        VesselProcess.Start(
        [
            "run", "--kernel", TestPaths.GuestKernel, "--append", CommandLine, "--clock", "icount", "-S",
            "--cpu-engine", engine, "--cpus", harts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--drive", $"file={disk},format=raw", "--qmp", $"unix:{socket},server=on,wait=off", .. extra,
        ]);

    private static void Step(QmpClient qmp, long instructions)
    {
        long ran = qmp.Run("x-vessel-step", new JsonObject { ["instructions"] = instructions })["instructions"]!.GetValue<long>();
        Assert.InRange(ran, instructions, instructions + 1000); // a translated block may finish past the count
    }

    private static string Hash(QmpClient qmp) => qmp.Run("x-vessel-state-hash")["sha256"]!.GetValue<string>();

    internal static void WaitForMigration(QmpClient qmp)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            JsonNode info = qmp.Run("query-migrate");
            string status = info["status"]?.GetValue<string>() ?? "none";
            if (status == "completed")
            {
                return;
            }

            Assert.True(status is not ("failed" or "cancelled"), $"the migration ended {status}: {info.ToJsonString()}");
            Assert.True(DateTime.UtcNow < deadline, "the migration did not finish");
            Thread.Sleep(20);
        }
    }
}
