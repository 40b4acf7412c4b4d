using System.Reflection;
using System.Text.Json.Nodes;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// What <c>query-version</c> and the greeting report: QEMU's shape with Vessel's own numbers.
/// </summary>
/// <remarks>
/// The numbers are Vessel's, not those of the QEMU release whose protocol Vessel follows (7.2).
/// Tools gate features on the QEMU version; claiming 7.2 would make them use everything 7.2 has
/// and fail later, obscurely, on what Vessel lacks, whereas Vessel's own (small) numbers make a
/// tool that needs a real QEMU say so at once. <c>package</c> names the product and the QMP
/// dialect, where QEMU puts its distribution's package version.
/// </remarks>
internal static class QmpVersion
{
    /// <summary>The QEMU release whose QMP commands, errors and events Vessel mirrors.</summary>
    public const string QemuDialect = "7.2";

    private static readonly Version s_version = ReadVersion();

    public static Version Version => s_version;

    /// <summary>Vessel's version with its build suffix (as <c>vessel --version</c> prints it).</summary>
    public static string Informational { get; } =
        typeof(QmpVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? s_version.ToString(3);

    public static JsonObject ToJson() => new()
    {
        ["qemu"] = new JsonObject { ["micro"] = s_version.Build, ["minor"] = s_version.Minor, ["major"] = s_version.Major },
        ["package"] = $"Vessel {Informational} (QMP as QEMU {QemuDialect})",
    };

    private static Version ReadVersion()
    {
        Version version = typeof(QmpVersion).Assembly.GetName().Version ?? new Version(0, 0, 0);
        return new Version(version.Major, version.Minor, Math.Max(0, version.Build));
    }
}
