using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>The memory balloon (<c>qapi/machine.json</c>): <c>balloon</c> and <c>query-balloon</c>; <c>BALLOON_CHANGE</c> comes from the VM's events.</summary>
internal static class QmpBalloonCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("balloon", [Required("value", QmpType.Integer)], Balloon);
        table.Add("query-balloon", [], QueryBalloon);
    }

    /// <summary>Asks the guest to keep <c>value</c> bytes; as QEMU, a value above the VM's memory means all of it.</summary>
    private static JsonNode Balloon(QmpCommandContext context, QmpArguments arguments)
    {
        VirtualMachine vm = context.Vm;
        RequireBalloon(vm);
        long value = arguments.GetInt64("value");
        if (value <= 0)
        {
            throw QmpException.Generic("Parameter 'target' expects a size");
        }

        vm.SetBalloonTarget(Math.Min((ulong)value, vm.Configuration.MemorySize));
        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryBalloon(QmpCommandContext context, QmpArguments arguments)
    {
        RequireBalloon(context.Vm);
        return new JsonObject { ["actual"] = context.Vm.BalloonActual };
    }

    internal static void RequireBalloon(VirtualMachine vm)
    {
        if (vm.Balloon is null)
        {
            throw new QmpException(QmpException.DeviceNotActive, "No balloon device has been activated");
        }
    }
}
