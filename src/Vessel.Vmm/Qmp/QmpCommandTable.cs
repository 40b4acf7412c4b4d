using System.Text.Json.Nodes;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// Every QMP command Vessel has, by name. Each area registers its own in a file of its own
/// (<c>QmpCommands.*.cs</c>); a command is found by searching for its QMP name in quotes.
/// </summary>
internal sealed class QmpCommandTable
{
    private readonly Dictionary<string, QmpCommand> _commands = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public static QmpCommandTable CreateDefault()
    {
        var table = new QmpCommandTable();
        QmpMachineCommands.Register(table);
        QmpBalloonCommands.Register(table);
        QmpDisplayCommands.Register(table);
        QmpMigrationCommands.Register(table);
        QmpSnapshotCommands.Register(table);
        QmpStatisticsCommands.Register(table);
        QmpDiagnosticCommands.Register(table);
        QmpBlockCommands.Register(table);
        QmpHumanMonitorCommands.Register(table);
        return table;
    }

    /// <summary>The command names in the order they were registered (<c>query-commands</c>).</summary>
    public IReadOnlyList<string> Names => _order;

    public void Add(string name, QmpParameter[] parameters, QmpCommandHandler handler)
    {
        _commands.Add(name, new QmpCommand(name, parameters, handler));
        _order.Add(name);
    }

    public bool TryGet(string name, out QmpCommand command) => _commands.TryGetValue(name, out command!);

    /// <summary>The empty object most commands return.</summary>
    public static JsonObject Empty() => [];
}
