using System.Buffers;
using System.Buffers.Binary;
using Vessel.Storage.Host;
using Vessel.Storage.Qcow2.Compression;
using Vessel.Storage.Qcow2.Snapshots;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// A qcow2 image (versions 2 and 3), read and written per QEMU's docs/interop/qcow2.rst.
///
/// The class is split by concern: this file opens the image and keeps metadata on disk in a
/// crash-safe order; <c>Qcow2Image.Read.cs</c>, <c>.Write.cs</c>, <c>.Zero.cs</c>,
/// <c>.Compressed.cs</c>, <c>.Status.cs</c>, <c>.Snapshots.cs</c>, <c>.VmState.cs</c> and <c>.Resize.cs</c> do the rest.
///
/// Ordering rules (what makes a process killed at any moment leave at worst leaked clusters):
/// data is written before the L2 entry that points at it; a refcount increase reaches the disk
/// before the L2/L1 entry that uses the cluster (a barrier between them unless lazy refcounts
/// are on); L2 tables reach the disk before the L1 entries pointing at them; refcount decreases
/// are deferred until the tables that stopped referencing the clusters are on disk, so a freed
/// cluster is never reused while the on-disk metadata still points at it.
/// </summary>
public sealed partial class Qcow2Image : DiskImage
{
    private const long MaxDefaultL2CacheBytes = 32L * 1024 * 1024;
    private const int MaxCacheTables = 4096;
    private const int MaxDeferredFrees = 4096;

    private readonly HostFile _file;
    private readonly Qcow2Header _header;
    private readonly Qcow2Geometry _g;
    private readonly TableCache _l2Cache;
    private readonly Lock _lock = new();
    private List<(long Offset, long Length)> _deferredFrees = [];
    private List<(long Offset, long Length)> _applyingFrees = [];
    private readonly List<long> _freedClusters = [];
    private readonly byte[] _cowBuffer;
    private readonly byte[] _tableBuffer;
    private Refcounts _refcounts;
    private DiskImage? _backing;
    private ulong[] _l1;
    private int _l1DirtyMin = int.MaxValue;
    private int _l1DirtyMax = -1;
    private List<Qcow2Snapshot> _snapshots;
    private bool _corrupt;
    private bool _markedDirty;
    private bool _disposed;
    private readonly int _refcountCacheTables;

    private Qcow2Image(HostFile file, string path, bool readOnly, Qcow2Header header, long fileLength, ImageOpenOptions options)
        : base(path, readOnly)
    {
        _file = file;
        _header = header;
        _g = new Qcow2Geometry(header.ClusterBits, header.HasExtendedL2, header.RefcountOrder);
        _corrupt = header.IsCorrupt;

        long l2Bytes = options.L2CacheBytes > 0
            ? options.L2CacheBytes
            : Math.Min(MaxDefaultL2CacheBytes, Math.Max(1, _g.L1EntriesFor((long)header.Size)) * (long)_g.ClusterSize);
        int l2Tables = (int)Math.Clamp(l2Bytes / _g.ClusterSize, 4, MaxCacheTables);
        _l2Cache = new TableCache(file, _g.ClusterSize, l2Tables);
        _refcountCacheTables = Math.Max(4, l2Tables / 4);
        _refcounts = CreateRefcounts();
        _l2Cache.BeforeWriteBack = BeforeL2WriteBack;
        _cowBuffer = new byte[_g.ClusterSize];
        _tableBuffer = new byte[_g.ClusterSize];
        _l1 = ReadL1((long)header.L1TableOffset, header.L1Size);
        _snapshots = header.SnapshotCount == 0 ? [] : SnapshotTable.Read(file, header, _g, path, fileLength, out _snapshotTableBytes);
    }

    public override ImageFormat Format => ImageFormat.Qcow2;

    public override long Length => (long)_header.Size;

    public override DiskImage? Backing => _backing;

    public override long AllocatedBytes => _file.AllocatedBytes();

    public override bool SupportsCompressedWrites => true;

    public override int AllocationUnit => _g.ClusterSize;

    public int ClusterSize => _g.ClusterSize;

    /// <summary>2 for compat=0.10 images, 3 for compat=1.1.</summary>
    public int Version => _header.Version;

    public int RefcountBits => _g.RefcountBits;

    public bool HasExtendedL2 => _g.ExtendedL2;

    public bool HasLazyRefcounts => _header.HasLazyRefcounts;

    public bool IsCorrupt => _corrupt;

    /// <summary>Whether the dirty bit was set on disk when the image was opened (or is set now).</summary>
    public bool IsDirty => _header.IsDirty;

    public string CompressionTypeName => _header.CompressionType == Qcow2CompressionType.Zstd ? "zstd" : "zlib";

    /// <summary>The backing file name as stored in the header (unresolved), if any.</summary>
    public string? BackingFileName => _header.BackingFile;

    /// <summary>The backing format as stored in the header extension, if any.</summary>
    public string? BackingFormatName => _header.BackingFormat;

    /// <summary>The backing file path as Vessel resolves it (relative to this image's directory).</summary>
    public string? ResolvedBackingPath => _header.BackingFile is null ? null : ResolveBackingPath(Path, _header.BackingFile);

    public IReadOnlyList<SnapshotInfo> Snapshots
    {
        get
        {
            lock (_lock)
            {
                return _snapshots.Select(s => s.ToInfo()).ToList();
            }
        }
    }

    internal Qcow2Header Header => _header;

    internal Qcow2Geometry Geometry => _g;

    internal HostFile File => _file;

    internal Lock SyncRoot => _lock;

    /// <summary>
    /// Opens a qcow2 image on an already opened (and locked) file. <paramref name="openBacking"/>
    /// opens the backing image given its resolved path and its format (null to detect).
    /// </summary>
    internal static Qcow2Image Open(HostFile file, string path, ImageOpenOptions options, bool formatWasProbed, Func<string, ImageFormat?, DiskImage>? openBacking)
    {
        long fileLength = file.Length;
        Span<byte> start = stackalloc byte[Qcow2Header.Version3MinHeaderLength];
        int got = file.Read(0, start);
        if (got < Qcow2Header.Version2HeaderLength)
        {
            throw new StorageException($"'{path}' is not a qcow2 image (it is too short)");
        }

        int clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(start[20..]);
        int headerBytes = (int)Math.Min(fileLength, clusterBits is >= Qcow2Header.MinClusterBits and <= Qcow2Header.MaxClusterBits ? 1 << clusterBits : got);
        var headerCluster = new byte[headerBytes];
        file.Read(0, headerCluster);
        Qcow2Header header;
        try
        {
            header = Qcow2Header.Parse(headerCluster, path, fileLength);
        }
        catch (ImageCorruptException e) when (formatWasProbed)
        {
            // The file starts like qcow2 but is not valid qcow2: it may be a raw disk holding such bytes.
            throw new ImageCorruptException($"{e.Message}; if '{path}' is a raw disk image, open it with format=raw");
        }
        bool readOnly = options.ReadOnly;
        if (!readOnly && header.IsCorrupt && !options.AllowCorrupt)
        {
            throw new ImageCorruptException($"qcow2 image '{path}' is marked corrupt; open it read-only, or repair it with 'vessel img check -r all'");
        }

        var image = new Qcow2Image(file, path, readOnly, header, fileLength, options);
        try
        {
            if (header.BackingFile is not null && options.OpenBacking)
            {
                if (openBacking is null)
                {
                    throw new InvalidOperationException("a backing opener is required");
                }

                ImageFormat? backingFormat = header.BackingFormat is null ? null : ParseBackingFormat(path, header.BackingFormat);
                image._backing = openBacking(ResolveBackingPath(path, header.BackingFile), backingFormat);
            }

            if (!readOnly)
            {
                image.PrepareForWriting(options);
            }
        }
        catch
        {
            image.DisposeWithoutFlush();
            throw;
        }

        return image;
    }

    private static ImageFormat ParseBackingFormat(string path, string name)
    {
        try
        {
            return ImageFormats.Parse(name);
        }
        catch (StorageException)
        {
            throw new StorageException($"the backing file of '{path}' has format '{name}', which Vessel does not support");
        }
    }

    /// <summary>
    /// Where QEMU looks for a backing file: an absolute name as is, a relative one relative to the
    /// directory of the image that names it (not the current directory).
    /// </summary>
    public static string ResolveBackingPath(string imagePath, string backingName)
    {
        if (backingName.Contains("://", StringComparison.Ordinal) || backingName.StartsWith("json:", StringComparison.Ordinal))
        {
            throw new StorageException($"the backing file '{backingName}' of '{imagePath}' uses a protocol Vessel does not support");
        }

        if (System.IO.Path.IsPathRooted(backingName))
        {
            return backingName;
        }

        string? directory = System.IO.Path.GetDirectoryName(imagePath);
        return string.IsNullOrEmpty(directory) ? backingName : System.IO.Path.Combine(directory, backingName);
    }

    private Refcounts CreateRefcounts() =>
        new(_file, _g, _header, Path, _file.EndOfFile, _refcountCacheTables) { ClusterFreed = OnClusterFreed };

    private void PrepareForWriting(ImageOpenOptions options)
    {
        // Unknown autoclear features (and bitmaps, which Vessel does not keep up to date) must be
        // cleared before the first write, so that their owners know the data went stale.
        if (_header.Version >= 3 && _header.AutoclearFeatures != 0 && !options.OpenForRepair)
        {
            _header.AutoclearFeatures = 0;
            WriteHeaderUInt64(Qcow2Header.AutoclearFeaturesOffset, 0);
            _file.DataSync();
        }

        if (_header.IsDirty && !options.OpenForRepair)
        {
            // Refcounts may be stale after a crash with lazy refcounts: rebuild them first.
            Qcow2Check.Run(this, CheckRepair.All);
            SetIncompatibleBit(Qcow2Features.Dirty, false);
        }

        _refcounts.Lazy = _header.HasLazyRefcounts;
    }

    private ulong[] ReadL1(long offset, uint size)
    {
        var l1 = new ulong[size];
        if (size == 0)
        {
            return l1;
        }

        var raw = new byte[size * 8L];
        _file.ReadZeroPadded(offset, raw);
        for (int i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return l1;
    }

    /// <summary>Upper bound of valid host offsets: the file, plus clusters allocated but not yet written.</summary>
    private long HostBound => Math.Max(FileEnd, _refcounts.AllocatedEnd);

    /// <summary>End of the host file: everything past it reads as zeroes.</summary>
    private long FileEnd => _file.EndOfFile;

    // ---- metadata ordering ------------------------------------------------------------------

    /// <summary>Before a dirty L2 table goes to disk: the file covers every allocated cluster and refcounts are durable.</summary>
    private void BeforeL2WriteBack()
    {
        EnsureFileCoversAllocations();
        if (_refcounts.WriteBack() && !_refcounts.Lazy)
        {
            _file.DataSync();
        }
    }

    private void EnsureFileCoversAllocations()
    {
        long end = _refcounts.AllocatedEnd;
        if (end > FileEnd)
        {
            _file.SetLength(end);
        }
    }

    /// <summary>Writes all cached metadata in dependency order and applies deferred frees (no final sync).</summary>
    private void FlushMetadata()
    {
        if (IsReadOnly)
        {
            return;
        }

        EnsureFileCoversAllocations();
        bool wroteRefcounts = _refcounts.WriteBack();
        if (_l2Cache.HasDirty || _l1DirtyMax >= 0)
        {
            if (wroteRefcounts && !_refcounts.Lazy)
            {
                _file.DataSync();
            }

            bool wroteL2 = _l2Cache.WriteBack();
            if (_l1DirtyMax >= 0)
            {
                if (wroteL2 && !_refcounts.Lazy)
                {
                    _file.DataSync();
                }

                WriteL1Range(_l1DirtyMin, _l1DirtyMax);
            }
        }

        ApplyDeferredFrees();
    }

    private void ApplyDeferredFrees()
    {
        if (_deferredFrees.Count == 0)
        {
            return;
        }

        // The tables that stopped pointing at these clusters must be durable before the clusters
        // can be reused.
        _file.DataSync();
        _freedClusters.Clear();

        // Taken off the list before applying: should a free fail half-way, the rest become leaks,
        // never a second decrement.
        (_deferredFrees, _applyingFrees) = (_applyingFrees, _deferredFrees);
        _deferredFrees.Clear();
        foreach ((long offset, long length) in _applyingFrees)
        {
            _refcounts.Free(offset, length);
        }

        _applyingFrees.Clear();

        PunchFreedClusters();
        _refcounts.WriteBack();
    }

    /// <summary>Frees a cluster range once the metadata that referenced it is on disk.</summary>
    private void DeferFree(long offset, long length)
    {
        _deferredFrees.Add((offset, length));
    }

    private void FlushIfTooManyDeferredFrees()
    {
        if (_deferredFrees.Count >= MaxDeferredFrees)
        {
            FlushMetadata();
        }
    }

    private void OnClusterFreed(long cluster)
    {
        long offset = cluster << _g.ClusterBits;
        _l2Cache.Drop(offset);
        _decompressedValid = false;
        _freedClusters.Add(cluster);
    }

    /// <summary>
    /// Gives the host the space of clusters that became free, in contiguous runs. Only clusters
    /// still free now are punched: one freed earlier may have been allocated again since.
    /// </summary>
    private void PunchFreedClusters()
    {
        if (_freedClusters.Count == 0)
        {
            return;
        }

        _freedClusters.Sort();
        long fileEnd = FileEnd;
        long runStart = -1;
        long runEnd = -1;
        foreach (long cluster in _freedClusters)
        {
            if (cluster < runEnd || _refcounts.Get(cluster) != 0)
            {
                continue;
            }

            if (cluster != runEnd)
            {
                PunchRun(runStart, runEnd, fileEnd);
                runStart = cluster;
            }

            runEnd = cluster + 1;
        }

        PunchRun(runStart, runEnd, fileEnd);
        _freedClusters.Clear();
    }

    private void PunchRun(long startCluster, long endCluster, long fileEnd)
    {
        if (startCluster < 0)
        {
            return;
        }

        long offset = startCluster << _g.ClusterBits;
        if (offset < fileEnd)
        {
            _file.PunchHole(offset, Math.Min(endCluster << _g.ClusterBits, fileEnd) - offset);
        }
    }

    private void MarkL1Dirty(long index)
    {
        _l1DirtyMin = (int)Math.Min(_l1DirtyMin, index);
        _l1DirtyMax = (int)Math.Max(_l1DirtyMax, index);
    }

    private void WriteL1Range(int first, int last)
    {
        int count = last - first + 1;
        byte[] raw = ArrayPool<byte>.Shared.Rent(count * 8);
        try
        {
            for (int i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), _l1[first + i]);
            }

            _file.Write((long)_header.L1TableOffset + (first * 8L), raw.AsSpan(0, count * 8));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }

        _l1DirtyMin = int.MaxValue;
        _l1DirtyMax = -1;
    }

    private void WriteHeaderUInt64(int offset, ulong value)
    {
        Span<byte> field = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(field, value);
        _file.Write(offset, field);
    }

    private void SetIncompatibleBit(ulong bit, bool set)
    {
        if (_header.Version < 3)
        {
            return;
        }

        ulong updated = set ? _header.IncompatibleFeatures | bit : _header.IncompatibleFeatures & ~bit;
        if (updated == _header.IncompatibleFeatures)
        {
            return;
        }

        _header.IncompatibleFeatures = updated;
        WriteHeaderUInt64(Qcow2Header.IncompatibleFeaturesOffset, updated);
        _file.DataSync();
    }

    /// <summary>Lazy refcounts: the image is marked dirty before the first write, so a crash is repaired on open.</summary>
    private void MarkDirtyForLazyRefcounts()
    {
        if (_refcounts.Lazy && !_markedDirty)
        {
            SetIncompatibleBit(Qcow2Features.Dirty, true);
            _markedDirty = true;
        }
    }

    /// <summary>
    /// Records that the image is corrupt: sets the corrupt bit (when writable) so that no one
    /// writes to it again before a repair, and returns the exception to throw.
    /// </summary>
    private ImageCorruptException Corruption(string reason)
    {
        MarkCorrupt();
        return Qcow2Header.Corrupt(Path, reason + (IsReadOnly || _header.Version < 3 ? string.Empty : "; it has been marked corrupt"));
    }

    private void MarkCorrupt()
    {
        if (_corrupt || IsReadOnly)
        {
            _corrupt = true;
            return;
        }

        _corrupt = true;
        try
        {
            SetIncompatibleBit(Qcow2Features.Corrupt, true);
        }
        catch (StorageException)
        {
            // The image is unusable anyway; the original error is the one to report.
        }
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsReadOnly)
        {
            throw new StorageException($"disk image '{Path}' is open read-only");
        }

        if (_corrupt)
        {
            throw new ImageCorruptException($"qcow2 image '{Path}' is marked corrupt; repair it with 'vessel img check -r all' before writing to it");
        }

        MarkDirtyForLazyRefcounts();
    }

    /// <summary>Runs an operation under the image lock, marking the image corrupt if it finds corruption.</summary>
    private void Guarded(Action action)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                action();
            }
            catch (ImageCorruptException)
            {
                MarkCorrupt();
                throw;
            }
        }
    }

    public override void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (IsReadOnly)
            {
                return;
            }

            FlushMetadata();
            _file.DataSync();
        }
    }

    /// <summary>Checks that a host range about to receive data overlaps no metadata Vessel knows of.</summary>
    private void CheckDataTarget(long hostOffset, long length)
    {
        long cs = _g.ClusterSize;
        if (hostOffset < cs)
        {
            throw Corruption($"a data write to 0x{hostOffset:x} would overwrite the header");
        }

        if (Overlaps(hostOffset, length, (long)_header.L1TableOffset, _l1.Length * 8L))
        {
            throw Corruption($"a data write to 0x{hostOffset:x} would overwrite the active L1 table");
        }

        if (Overlaps(hostOffset, length, _refcounts.TableOffset, (long)_refcounts.TableClusters * cs))
        {
            throw Corruption($"a data write to 0x{hostOffset:x} would overwrite the refcount table");
        }

        if (_header.SnapshotCount > 0 && Overlaps(hostOffset, length, (long)_header.SnapshotsOffset, cs))
        {
            throw Corruption($"a data write to 0x{hostOffset:x} would overwrite the snapshot table");
        }

        for (long c = hostOffset & ~_g.ClusterMask; c < hostOffset + length; c += cs)
        {
            if (_l2Cache.Contains(c) || _refcounts.IsCachedBlock(c))
            {
                throw Corruption($"a data write to 0x{c:x} would overwrite an L2 table or refcount block");
            }
        }
    }

    private static bool Overlaps(long start, long length, long otherStart, long otherLength) =>
        otherLength > 0 && start < otherStart + otherLength && otherStart < start + length;

    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                if (_vmStateWriter is { } unfinished)
                {
                    DiscardVmState(unfinished);
                }

                if (!IsReadOnly && !_corrupt)
                {
                    FlushMetadata();
                    _file.DataSync();
                    if (_markedDirty)
                    {
                        SetIncompatibleBit(Qcow2Features.Dirty, false);
                    }
                }
            }
            finally
            {
                DisposeWithoutFlush();
            }
        }
    }

    private void DisposeWithoutFlush()
    {
        _disposed = true;
        _codec?.Dispose();
        _file.Dispose();
        _backing?.Dispose();
    }
}
