namespace Vessel.Vmm.Storage;

/// <summary>
/// Which chunks of a disk the guest changed since they were last taken: one bit per
/// <see cref="ChunkSize"/> bytes, set after the write (so a chunk read for sending before the
/// write lands is marked again and sent again). Block migration takes the bits round by round.
/// </summary>
public sealed class DiskDirtyLog
{
    public const int ChunkSize = 1 << 20;

    private readonly ulong[] _bits;

    public DiskDirtyLog(long diskLength)
    {
        ChunkCount = (diskLength + ChunkSize - 1) / ChunkSize;
        _bits = new ulong[(ChunkCount + 63) / 64];
    }

    public long ChunkCount { get; }

    /// <summary>The words a caller's bitmap needs (<see cref="TakeInto"/>).</summary>
    public int Words => _bits.Length;

    /// <summary>Marks every chunk that <paramref name="offset"/> … + <paramref name="length"/> touches.</summary>
    public void Mark(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        long first = offset / ChunkSize;
        long last = Math.Min((offset + length - 1) / ChunkSize, ChunkCount - 1);
        for (long chunk = first; chunk <= last; chunk++)
        {
            Interlocked.Or(ref _bits[chunk >> 6], 1UL << (int)(chunk & 63));
        }
    }

    /// <summary>Moves the marked chunks into <paramref name="pending"/> (or-ed in) and returns how many were marked.</summary>
    public long TakeInto(ulong[] pending)
    {
        long count = 0;
        for (int i = 0; i < _bits.Length; i++)
        {
            ulong word = Interlocked.Exchange(ref _bits[i], 0);
            pending[i] |= word;
            count += (long)ulong.PopCount(word);
        }

        return count;
    }
}
