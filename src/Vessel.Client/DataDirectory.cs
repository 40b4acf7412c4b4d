namespace Vessel.Client;

/// <summary>
/// Where <c>vessel serve</c> keeps its state and its API socket, as the daemon and every client
/// command find it: <c>--data-dir</c>, else <c>VESSEL_DATA_DIR</c>, else <c>/var/lib/vessel</c> as
/// root, else <c>$XDG_DATA_HOME/vessel</c> (<c>~/.local/share/vessel</c>).
/// </summary>
public static class DataDirectory
{
    /// <summary>The API socket's name in the data directory.</summary>
    public const string SocketFileName = "vessel.sock";

    public const string EnvironmentVariable = "VESSEL_DATA_DIR";

    public static string Resolve(string? given)
    {
        if (!string.IsNullOrEmpty(given))
        {
            return Path.GetFullPath(given);
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return Path.GetFullPath(fromEnvironment);
        }

        if (IsRoot())
        {
            return "/var/lib/vessel";
        }

        string dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(dataHome, "vessel");
    }

    public static string SocketPath(string dataDirectory) => Path.Combine(dataDirectory, SocketFileName);

    private static bool IsRoot()
    {
        try
        {
            // /proc/self/status: "Uid: real effective saved fs".
            string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            return line is not null && line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0";
        }
        catch (IOException)
        {
            return Environment.UserName == "root";
        }
    }
}
