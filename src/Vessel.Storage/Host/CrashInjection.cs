using System.Collections.Concurrent;

namespace Vessel.Storage.Host;

/// <summary>How a simulated crash treats the writes made since the last flush barrier.</summary>
internal enum CrashMode
{
    /// <summary>The process is killed: every write it made is in the host page cache and survives.</summary>
    Kill,

    /// <summary>
    /// Power is lost: of the writes since the last fdatasync only the one that trips the crash
    /// survives, the earlier ones are undone. This is the harshest reordering a disk may do
    /// between barriers, so an order that survives it does not rely on write order without a sync.
    /// </summary>
    PowerLoss,

    /// <summary>
    /// Power is lost in the middle of the write that trips: as <see cref="PowerLoss"/>, but of
    /// that write only the part within its first 512-byte sector reaches the disk (a disk
    /// writes a sector whole or not at all, and nothing bigger).
    /// </summary>
    TornKeepsFirstSector,

    /// <summary>As <see cref="TornKeepsFirstSector"/>, but everything of the tripping write except its first sector reaches the disk.</summary>
    TornLosesFirstSector,
}

/// <summary>
/// A test-only crash point: after <see cref="Budget"/> mutations (writes, truncations, hole
/// punches) of the armed files, the next one makes the "process" die by throwing
/// <see cref="SimulatedCrashException"/>; every later mutation of those files throws too, so
/// nothing reaches them after the crash. Production code never arms one.
/// </summary>
internal sealed class CrashPoint
{
    public CrashPoint(int budget, CrashMode mode)
    {
        Budget = budget;
        Mode = mode;
    }

    /// <summary>The unit a disk writes atomically, where the torn modes tear.</summary>
    public const int SectorSize = 512;

    /// <summary>Mutations allowed before the crash; int.MaxValue only counts them.</summary>
    public int Budget { get; }

    public CrashMode Mode { get; }

    /// <summary>Mutations made so far (all armed files together, in process order).</summary>
    public int Mutations { get; internal set; }

    public bool Crashed { get; internal set; }

    /// <summary>Undo records of the mutations since the last barrier (power-loss mode only).</summary>
    internal List<UnsyncedMutation> Unsynced { get; } = [];

    private bool _tripping;

    /// <summary>Called before each mutation: dies when the budget is spent (kill) or marks this one as the last (power loss).</summary>
    internal void BeforeMutation()
    {
        lock (this)
        {
            if (Crashed)
            {
                throw new SimulatedCrashException();
            }

            if (Mutations++ == Budget)
            {
                if (Mode == CrashMode.Kill)
                {
                    Crashed = true;
                    throw new SimulatedCrashException();
                }

                _tripping = true;
            }
        }
    }

    /// <summary>Called after each mutation: in power-loss mode the last one survives and the unsynced ones before it are undone.</summary>
    internal void AfterMutation()
    {
        lock (this)
        {
            if (!_tripping)
            {
                return;
            }

            _tripping = false;
            Crashed = true;

            // Back to the last barrier, then the last mutation alone done again on top of it
            // (it may overlap the undone ones, so skipping its undo would not do).
            UnsyncedMutation last = Unsynced[^1];
            byte[] after = last.File.ReadAfter(last);
            for (int i = Unsynced.Count - 1; i >= 0; i--)
            {
                Unsynced[i].File.Undo(Unsynced[i]);
            }

            if (Mode == CrashMode.PowerLoss || last.IsTruncation)
            {
                last.File.Redo(last, after);
            }
            else
            {
                // The tear falls on the first sector boundary inside the write.
                int head = (int)Math.Min(after.Length, CrashPoint.SectorSize - (last.Offset % CrashPoint.SectorSize));
                if (Mode == CrashMode.TornKeepsFirstSector)
                {
                    last.File.Redo(last with { Length = head }, after[..head]);
                }
                else if (head < after.Length)
                {
                    last.File.Redo(last with { Offset = last.Offset + head, Length = last.Length - head }, after[head..]);
                }
            }

            Unsynced.Clear();
            throw new SimulatedCrashException();
        }
    }

    /// <summary>An fdatasync: what was written before it can no longer be lost.</summary>
    internal void Barrier()
    {
        lock (this)
        {
            if (Crashed)
            {
                throw new SimulatedCrashException();
            }

            Unsynced.Clear();
        }
    }
}

/// <summary>What a mutation since the last barrier overwrote, so that a simulated power loss can undo it.</summary>
internal sealed record UnsyncedMutation(HostFile File, long Offset, long Length, byte[] OldBytes, long OldLength, bool IsTruncation);

/// <summary>Thrown by a file when a test's <see cref="CrashPoint"/> makes the process "die".</summary>
internal sealed class SimulatedCrashException : Exception
{
    public SimulatedCrashException()
        : base("simulated crash")
    {
    }
}

/// <summary>
/// Where tests arm crash points. The production cost is one volatile read per mutation: files are
/// matched by full path only while something is armed.
/// </summary>
internal static class CrashInjection
{
    private static readonly ConcurrentDictionary<string, CrashPoint> s_armed = new(StringComparer.Ordinal);
    private static volatile bool s_any;

    public static bool Active => s_any;

    public static void Arm(CrashPoint point, params string[] paths)
    {
        foreach (string path in paths)
        {
            s_armed[System.IO.Path.GetFullPath(path)] = point;
        }

        s_any = true;
    }

    public static void Disarm(params string[] paths)
    {
        foreach (string path in paths)
        {
            s_armed.TryRemove(System.IO.Path.GetFullPath(path), out _);
        }

        s_any = !s_armed.IsEmpty;
    }

    public static CrashPoint? Find(string path) =>
        s_armed.TryGetValue(System.IO.Path.GetFullPath(path), out CrashPoint? point) ? point : null;
}
