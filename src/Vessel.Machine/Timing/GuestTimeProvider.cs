namespace Vessel.Machine.Timing;

/// <summary>
/// A wall clock made of guest time, for the deterministic mode: a fixed date
/// (<see cref="Epoch"/>) plus the virtual clock, so the real-time clock reads the same date at
/// the same instruction in every run and after every restore (as QEMU's <c>-rtc clock=vm,base=…</c>
/// used for record and replay). Timers it creates still run on the host's clock.
/// </summary>
public sealed class GuestTimeProvider(VirtualClock clock) : TimeProvider
{
    /// <summary>The date the guest's clock starts from.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Epoch + VirtualClock.ToTimeSpan(clock.Now);
}
