using System.Text.Json.Nodes;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Net;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// What the guest's devices did, for monitoring: QEMU's <c>query-blockstats</c>
/// (<c>qapi/block-core.json</c>) for the disks, and <c>x-vessel-query-nic-stats</c> for the network
/// cards, which QEMU leaves to the host's TAP interface (Vessel's user-mode network has none).
/// </summary>
internal static class QmpStatisticsCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("query-blockstats", [Optional("query-nodes", QmpType.Boolean)], QueryBlockStats);
        table.Add("x-vessel-query-nic-stats", [], QueryNicStats);
    }

    /// <summary>
    /// One entry per drive, with QEMU's counter names. Latency figures (the <c>*_total_time_ns</c>
    /// and histograms) are left out rather than reported as zero: Vessel does not time requests.
    /// </summary>
    private static JsonNode QueryBlockStats(QmpCommandContext context, QmpArguments arguments)
    {
        var drives = new JsonArray();
        foreach (DriveStatistics drive in context.Vm.DriveStatistics)
        {
            BlockIoStatistics s = drive.Statistics;
            drives.Add(new JsonObject
            {
                ["device"] = drive.Device,
                ["stats"] = new JsonObject
                {
                    ["rd_bytes"] = s.ReadBytes,
                    ["wr_bytes"] = s.WrittenBytes,
                    ["unmap_bytes"] = s.DiscardedBytes,
                    ["rd_operations"] = s.ReadOperations,
                    ["wr_operations"] = s.WriteOperations,
                    ["flush_operations"] = s.FlushOperations,
                    ["unmap_operations"] = s.DiscardOperations,
                    ["failed_rd_operations"] = s.FailedReadOperations,
                    ["failed_wr_operations"] = s.FailedWriteOperations,
                    ["failed_flush_operations"] = s.FailedFlushOperations,
                    ["account_invalid"] = false,
                    ["account_failed"] = true,
                    ["timed_stats"] = new JsonArray(),
                },
            });
        }

        return drives;
    }

    private static JsonNode QueryNicStats(QmpCommandContext context, QmpArguments arguments)
    {
        var cards = new JsonArray();
        int index = 0;
        foreach (VirtioNetDevice card in context.Vm.NetworkCards)
        {
            cards.Add(new JsonObject
            {
                ["id"] = $"net{index++}",
                ["rx-bytes"] = card.ReceivedBytes,
                ["rx-packets"] = card.ReceivedFrames,
                ["rx-dropped"] = card.ReceiveDroppedFrames,
                ["tx-bytes"] = card.TransmittedBytes,
                ["tx-packets"] = card.TransmittedFrames,
                ["tx-dropped"] = card.TransmitDroppedFrames,
            });
        }

        return cards;
    }
}
