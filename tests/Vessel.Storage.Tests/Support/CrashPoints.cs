using Vessel.Storage.Host;

namespace Vessel.Storage.Tests.Support;

/// <summary>
/// Exhaustive crash injection: runs an operation once to count the mutations it makes to the
/// given files, then once per mutation index N with the "process" dying at the Nth (see
/// <see cref="CrashPoint"/>), restoring the files from a copy before each run and verifying
/// what the crash left. Kill mode keeps every write made before the crash; power-loss mode
/// keeps only what was synced plus the write that tripped.
/// </summary>
internal static class CrashPoints
{
    /// <summary>
    /// Explores every crash point of <paramref name="operation"/> (at most
    /// <paramref name="maxPoints"/>, evenly spread, always including the first and last) and
    /// returns how many were run. <paramref name="verify"/> receives the crash index (-1 after a
    /// run without crash).
    /// </summary>
    public static int Explore(string[] files, Action operation, Action<int, CrashMode> verify, CrashMode mode, int maxPoints = 400)
    {
        string[] templates = files.Select(f => f + ".template").ToArray();
        for (int i = 0; i < files.Length; i++)
        {
            if (File.Exists(files[i]))
            {
                File.Copy(files[i], templates[i], overwrite: true);
            }
        }

        // The run without a crash counts the mutations and checks the final state.
        var counter = new CrashPoint(int.MaxValue, CrashMode.Kill);
        Run(counter, files, operation);
        Assert.False(counter.Crashed);
        int total = counter.Mutations;
        Assert.True(total > 0, "the operation wrote nothing: there is nothing to crash");
        verify(-1, mode);

        int step = Math.Max(1, (total + maxPoints - 1) / maxPoints);
        var points = new SortedSet<int> { total - 1 };
        for (int n = 0; n < total; n += step)
        {
            points.Add(n);
        }

        int runs = 0;
        foreach (int n in points)
        {
            Restore(files, templates);
            var point = new CrashPoint(n, mode);
            Run(point, files, operation);
            Assert.True(point.Crashed, $"crash point {n} of {total} was not reached: the operation is not deterministic");
            verify(n, mode);
            runs++;
        }

        Restore(files, templates);
        return runs;
    }

    private static void Run(CrashPoint point, string[] files, Action operation)
    {
        CrashInjection.Arm(point, files);
        try
        {
            operation();
        }
        catch (SimulatedCrashException)
        {
        }
        catch (Exception e) when (point.Crashed && ContainsCrash(e))
        {
        }
        finally
        {
            CrashInjection.Disarm(files);
        }
    }

    // Disposal after the crash, or the convert's write task, may wrap the simulated crash.
    private static bool ContainsCrash(Exception e) =>
        e is SimulatedCrashException || (e.InnerException is not null && ContainsCrash(e.InnerException))
        || (e is AggregateException a && a.InnerExceptions.Any(ContainsCrash));

    private static void Restore(string[] files, string[] templates)
    {
        for (int i = 0; i < files.Length; i++)
        {
            if (File.Exists(templates[i]))
            {
                File.Copy(templates[i], files[i], overwrite: true);
            }
            else
            {
                File.Delete(files[i]);
            }
        }
    }
}
