using System.Text.Json.Nodes;
using Vessel.Machine.Virtio.Scsi;
using Vessel.Vmm.Storage;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// QEMU's <c>query-block</c> (<c>qapi/block-core.json</c>): every drive with what is in it, so
/// that a management layer can see which disc a CD/DVD drive holds after <c>eject</c> and
/// <c>blockdev-change-medium</c>. Only the members Vessel knows are given (no image details).
/// </summary>
internal static class QmpBlockCommands
{
    public static void Register(QmpCommandTable table) => table.Add("query-block", [], QueryBlock);

    private static JsonNode QueryBlock(QmpCommandContext context, QmpArguments arguments)
    {
        var drives = new JsonArray();
        foreach (AttachedDrive drive in context.Vm.Drives)
        {
            var info = new JsonObject
            {
                ["device"] = drive.Device,
                ["qdev"] = drive.Device,
                ["type"] = "unknown",
                ["removable"] = drive.Removable,
            };
            if (drive.Disk is { } disk)
            {
                info["locked"] = false;
                info["inserted"] = Inserted(disk.Path, disk.IsReadOnly, disk.Image.Format.ToString().ToLowerInvariant());
            }
            else
            {
                ScsiCdrom cdrom = context.Vm.RequireCdrom(drive.Device);
                info["locked"] = cdrom.IsLocked;
                info["tray_open"] = cdrom.IsTrayOpen;
                if (cdrom.HasMedium && context.Vm.CdromFile is { } file)
                {
                    info["inserted"] = Inserted(file, readOnly: true, "raw");
                }
            }

            drives.Add(info);
        }

        return drives;
    }

    private static JsonObject Inserted(string file, bool readOnly, string format) => new()
    {
        ["file"] = file,
        ["ro"] = readOnly,
        ["drv"] = format,
        ["encrypted"] = false,
        ["backing_file_depth"] = 0,
    };
}
