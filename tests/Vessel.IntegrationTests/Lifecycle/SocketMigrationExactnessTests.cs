using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Lifecycle;

/// <summary>
/// A live migration over a socket delivers the machine byte for byte, along the paths that make
/// it fast: the save path compiled ahead on the source (its warm-up runs at <c>migrate</c> at
/// the latest, on the VM being migrated), the first pass cut short by <c>max-bandwidth</c> with
/// the rest sent while the guest is stopped (zero pages as records the destination turns into
/// pages given back to the host), and a destination that listens only once its restore is
/// compiled. In the deterministic mode nothing runs between the source's state hash and the
/// migration, so the destination's hash of the whole machine (RAM included) must be the same.
/// </summary>
public sealed class SocketMigrationExactnessTests
{
    private const long BeforeMigration = 300_000_000;

    [Theory]
    [InlineData(false)] // the first pass's small rest goes at once, unthrottled, while the guest runs
    [InlineData(true)] // the first pass runs whole, a tenth of max-bandwidth at a time
    public void TheDestinationHasTheSourcesExactState(bool wholeFirstPass)
    {
        using var temp = new TempDirectory();
        string stream = temp.File("migration.sock");
        string sourceQmp = temp.File("source.sock");
        string destinationQmp = temp.File("destination.sock");
        using VesselProcess source = ReferenceGuest.StartInitramfs("--clock", "icount", "-S", "--qmp", $"unix:{sourceQmp},server=on,wait=off");
        using QmpClient sourceClient = QmpClient.ConnectAndNegotiate(sourceQmp);
        long ran = sourceClient.Run("x-vessel-step", new JsonObject { ["instructions"] = BeforeMigration })["instructions"]!.GetValue<long>();
        Assert.InRange(ran, BeforeMigration, BeforeMigration + 1000);
        string before = Hash(sourceClient);

        using VesselProcess destination = ReferenceGuest.StartInitramfs("--clock", "icount", "-S", "--incoming", $"unix:{stream}", "--qmp", $"unix:{destinationQmp},server=on,wait=off");
        using QmpClient destinationClient = QmpClient.ConnectAndNegotiate(destinationQmp);

        // 16 MiB/s: a tenth of a second carries 1.6 MiB, less than the guest's RAM in use, so
        // the first pass runs out of its share before it is done; with a downtime limit that
        // the rest fits in, it sends the rest at once when it is no more than a tenth's share;
        // with a tight one it goes on a tenth at a time. Either way a dirty round follows.
        sourceClient.Run("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 16 * 1024 * 1024, ["downtime-limit"] = wholeFirstPass ? 1 : 2_000_000 });
        sourceClient.Run("migrate", new JsonObject { ["uri"] = $"unix:{stream}" });
        DeterministicContinuationTests.WaitForMigration(sourceClient);
        JsonNode ram = sourceClient.Run("query-migrate")["ram"]!;
        long sent = ram["transferred"]!.GetValue<long>();
        Assert.True(sent > 2 * 1024 * 1024, $"the guest had {sent} bytes of RAM to send: too little for the first pass to run out of a tenth's share");
        Assert.True(ram["dirty-sync-count"]!.GetValue<long>() > 0, "no dirty round ran");

        WaitUntilPaused(destinationClient);
        Assert.Equal(before, Hash(destinationClient));

        // And the guest runs on from there.
        destinationClient.Run("x-vessel-step", new JsonObject { ["instructions"] = 1_000_000 });
        Assert.NotEqual(before, Hash(destinationClient));
        sourceClient.Run("quit");
        destinationClient.Run("quit");
        source.WaitForExit();
        destination.WaitForExit();
    }

    /// <summary>
    /// A running guest that copies a file over and over rewrites the same pages with the same
    /// bytes, and writes bytes the destination holds already in other pages: those pages go as
    /// nothing or as copy records (<c>SentPageHashes</c>), through the dirty rounds and while
    /// stopped. The source, stopped in postmigrate, holds the state it sent; the destination,
    /// arrived paused, must hold the same, RAM included.
    /// </summary>
    [Fact]
    public void AGuestRewritingTheSamePagesArrivesExact()
    {
        using var temp = new TempDirectory();
        string stream = temp.File("migration.sock");
        string sourceQmp = temp.File("source.sock");
        string destinationQmp = temp.File("destination.sock");
        using VesselProcess source = ReferenceGuest.StartInitramfs("--clock", "icount", "--qmp", $"unix:{sourceQmp},server=on,wait=off");
        using QmpClient sourceClient = QmpClient.ConnectAndNegotiate(sourceQmp);
        source.WaitFor(ReferenceGuest.Prompt);
        source.SendLine("dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null; (while true; do cp /tmp/a /tmp/b; done) & echo copying-$((6*7))");
        source.WaitFor("copying-42");
        Thread.Sleep(TimeSpan.FromSeconds(1));

        using VesselProcess destination = ReferenceGuest.StartInitramfs("--clock", "icount", "-S", "--incoming", $"unix:{stream}", "--qmp", $"unix:{destinationQmp},server=on,wait=off");
        using QmpClient destinationClient = QmpClient.ConnectAndNegotiate(destinationQmp);

        // 32 MiB/s and a tight downtime limit: the first pass takes a while, and dirty rounds
        // follow while the guest copies, so pages are dirtied again after they went.
        sourceClient.Run("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 32 * 1024 * 1024, ["downtime-limit"] = 20 });
        sourceClient.Run("migrate", new JsonObject { ["uri"] = $"unix:{stream}" });
        DeterministicContinuationTests.WaitForMigration(sourceClient);
        Assert.True(sourceClient.Run("query-migrate")["ram"]!["dirty-sync-count"]!.GetValue<long>() > 0, "no dirty round ran");

        WaitUntilPaused(destinationClient);
        Assert.Equal(Hash(sourceClient), Hash(destinationClient));

        // And the guest goes on from there (the loop stopped first: /tmp/b may be half copied).
        destinationClient.Run("cont");
        destination.SendLine("kill %1; cp /tmp/a /tmp/c && cmp /tmp/a /tmp/c && echo same-$((6*7))");
        destination.WaitFor("same-42");
        sourceClient.Run("quit");
        destinationClient.Run("quit");
        source.WaitForExit();
        destination.WaitForExit();
    }

    private static string Hash(QmpClient qmp) => qmp.Run("x-vessel-state-hash")["sha256"]!.GetValue<string>();

    private static void WaitUntilPaused(QmpClient qmp)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (qmp.Run("query-status")["status"]!.GetValue<string>() != "paused")
        {
            Assert.True(DateTime.UtcNow < deadline, "the destination did not restore the state");
            Thread.Sleep(20);
        }
    }
}
