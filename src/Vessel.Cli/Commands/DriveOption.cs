using Vessel.Storage;
using Vessel.Vmm;

namespace Vessel.Cli.Commands;

/// <summary>
/// Parses <c>--drive file=PATH[,format=raw|qcow2][,readonly=on[,force-share=on]][,serial=ID][,id=NAME][,if=virtio]</c>
/// as QEMU users write it.
/// </summary>
internal static class DriveOption
{
    public static DriveConfiguration Parse(string text)
    {
        string? path = null;
        ImageFormat? format = null;
        bool readOnly = false;
        bool forceShare = false;
        string? serial = null;
        string? id = null;
        bool scsi = false;
        foreach ((string key, string? value) in KeyValueOptions.Parse(text))
        {
            switch (key)
            {
                case "file":
                    path = Require(key, value);
                    break;
                case "format":
                    format = Require(key, value) switch
                    {
                        "raw" => ImageFormat.Raw,
                        "qcow2" => ImageFormat.Qcow2,
                        _ => throw Usage($"--drive format '{value}' is not supported; use raw or qcow2."),
                    };
                    break;
                case "readonly":
                    readOnly = KeyValueOptions.ParseSwitch(value ?? "on")
                        ?? throw Usage($"--drive readonly={value} is not on or off.");
                    break;
                case "force-share":
                    forceShare = KeyValueOptions.ParseSwitch(value ?? "on")
                        ?? throw Usage($"--drive force-share={value} is not on or off.");
                    break;
                case "serial":
                    serial = Require(key, value);
                    if (serial.Length > 20)
                    {
                        throw Usage($"--drive serial '{serial}' is longer than the 20 characters virtio-blk can carry.");
                    }

                    break;
                case "id":
                    id = Require(key, value);
                    if (!id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || !char.IsAsciiLetter(id[0]))
                    {
                        throw Usage($"--drive id '{id}' must start with a letter and hold only letters, digits, '-', '_' and '.'.");
                    }

                    break;
                case "if":
                    scsi = value switch
                    {
                        "virtio" => false,
                        "scsi" => true,
                        _ => throw Usage($"--drive if={value} is not supported; a disk is on virtio-blk (if=virtio) or on the virtio-scsi controller (if=scsi, QEMU's scsi-hd)."),
                    };

                    break;
                case "media":
                    if (value != "disk")
                    {
                        throw Usage($"--drive media={value} is not supported; only disks are.");
                    }

                    break;
                default:
                    throw Usage($"--drive has no option '{key}'; its options are file=, format=, readonly=, force-share=, serial=, id=, if= and media=.");
            }
        }

        if (path is null)
        {
            throw Usage($"--drive '{text}' has no file=PATH.");
        }

        if (forceShare && !readOnly)
        {
            // As QEMU: reading without a lock is safe for this VM only if it never writes.
            throw Usage("--drive force-share=on needs readonly=on.");
        }

        return new DriveConfiguration { Path = path, Format = format, ReadOnly = readOnly, ForceShare = forceShare, Serial = serial, Id = id, Scsi = scsi };
    }

    private static string Require(string key, string? value) =>
        string.IsNullOrEmpty(value) ? throw Usage($"--drive {key}= needs a value.") : value;

    private static UserErrorException Usage(string message) => UserErrorException.Usage(message);
}
