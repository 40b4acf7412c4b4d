using System.Text.Json.Nodes;
using Vessel.Vmm.Hosting;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// What a standby VMM (<see cref="StandbyLaunch"/>) answers before it has a machine:
/// <c>x-vessel-launch</c> with the machine's <c>vessel run</c> options, <c>quit</c>, and the
/// version. Every other command needs a machine and says so.
/// </summary>
internal static class QmpStandbyCommands
{
    public const string LaunchCommand = "x-vessel-launch";

    private static readonly QmpCommand s_launch = new(LaunchCommand, [QmpParameter.Required("arguments", QmpType.StringList)], (_, _) => QmpCommandTable.Empty());

    public static JsonNode Execute(StandbyLaunch standby, string name, JsonObject? arguments)
    {
        switch (name)
        {
            case LaunchCommand:
                IReadOnlyList<string> options = s_launch.Bind(arguments).GetStringListOrNull("arguments") ?? [];
                string? failure = standby.Launch(options);
                return failure is null ? QmpCommandTable.Empty() : throw QmpException.Generic(failure.TrimEnd('.'));
            case "quit":
                standby.Quit();
                return QmpCommandTable.Empty();
            case "query-version":
                return QmpVersion.ToJson();
            default:
                throw QmpException.Generic($"This VMM is a standby process with no machine yet, so {name} cannot run; {LaunchCommand} gives it one");
        }
    }
}
