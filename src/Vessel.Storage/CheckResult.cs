namespace Vessel.Storage;

/// <summary>How much <c>check</c> may repair.</summary>
public enum CheckRepair
{
    None,
    Leaks,
    All,
}

/// <summary>The outcome of checking an image, with qemu-img check's counters and messages.</summary>
public sealed class CheckResult
{
    public required string Filename { get; init; }

    public required string Format { get; init; }

    /// <summary>Inconsistencies that may lose data (refcount too low, bad table entries...).</summary>
    public int Corruptions { get; set; }

    /// <summary>Clusters counted as used that nothing references: wasted space, no harm.</summary>
    public int Leaks { get; set; }

    /// <summary>Errors that stopped parts of the check (unreadable structures).</summary>
    public int CheckErrors { get; set; }

    public int CorruptionsFixed { get; set; }

    public int LeaksFixed { get; set; }

    public long ImageEndOffset { get; set; }

    public long TotalClusters { get; set; }

    public long AllocatedClusters { get; set; }

    public long FragmentedClusters { get; set; }

    public long CompressedClusters { get; set; }

    /// <summary>One line per finding, worded like qemu-img's ("ERROR cluster 5 refcount=0 reference=1").</summary>
    public List<string> Messages { get; } = [];

    public bool IsClean => Corruptions == 0 && Leaks == 0 && CheckErrors == 0;

    /// <summary>qemu-img check's exit code: 0 clean, 1 check failed, 2 corruptions, 3 leaks only.</summary>
    public int ExitCode => CheckErrors > 0 ? 1 : Corruptions > 0 ? 2 : Leaks > 0 ? 3 : 0;
}
