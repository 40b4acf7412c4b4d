namespace Vessel.Storage.Operations;

/// <summary>Reports progress of a long operation: bytes done out of a total (both may grow).</summary>
public delegate void ProgressCallback(long done, long total);
