using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// Saving and moving the VM (<c>qapi/migration.json</c>): <c>migrate</c>, <c>migrate-incoming</c>,
/// <c>query-migrate</c>, <c>migrate_cancel</c>, the parameters Vessel honours and the
/// <c>events</c> capability that turns on <c>MIGRATION</c> events.
/// </summary>
internal static class QmpMigrationCommands
{
    private const long MaxDowntimeLimitMs = 2000 * 1000;

    public static void Register(QmpCommandTable table)
    {
        table.Add(
            "migrate",
            [Required("uri", QmpType.String), Optional("blk", QmpType.Boolean), Optional("inc", QmpType.Boolean), Optional("detach", QmpType.Boolean), Optional("resume", QmpType.Boolean)],
            Migrate);
        table.Add("migrate-incoming", [Required("uri", QmpType.String)], MigrateIncoming);
        table.Add("query-migrate", [], QueryMigrate);
        table.Add("migrate_cancel", [], MigrateCancel);
        table.Add("migrate-set-parameters", [Optional("downtime-limit", QmpType.Integer), Optional("max-bandwidth", QmpType.Integer)], MigrateSetParameters);
        table.Add("query-migrate-parameters", [], QueryMigrateParameters);
        table.Add("migrate-set-capabilities", [Required("capabilities", QmpType.ObjectList)], MigrateSetCapabilities);
        table.Add("query-migrate-capabilities", [], QueryMigrateCapabilities);
    }

    private static JsonNode Migrate(QmpCommandContext context, QmpArguments arguments)
    {
        if (arguments.GetBoolean("inc", false))
        {
            throw QmpException.Generic("Incremental block migration is not supported by Vessel; use blk to copy the whole disks, or share them");
        }

        if (arguments.GetBoolean("resume", false))
        {
            throw QmpException.Generic("Vessel does not do postcopy migration, so there is no paused migration to resume");
        }

        context.Vm.StartMigration(ParseAddress(arguments.GetString("uri")), block: arguments.GetBoolean("blk", false));
        return QmpCommandTable.Empty();
    }

    private static JsonNode MigrateIncoming(QmpCommandContext context, QmpArguments arguments)
    {
        VirtualMachine vm = context.Vm;
        if (vm.Configuration.Incoming is null)
        {
            throw QmpException.Generic("'-incoming' was not specified on the command line");
        }

        if (vm.Configuration.Incoming != "defer")
        {
            throw QmpException.Generic("The incoming migration has already been started");
        }

        vm.StartIncoming(ParseAddress(arguments.GetString("uri")));
        return QmpCommandTable.Empty();
    }

    private static MigrationAddress ParseAddress(string uri)
    {
        try
        {
            return MigrationAddress.Parse(uri, allowDefer: false);
        }
        catch (FormatException e)
        {
            throw QmpException.Generic(e.Message.TrimEnd('.'));
        }
    }

    private static JsonNode QueryMigrate(QmpCommandContext context, QmpArguments arguments)
    {
        MigrationInfo info = context.Vm.QueryMigration();
        var result = new JsonObject();
        if (info.Status == MigrationStatus.None)
        {
            return result;
        }

        result["status"] = StatusName(info.Status);
        AddIfPresent(result, "setup-time", info.SetupTimeMs);
        AddIfPresent(result, "total-time", info.TotalTimeMs);
        AddIfPresent(result, "downtime", info.DowntimeMs);
        AddIfPresent(result, "expected-downtime", info.ExpectedDowntimeMs);
        if (info.CpuThrottlePercentage > 0)
        {
            result["cpu-throttle-percentage"] = info.CpuThrottlePercentage;
        }

        if (info.ErrorDescription is not null)
        {
            result["error-desc"] = info.ErrorDescription;
        }

        if (info.Status != MigrationStatus.Setup)
        {
            // QEMU's MigrationStats; what Vessel does not do (multifd, postcopy, zero-copy,
            // skipping pages) is reported as zero, as QEMU reports it when unused.
            result["ram"] = new JsonObject
            {
                ["transferred"] = info.RamTransferred,
                ["remaining"] = info.RamRemaining,
                ["total"] = info.RamTotal,
                ["duplicate"] = info.DuplicatePages,
                ["skipped"] = 0,
                ["normal"] = info.NormalPages,
                ["normal-bytes"] = info.NormalBytes,
                ["dirty-pages-rate"] = info.DirtyPagesRate,
                ["mbps"] = info.Mbps,
                ["dirty-sync-count"] = info.DirtySyncCount,
                ["postcopy-requests"] = 0,
                ["page-size"] = 4096,
                ["multifd-bytes"] = 0,
                ["pages-per-second"] = 0,
                ["precopy-bytes"] = info.RamTransferred,
                ["downtime-bytes"] = 0,
                ["postcopy-bytes"] = 0,
                ["dirty-sync-missed-zero-copy"] = 0,
            };
        }

        if (info.Disk is not null && info.Status != MigrationStatus.Setup)
        {
            // QEMU's block-migration figures (the same MigrationStats, only the sizes used).
            result["disk"] = new JsonObject
            {
                ["transferred"] = info.Disk.Transferred,
                ["remaining"] = info.Disk.Remaining,
                ["total"] = info.Disk.Total,
                ["duplicate"] = 0,
                ["skipped"] = 0,
                ["normal"] = 0,
                ["normal-bytes"] = 0,
                ["dirty-pages-rate"] = 0,
                ["mbps"] = 0,
                ["dirty-sync-count"] = 0,
            };
        }

        return result;
    }

    private static void AddIfPresent(JsonObject target, string name, long? value)
    {
        if (value is not null)
        {
            target[name] = value.Value;
        }
    }

    private static string StatusName(MigrationStatus status) => status switch
    {
        MigrationStatus.None => "none",
        MigrationStatus.Setup => "setup",
        MigrationStatus.Active => "active",
        MigrationStatus.Device => "device",
        MigrationStatus.Cancelling => "cancelling",
        MigrationStatus.Cancelled => "cancelled",
        MigrationStatus.Completed => "completed",
        MigrationStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static JsonNode MigrateCancel(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.CancelMigration();
        return QmpCommandTable.Empty();
    }

    private static JsonNode MigrateSetParameters(QmpCommandContext context, QmpArguments arguments)
    {
        MigrationParameters parameters = context.Vm.MigrationParameters;
        if (arguments.GetInt64OrNull("downtime-limit") is long downtime)
        {
            if (downtime is < 0 or > MaxDowntimeLimitMs)
            {
                throw QmpException.Generic("Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms");
            }

            parameters = parameters with { DowntimeLimitMs = downtime };
        }

        if (arguments.GetInt64OrNull("max-bandwidth") is long bandwidth)
        {
            if (bandwidth <= 0)
            {
                throw QmpException.Generic("Parameter 'max_bandwidth' expects a positive number of bytes per second");
            }

            parameters = parameters with { MaxBandwidth = bandwidth };
        }

        context.Vm.MigrationParameters = parameters;
        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryMigrateParameters(QmpCommandContext context, QmpArguments arguments)
    {
        MigrationParameters parameters = context.Vm.MigrationParameters;
        return new JsonObject { ["downtime-limit"] = parameters.DowntimeLimitMs, ["max-bandwidth"] = parameters.MaxBandwidth };
    }

    /// <summary>Only <c>events</c> exists here; turning a capability Vessel lacks on is refused, turning it off is nothing to do.</summary>
    private static JsonNode MigrateSetCapabilities(QmpCommandContext context, QmpArguments arguments)
    {
        bool? events = null;
        foreach (JsonObject item in arguments.GetObjectList("capabilities"))
        {
            if (item["capability"] is not JsonValue nameValue || !nameValue.TryGetValue(out string? name) ||
                item["state"] is not JsonValue stateValue || !stateValue.TryGetValue(out bool state))
            {
                throw QmpException.Generic("Parameter 'capabilities' expects objects with a string 'capability' and a boolean 'state'");
            }

            if (name == "events")
            {
                events = state;
            }
            else if (state)
            {
                throw QmpException.Generic($"Migration capability '{name}' is not supported by Vessel");
            }
        }

        if (events is not null)
        {
            context.Server.MigrationEventsEnabled = events.Value;
        }

        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryMigrateCapabilities(QmpCommandContext context, QmpArguments arguments) =>
        new JsonArray(new JsonObject { ["state"] = context.Server.MigrationEventsEnabled, ["capability"] = "events" });
}
