namespace Vessel.Machine.Devices;

/// <summary>
/// The state of a <see cref="GoldfishRtc"/>. The clock is the host's wall clock plus
/// <see cref="TimeOffset"/>, so a restored machine reads the current date, shifted by whatever
/// the guest set.
/// </summary>
public sealed record GoldfishRtcState
{
    /// <summary>RTC time minus host wall-clock time, in nanoseconds (two's complement).</summary>
    public ulong TimeOffset { get; init; }

    /// <summary>The alarm time in nanoseconds since the Unix epoch.</summary>
    public ulong AlarmTime { get; init; }

    public bool AlarmRunning { get; init; }

    public bool InterruptPending { get; init; }

    public bool InterruptEnabled { get; init; }

    /// <summary>The high half latched by the last TIME_LOW read.</summary>
    public uint TimeHighLatch { get; init; }
}
