namespace Vessel.Machine.Virtio;

/// <summary>
/// What a guest's disk did, as QEMU's <c>query-blockstats</c> reports it: bytes and requests
/// read, written, flushed and discarded, and the requests that failed. The device's queue thread
/// counts; control threads read at any time (each figure is one atomic 64-bit value).
/// </summary>
public sealed class BlockIoStatistics
{
    private long _readBytes;
    private long _writtenBytes;
    private long _discardedBytes;
    private long _reads;
    private long _writes;
    private long _flushes;
    private long _discards;
    private long _failedReads;
    private long _failedWrites;
    private long _failedFlushes;

    public long ReadBytes => Interlocked.Read(ref _readBytes);

    public long WrittenBytes => Interlocked.Read(ref _writtenBytes);

    /// <summary>Bytes discarded or zeroed (QEMU's <c>unmap_bytes</c>).</summary>
    public long DiscardedBytes => Interlocked.Read(ref _discardedBytes);

    public long ReadOperations => Interlocked.Read(ref _reads);

    public long WriteOperations => Interlocked.Read(ref _writes);

    public long FlushOperations => Interlocked.Read(ref _flushes);

    public long DiscardOperations => Interlocked.Read(ref _discards);

    public long FailedReadOperations => Interlocked.Read(ref _failedReads);

    public long FailedWriteOperations => Interlocked.Read(ref _failedWrites);

    public long FailedFlushOperations => Interlocked.Read(ref _failedFlushes);

    public void Read(long bytes)
    {
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _readBytes, bytes);
    }

    public void Written(long bytes)
    {
        Interlocked.Increment(ref _writes);
        Interlocked.Add(ref _writtenBytes, bytes);
    }

    public void Flushed() => Interlocked.Increment(ref _flushes);

    public void Discarded(long bytes)
    {
        Interlocked.Increment(ref _discards);
        Interlocked.Add(ref _discardedBytes, bytes);
    }

    public void ReadFailed() => Interlocked.Increment(ref _failedReads);

    public void WriteFailed() => Interlocked.Increment(ref _failedWrites);

    public void FlushFailed() => Interlocked.Increment(ref _failedFlushes);
}
