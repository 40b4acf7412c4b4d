namespace Vessel.Machine.Native;

/// <summary>The host's own id of the calling thread (what <c>ps -L</c> and QMP's <c>thread-id</c> show).</summary>
public static class HostThread
{
    public static long CurrentId => LibC.GetThreadId();
}
