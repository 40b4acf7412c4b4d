using System.Diagnostics;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>Polls a condition with a generous timeout (the test machine is shared and slow).</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static void Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? DefaultTimeout;
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds} s waiting for {what}.");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Gives background threads a chance to do something they must not do.</summary>
    public static void Settle() => Thread.Sleep(100);
}
