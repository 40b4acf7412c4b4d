namespace Vessel.Machine.Persistence;

/// <summary>
/// The one persistence contract every stateful part of a machine implements (in the spirit of
/// Firecracker's <c>Persist</c>): its state as a plain, versionable data record that a snapshot
/// writes and a restore reads back into a part built with the same options.
/// </summary>
/// <remarks>
/// Callers save and restore only while the machine is paused (harts parked, device queues
/// idle), so a state is a consistent picture. Caches that are derived from other state (TLBs,
/// decoded or translated code) are never part of it: restoring rebuilds them. A state that
/// cannot belong to this part (another hart count, another device type) is refused with an
/// <see cref="ArgumentException"/> whose message is one sentence.
/// </remarks>
/// <typeparam name="TState">An immutable record of plain data (numbers, strings, arrays, nested records).</typeparam>
public interface IPersistent<TState>
    where TState : class
{
    /// <summary>Takes the part's state.</summary>
    TState SaveState();

    /// <summary>Replaces the part's state with <paramref name="state"/>.</summary>
    void RestoreState(TState state);
}
