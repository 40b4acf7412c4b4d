using System.Text.Json.Nodes;
using Vessel.Machine.Virtio.Input;
using Vessel.Machine.Virtio.Scsi;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.Runtime;
using Vessel.Vmm.Vnc;
using static Vessel.Machine.Virtio.Input.InputEventCodes;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// The screen, the input devices, VNC and the CD/DVD drive, as QEMU's <c>qapi/ui.json</c>,
/// <c>qapi/block.json</c> and <c>qapi/block-core.json</c> define them: <c>screendump</c>,
/// <c>send-key</c>, <c>input-send-event</c>, <c>query-vnc</c>, <c>change-vnc-password</c>,
/// <c>eject</c> and <c>blockdev-change-medium</c>.
/// </summary>
internal static class QmpDisplayCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("screendump", [Required("filename", QmpType.String), Optional("device", QmpType.String), Optional("head", QmpType.Integer), Optional("format", QmpType.String)], Screendump);
        table.Add("send-key", [Required("keys", QmpType.ObjectList), Optional("hold-time", QmpType.Integer)], SendKey);
        table.Add("input-send-event", [Required("events", QmpType.ObjectList), Optional("device", QmpType.String), Optional("head", QmpType.Integer)], InputSendEvent);
        table.Add("query-vnc", [], QueryVnc);
        table.Add("change-vnc-password", [Required("password", QmpType.String)], ChangeVncPassword);
        table.Add("eject", [Optional("device", QmpType.String), Optional("id", QmpType.String), Optional("force", QmpType.Boolean)], Eject);
        table.Add("blockdev-change-medium", [Optional("device", QmpType.String), Optional("id", QmpType.String), Required("filename", QmpType.String), Optional("format", QmpType.String), Optional("read-only-mode", QmpType.String), Optional("force", QmpType.Boolean)], ChangeMedium);
    }

    private static JsonNode Screendump(QmpCommandContext context, QmpArguments arguments)
    {
        string format = arguments.GetStringOrNull("format") ?? "ppm";
        if (format is not ("ppm" or "png"))
        {
            throw QmpException.Generic($"Parameter 'format' does not accept value '{format}'");
        }

        if (arguments.GetInt64OrNull("head") is long head && head != 0)
        {
            throw QmpException.Generic($"There is no head {head}");
        }

        Run(() => context.Vm.Screendump(arguments.GetString("filename"), png: format == "png"));
        return QmpCommandTable.Empty();
    }

    private static JsonNode SendKey(QmpCommandContext context, QmpArguments arguments)
    {
        var codes = new List<ushort>();
        foreach (JsonObject key in arguments.GetObjectList("keys"))
        {
            codes.Add(KeyCode(key));
        }

        if (codes.Count == 0)
        {
            throw QmpException.Generic("Parameter 'keys' is empty");
        }

        long hold = arguments.GetInt64OrNull("hold-time") ?? 100; // QEMU's default, in milliseconds
        Run(() => context.Vm.SendKeys(codes, (int)Math.Clamp(hold, 0, 10_000)));
        return QmpCommandTable.Empty();
    }

    private static JsonNode InputSendEvent(QmpCommandContext context, QmpArguments arguments)
    {
        var keyboard = new List<InputEvent>();
        var tablet = new List<InputEvent>();
        foreach (JsonObject item in arguments.GetObjectList("events"))
        {
            string type = Text(item, "type");
            JsonObject data = item["data"] as JsonObject ?? throw QmpException.Generic("Parameter 'data' is missing");
            switch (type)
            {
                case "key":
                    keyboard.Add(new InputEvent(EvKey, KeyCode(data["key"] as JsonObject ?? throw QmpException.Generic("Parameter 'key' is missing")), Down(data)));
                    break;
                case "btn":
                    string button = Text(data, "button");
                    if (button is "wheel-up" or "wheel-down")
                    {
                        if (Down(data) == 1)
                        {
                            tablet.Add(new InputEvent(EvRel, RelWheel, button == "wheel-up" ? 1 : -1));
                        }
                    }
                    else
                    {
                        tablet.Add(new InputEvent(EvKey, button switch
                        {
                            "left" => BtnLeft,
                            "right" => BtnRight,
                            "middle" => BtnMiddle,
                            "side" => BtnSide,
                            "extra" => BtnExtra,
                            _ => throw QmpException.Generic($"Parameter 'button' does not accept value '{button}'"),
                        }, Down(data)));
                    }

                    break;
                case "abs":
                    string axis = Text(data, "axis");
                    int value = data["value"]?.GetValue<int>() ?? throw QmpException.Generic("Parameter 'value' is missing");
                    tablet.Add(new InputEvent(EvAbs, axis switch
                    {
                        "x" => AbsX,
                        "y" => AbsY,
                        _ => throw QmpException.Generic($"Parameter 'axis' does not accept value '{axis}'"),
                    }, Math.Clamp(value, 0, VirtioTabletDevice.AxisMaximum)));
                    break;
                case "rel":
                    throw QmpException.Generic("The VM has no relative pointer; its tablet takes abs events");
                default:
                    throw QmpException.Generic($"Parameter 'type' does not accept value '{type}'");
            }
        }

        Run(() => context.Vm.SendInputEvents(keyboard, tablet));
        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryVnc(QmpCommandContext context, QmpArguments arguments)
    {
        if (context.Vm.Vnc is not { } vnc)
        {
            return new JsonObject { ["enabled"] = false };
        }

        var clients = new JsonArray();
        foreach (VncConnection client in vnc.Clients)
        {
            int colon = client.Peer.LastIndexOf(':');
            clients.Add(new JsonObject
            {
                ["host"] = colon < 0 ? client.Peer : client.Peer[..colon],
                ["service"] = colon < 0 ? string.Empty : client.Peer[(colon + 1)..],
                ["family"] = Family(vnc.Address),
                ["websocket"] = false,
            });
        }

        return new JsonObject
        {
            ["enabled"] = true,
            ["host"] = vnc.Address.UnixPath ?? vnc.Address.TcpEndPoint!.Address.ToString(),
            ["service"] = vnc.Address.UnixPath is null ? vnc.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty,
            ["family"] = Family(vnc.Address),
            ["auth"] = vnc.PasswordRequired ? "vnc" : "none",
            ["clients"] = clients,
        };
    }

    private static string Family(VncAddress address) => address.UnixPath is not null ? "unix"
        : address.TcpEndPoint!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4";

    /// <summary>Sets the password; as the password only means something with VNC authentication, setting one turns it on.</summary>
    private static JsonNode ChangeVncPassword(QmpCommandContext context, QmpArguments arguments)
    {
        VncServer vnc = context.Vm.Vnc ?? throw QmpException.Generic("Could not set password: VNC is not enabled");
        vnc.Password = arguments.GetString("password");
        vnc.PasswordRequired = true;
        return QmpCommandTable.Empty();
    }

    private static JsonNode Eject(QmpCommandContext context, QmpArguments arguments)
    {
        (string name, ScsiCdrom drive) = Drive(context, arguments);
        if (!drive.Eject(arguments.GetBoolean("force", false)))
        {
            throw QmpException.Generic($"Device '{name}' is locked and force was not specified, wait for tray to open and try again");
        }

        context.Vm.CdromFile = null;
        return QmpCommandTable.Empty();
    }

    private static JsonNode ChangeMedium(QmpCommandContext context, QmpArguments arguments)
    {
        (string name, ScsiCdrom drive) = Drive(context, arguments);
        string filename = arguments.GetString("filename");
        if (arguments.GetStringOrNull("format") is string format && format is not ("raw" or "qcow2"))
        {
            throw QmpException.Generic($"Unknown driver '{format}'");
        }

        Vessel.Storage.IBlockDevice disc;
        try
        {
            disc = RiscvVirtMachine.OpenDisc(filename);
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException or Vessel.Storage.StorageException)
        {
            throw QmpException.Generic($"Could not open '{filename}': {e.Message}");
        }

        if (arguments.GetBoolean("force", false))
        {
            drive.Eject(force: true);
        }

        if (!drive.ChangeMedium(disc))
        {
            disc.Dispose();
            throw QmpException.Generic($"Device '{name}' is locked and force was not specified, wait for tray to open and try again");
        }

        context.Vm.CdromFile = filename;
        return QmpCommandTable.Empty();
    }

    private static (string Name, ScsiCdrom Drive) Drive(QmpCommandContext context, QmpArguments arguments)
    {
        string name = arguments.GetStringOrNull("id") ?? arguments.GetStringOrNull("device") ?? throw QmpException.Generic("Need exactly one of 'device' and 'id'");
        try
        {
            return (name, context.Vm.RequireCdrom(name));
        }
        catch (VmmException e)
        {
            throw new QmpException(QmpException.DeviceNotFound, e.Message);
        }
    }

    private static void Run(Action action)
    {
        try
        {
            action();
        }
        catch (VmmException e)
        {
            throw QmpException.Generic(e.Message);
        }
    }

    private static string Text(JsonObject item, string name) =>
        item[name] is JsonValue value && value.TryGetValue(out string? text) ? text : throw QmpException.Generic($"Parameter '{name}' is missing");

    private static int Down(JsonObject data) =>
        data["down"] is JsonValue value && value.TryGetValue(out bool down) ? (down ? 1 : 0) : throw QmpException.Generic("Parameter 'down' is missing");

    /// <summary>A QAPI KeyValue: <c>{"type": "qcode", "data": "a"}</c> or <c>{"type": "number", "data": 30}</c> (a PC scancode, 0x80 marking the 0xe0 prefix).</summary>
    private static ushort KeyCode(JsonObject key)
    {
        string type = Text(key, "type");
        JsonNode? data = key["data"];
        if (type == "number" && data is JsonValue number && number.TryGetValue(out int scancode))
        {
            return QKeyCodes.FromScancode(scancode) ?? throw QmpException.Generic($"Parameter 'data' does not accept value {scancode}");
        }

        if (type == "qcode" && data is JsonValue name && name.TryGetValue(out string? qcode))
        {
            return QKeyCodes.FromName(qcode) ?? throw QmpException.Generic($"Parameter 'data' does not accept value '{qcode}'");
        }

        throw QmpException.Generic("Parameter 'keys' expects a KeyValue ({\"type\": \"qcode\", \"data\": NAME} or {\"type\": \"number\", \"data\": N})");
    }
}
