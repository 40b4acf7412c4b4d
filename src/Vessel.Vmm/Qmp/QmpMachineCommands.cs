using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// The protocol's own commands and the VM's life cycle (<c>qapi/control.json</c>,
/// <c>run-state.json</c>, <c>machine.json</c>, <c>misc.json</c>).
/// </summary>
internal static class QmpMachineCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("qmp_capabilities", [Optional("enable", QmpType.StringList)], QmpCapabilities);
        table.Add("query-version", [], (_, _) => QmpVersion.ToJson());
        table.Add("query-commands", [], QueryCommands);
        table.Add("query-status", [], QueryStatus);
        table.Add("query-name", [], QueryName);
        table.Add("query-uuid", [], (context, _) => new JsonObject { ["UUID"] = context.Vm.Uuid.ToString() });
        table.Add("stop", [], Stop);
        table.Add("cont", [], Cont);
        table.Add("system_reset", [], SystemReset);
        table.Add("system_powerdown", [], SystemPowerdown);
        table.Add("quit", [], Quit);
        table.Add("query-cpus-fast", [], QueryCpusFast);

        // Vessel's own, named as QEMU names its experimental commands (x-): deterministic mode.
        table.Add("x-vessel-step", [Optional("instructions", QmpType.Integer)], (context, arguments) =>
            new JsonObject { ["instructions"] = context.Vm.StepInstructions(arguments.GetInt64OrNull("instructions") ?? 0) });
        table.Add("x-vessel-state-hash", [], (context, _) => new JsonObject { ["sha256"] = context.Vm.HashState() });
    }

    private static JsonNode QmpCapabilities(QmpCommandContext context, QmpArguments arguments)
    {
        bool oob = false;
        foreach (string capability in arguments.GetStringListOrNull("enable") ?? [])
        {
            if (capability != "oob")
            {
                throw QmpException.Generic($"Parameter 'enable' does not accept value '{capability}'");
            }

            oob = true;
        }

        context.Session.Negotiate(oob);
        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryCommands(QmpCommandContext context, QmpArguments arguments) =>
        new JsonArray(context.Server.Commands.Names.Select(name => (JsonNode)new JsonObject { ["name"] = name }).ToArray());

    private static JsonNode QueryStatus(QmpCommandContext context, QmpArguments arguments)
    {
        VmRunState state = context.Vm.RunState;
        return new JsonObject
        {
            ["status"] = state.ToQmpName(),
            // QEMU 7.2 still reports its deprecated single-step flag; Vessel never single-steps.
            ["singlestep"] = false,
            ["running"] = state == VmRunState.Running,
        };
    }

    private static JsonNode QueryName(QmpCommandContext context, QmpArguments arguments) =>
        context.Vm.Name is { } name ? new JsonObject { ["name"] = name } : QmpCommandTable.Empty();

    private static JsonNode Stop(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.Stop();
        return QmpCommandTable.Empty();
    }

    private static JsonNode Cont(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.Continue();
        return QmpCommandTable.Empty();
    }

    private static JsonNode SystemReset(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.SystemReset();
        return QmpCommandTable.Empty();
    }

    /// <summary>
    /// QEMU's <c>virt</c> board has no power button its guests listen to either: QEMU answers
    /// success and raises <c>POWERDOWN</c>, and the guest goes on. Vessel does the same, so
    /// management that sends it and then waits (and stops the VM after a timeout) works alike.
    /// </summary>
    private static JsonNode SystemPowerdown(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.SystemPowerdown();
        return QmpCommandTable.Empty();
    }

    private static JsonNode Quit(QmpCommandContext context, QmpArguments arguments)
    {
        context.Vm.Quit();
        return QmpCommandTable.Empty();
    }

    private static JsonNode QueryCpusFast(QmpCommandContext context, QmpArguments arguments)
    {
        var list = new JsonArray();
        foreach (HartInfo hart in context.Vm.QueryHarts())
        {
            list.Add(new JsonObject
            {
                ["thread-id"] = hart.HostThreadId,
                ["props"] = new JsonObject { ["core-id"] = hart.Index },
                ["qom-path"] = $"/machine/soc0/harts[{hart.Index}]",
                ["cpu-index"] = hart.Index,
                ["target"] = "riscv64",
            });
        }

        return list;
    }
}
