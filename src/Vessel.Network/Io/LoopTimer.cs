namespace Vessel.Network.Io;

/// <summary>
/// One re-armable timer of an <see cref="EventLoop"/>. Re-arming it later (the common case: a
/// retransmission timer pushed back by every acknowledgement) costs no queue operation: the
/// queued entry is re-examined when it comes due.
/// </summary>
internal sealed class LoopTimer(ITimerHandler handler)
{
    public const long Never = long.MaxValue;

    internal ITimerHandler Handler { get; } = handler;

    /// <summary>When the owner wants to be called, in <see cref="EventLoop.Now"/> milliseconds, or <see cref="Never"/>.</summary>
    internal long Deadline { get; set; } = Never;

    /// <summary>The earliest deadline this timer has an entry for in the loop's queue, or <see cref="Never"/>.</summary>
    internal long QueuedAt { get; set; } = Never;

    public bool IsArmed => Deadline != Never;
}
