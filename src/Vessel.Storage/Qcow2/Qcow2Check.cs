namespace Vessel.Storage.Qcow2;

/// <summary>
/// Consistency check and repair of a qcow2 image, like qemu-img check: every cluster's
/// reference count is recomputed by walking the header, L1/L2 tables (active and snapshots),
/// snapshot table, refcount structures and bitmaps, then compared with the stored refcounts;
/// table entries and COPIED flags are checked on the way. The walk lives in Qcow2Image.Check.cs.
/// </summary>
public static class Qcow2Check
{
    /// <summary>Checks (and optionally repairs) an open qcow2 image; repairs need it writable.</summary>
    public static CheckResult Run(Qcow2Image image, CheckRepair repair) => image.Check(repair);
}
