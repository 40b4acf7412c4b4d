namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>
/// Measures what a piece of device work allocates on the calling thread, round after round.
/// A request that allocates makes every round allocate. A single round may still see a one-off
/// allocation by the runtime (tiering, a type loaded for another test running in the same
/// process: 280 bytes were seen once in CI in one round of 500 console writes, never alone), so
/// the quietest of the rounds after the first (which compiles everything) is the figure to hold
/// at zero.
/// </summary>
internal static class AllocationRounds
{
    public const int Rounds = 4;

    /// <summary>Runs <paramref name="round"/> <see cref="Rounds"/> times and returns the least it allocated in a round after the first.</summary>
    /// <param name="round">One round of work; returns the bytes allocated by the part under test.</param>
    public static long Quietest(Func<int, long> round)
    {
        long quietest = long.MaxValue;
        for (int i = 0; i < Rounds; i++)
        {
            long allocated = round(i);
            if (i > 0)
            {
                quietest = Math.Min(quietest, allocated);
            }
        }

        return quietest;
    }

    /// <summary>The bytes <paramref name="work"/> allocates on this thread.</summary>
    public static long Measure(Action work)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        work();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}

/// <summary>
/// The tests that hold a request's allocations at zero run alone, after the others: the per-thread
/// allocation counter also moves when another test's allocations set off a collection mid-round
/// (seen under a loaded CI run: 6,040 bytes in every round of a GPU test, never in the test alone).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    public const string Name = "allocation measurements";
}
