namespace Vessel.Cli;

/// <summary>What the host can give a VM.</summary>
internal static class HostMemory
{
    /// <summary>Physical memory of the host in bytes (MemTotal), or 0 when unknown.</summary>
    public static ulong TotalBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
