using Vessel.Machine.Interrupts;

namespace Vessel.Machine.Tests.Devices;

/// <summary>An interrupt line that remembers its level and how often it was driven.</summary>
internal sealed class RecordingInterruptLine : IInterruptLine
{
    private int _level;
    private int _raises;

    public bool Level => Volatile.Read(ref _level) != 0;

    /// <summary>Number of low-to-high transitions seen.</summary>
    public int Raises => Volatile.Read(ref _raises);

    public void Set(bool level)
    {
        int previous = Interlocked.Exchange(ref _level, level ? 1 : 0);
        if (level && previous == 0)
        {
            Interlocked.Increment(ref _raises);
        }
    }
}
