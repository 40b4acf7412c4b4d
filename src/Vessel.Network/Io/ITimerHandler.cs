namespace Vessel.Network.Io;

/// <summary>The owner of a <see cref="LoopTimer"/>: called on the loop thread when it expires.</summary>
internal interface ITimerHandler
{
    void OnTimer(long now);
}
