using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vessel.Vmm.Hosting;

/// <summary>
/// Stamps of the VMM's start-up (wall clock and the process's CPU time at each stage), printed
/// with <c>VESSEL_STATS=1</c> beside the first instruction's stamp, so that the time from exec
/// to the first guest instruction can be split into the runtime's own start, the command line,
/// building the machine and starting it.
/// </summary>
public static class StartupTimeline
{
    private static readonly List<(string Stage, long Timestamp, TimeSpan Cpu)> s_marks = [];

    /// <summary>Records that start-up reached <paramref name="stage"/>.</summary>
    public static void Mark(string stage)
    {
        long now = Stopwatch.GetTimestamp();
        TimeSpan cpu = Environment.CpuUsage.TotalTime;
        lock (s_marks)
        {
            s_marks.Add((stage, now, cpu));
        }
    }

    /// <summary>
    /// One line: each stage's process CPU time and wall time since the first mark, ending with
    /// the first instruction (its <see cref="Stopwatch"/> timestamp and CPU time).
    /// </summary>
    public static string Describe(long firstInstructionTimestamp, TimeSpan firstInstructionCpu)
    {
        var text = new StringBuilder("start-up (CPU ms / wall ms since main):");
        lock (s_marks)
        {
            if (s_marks.Count == 0)
            {
                return text.Append(" not stamped").ToString();
            }

            long origin = s_marks[0].Timestamp;
            foreach ((string stage, long timestamp, TimeSpan cpu) in s_marks.Append(("first instruction", firstInstructionTimestamp, firstInstructionCpu)))
            {
                text.Append(CultureInfo.InvariantCulture, $" {stage} {cpu.TotalMilliseconds:F0}/{Stopwatch.GetElapsedTime(origin, timestamp).TotalMilliseconds:F0}");
            }
        }

        return text.ToString();
    }
}
