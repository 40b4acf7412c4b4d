using System.Globalization;
using Vessel.Server.Hosts.Channel;

namespace Vessel.Server.Hosts;

/// <summary>
/// A host's live capacity as an agent reads it (and the manager for its own host, with the same
/// code): harts as the process sees them, memory total and available from /proc/meminfo, the
/// one-minute load average from /proc/loadavg.
/// </summary>
public static class HostCapacity
{
    public static Capacity Read(int runningVms)
    {
        (long total, long available) = ReadMemory();
        return new Capacity
        {
            Harts = Environment.ProcessorCount,
            MemoryTotalBytes = total,
            MemoryAvailableBytes = available,
            RunningVms = runningVms,
            LoadAverage = ReadLoadAverage(),
        };
    }

    /// <summary>MemTotal and MemAvailable in bytes (0 where the kernel does not say).</summary>
    public static (long Total, long Available) ReadMemory(string path = "/proc/meminfo")
    {
        long total = 0;
        long available = 0;
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    total = KilobytesOf(line);
                }
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    available = KilobytesOf(line);
                }
            }
        }
        catch (IOException)
        {
        }

        return (total * 1024, available * 1024);
    }

    private static long KilobytesOf(string line)
    {
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) ? kb : 0;
    }

    public static double ReadLoadAverage(string path = "/proc/loadavg")
    {
        try
        {
            string first = File.ReadAllText(path).Split(' ', 2)[0];
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
