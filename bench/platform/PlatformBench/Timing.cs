using System.Diagnostics;

/// <summary>Wall time of one awaited piece of work.</summary>
internal static class Timing
{
    public static async Task<double> MillisecondsAsync(Func<Task> work)
    {
        long start = Stopwatch.GetTimestamp();
        await work();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
