using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// Internal snapshots as jobs (<c>qapi/migration.json</c> snapshot-save/-load/-delete,
/// <c>qapi/job.json</c> query-jobs, job-dismiss). The disks are named by their drive ids
/// (<c>--drive ...,id=</c>, or <c>drive0</c>, <c>drive1</c>, ...), where QEMU takes block node names.
/// </summary>
internal static class QmpSnapshotCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add(
            "snapshot-save",
            [Required("job-id", QmpType.String), Required("tag", QmpType.String), Required("vmstate", QmpType.String), Required("devices", QmpType.StringList)],
            SnapshotSave);
        table.Add(
            "snapshot-load",
            [Required("job-id", QmpType.String), Required("tag", QmpType.String), Required("vmstate", QmpType.String), Required("devices", QmpType.StringList)],
            SnapshotLoad);
        table.Add(
            "snapshot-delete",
            [Required("job-id", QmpType.String), Required("tag", QmpType.String), Required("devices", QmpType.StringList)],
            SnapshotDelete);
        table.Add("query-jobs", [], (context, _) => context.Server.Jobs.Query());
        table.Add("job-dismiss", [Required("id", QmpType.String)], JobDismiss);
    }

    private static JsonNode SnapshotSave(QmpCommandContext context, QmpArguments arguments)
    {
        VirtualMachine vm = context.Vm;
        string tag = arguments.GetString("tag");
        string vmstate = arguments.GetString("vmstate");
        IReadOnlyList<string> devices = arguments.GetStringListOrNull("devices")!;
        context.Server.Jobs.Start(arguments.GetString("job-id"), "snapshot-save", () =>
        {
            RequireDevices(devices);
            vm.SaveSnapshot(tag, vmstate, devices);
        });
        return QmpCommandTable.Empty();
    }

    private static JsonNode SnapshotLoad(QmpCommandContext context, QmpArguments arguments)
    {
        VirtualMachine vm = context.Vm;
        string tag = arguments.GetString("tag");
        string vmstate = arguments.GetString("vmstate");
        IReadOnlyList<string> devices = arguments.GetStringListOrNull("devices")!;
        context.Server.Jobs.Start(arguments.GetString("job-id"), "snapshot-load", () =>
        {
            RequireDevices(devices);
            vm.LoadSnapshot(tag, vmstate, devices);
        });
        return QmpCommandTable.Empty();
    }

    private static JsonNode SnapshotDelete(QmpCommandContext context, QmpArguments arguments)
    {
        VirtualMachine vm = context.Vm;
        string tag = arguments.GetString("tag");
        IReadOnlyList<string> devices = arguments.GetStringListOrNull("devices")!;
        context.Server.Jobs.Start(arguments.GetString("job-id"), "snapshot-delete", () =>
        {
            RequireDevices(devices);
            vm.DeleteSnapshot(tag, devices);
        });
        return QmpCommandTable.Empty();
    }

    private static void RequireDevices(IReadOnlyList<string> devices)
    {
        if (devices.Count == 0)
        {
            throw new VmmException("At least one device is required for snapshot");
        }
    }

    private static JsonNode JobDismiss(QmpCommandContext context, QmpArguments arguments)
    {
        context.Server.Jobs.Dismiss(arguments.GetString("id"));
        return QmpCommandTable.Empty();
    }
}
