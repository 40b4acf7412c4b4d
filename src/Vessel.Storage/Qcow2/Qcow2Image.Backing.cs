namespace Vessel.Storage.Qcow2;

/// <summary>Changing what the image sits on: the header's backing file name and format, emptying for commit.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Disks promise that a 512-byte sector is written whole or not at all, nothing more: a
    /// header update is safe under power loss only if its commit is one write within the first
    /// sector, made after everything it points at beyond that sector is durable.
    /// </summary>
    private const int AtomicSector = 512;

    /// <summary>
    /// Changes the backing file name and format (null: none) without touching the content of the
    /// image. The new name goes into bytes the current header does not use and is synced first;
    /// then the first sector, which holds the name's offset and length and the backing format
    /// extension, switches to it in one write. When the current header leaves no such room (its
    /// extensions run past the first sector, or its name sits where the new layout needs bytes),
    /// an intermediate header with the same meaning is committed first that keeps its extensions
    /// within the first sector by leaving out the optional feature name table (and moves the old
    /// name there too when it fits).
    /// </summary>
    public void SetBackingFile(string? backingName, ImageFormat? backingFormat)
    {
        Guarded(() =>
        {
            EnsureWritable();
            FlushMetadata();
            string? oldName = _header.BackingFile;
            string? oldFormat = _header.BackingFormat;
            string? newName = string.IsNullOrEmpty(backingName) ? null : backingName;
            string? newFormat = newName is null || backingFormat is null ? null : ImageFormats.Name(backingFormat.Value);
            if (newName is not null && System.Text.Encoding.UTF8.GetByteCount(newName) > Qcow2Header.MaxBackingFileNameLength)
            {
                throw new StorageException($"the backing file name '{newName}' is longer than {Qcow2Header.MaxBackingFileNameLength} bytes");
            }

            var current = new byte[_g.ClusterSize];
            _file.ReadZeroPadded(0, current);
            try
            {
                byte[]? target = SafeHeaderUpdate(current, newName, newFormat);
                if (target is null)
                {
                    // Same meaning as now with the extensions within the first sector, and the
                    // name moved there too if it fits (then everything past it is free), or left
                    // where it is.
                    HeaderLayout now = Qcow2Header.ReadLayout(current);
                    byte[]? compact = HeaderWithin(current, oldName, oldFormat, featureTable: false, nameOffset: -1);
                    byte[]? intermediate = compact is not null && IsSafeUpdate(current, now, compact)
                        ? compact
                        : HeaderWithin(current, oldName, oldFormat, featureTable: false, now.NameOffset);
                    if (intermediate is null || !IsSafeUpdate(current, now, intermediate))
                    {
                        throw new StorageException($"the header of '{Path}' has no room for backing file name '{newName}'");
                    }

                    CommitHeader(current, intermediate);
                    current = intermediate;
                    target = SafeHeaderUpdate(current, newName, newFormat)
                        ?? throw new StorageException($"the header of '{Path}' has no room for backing file name '{newName}'");
                }

                CommitHeader(current, target);
            }
            finally
            {
                // Building layouts sets the header's backing fields: until the commit succeeded,
                // the disk still holds the old ones.
                _header.BackingFile = oldName;
                _header.BackingFormat = oldFormat;
            }

            _header.BackingFile = newName;
            _header.BackingFormat = newFormat;
        });
    }

    /// <summary>
    /// The first header with the new backing file that can replace <paramref name="current"/>
    /// safely (see <see cref="IsSafeUpdate"/>), trying layouts from the most complete one (with
    /// the feature name table, the name right after the extensions) to the most compact; null
    /// when none can.
    /// </summary>
    private byte[]? SafeHeaderUpdate(byte[] current, string? name, string? format)
    {
        HeaderLayout now = Qcow2Header.ReadLayout(current);
        int nameLength = name is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(name);
        var offsets = new List<int> { -1, now.ExtensionsEnd, now.NameOffset + now.NameLength, current.Length - nameLength, AtomicSector };
        foreach (bool featureTable in (ReadOnlySpan<bool>)[true, false])
        {
            foreach (int offset in offsets)
            {
                int aligned = offset < 0 ? offset : (offset + 7) & ~7;
                if (offset >= 0 && aligned + nameLength > current.Length)
                {
                    aligned = offset;
                }

                byte[]? candidate = HeaderWithin(current, name, format, featureTable, aligned);
                if (candidate is not null && IsSafeUpdate(current, now, candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="current"/> with the meaningful bytes of a header for the given backing file
    /// written over it (free bytes keep their old content, so they do not count as changed); null
    /// if that layout does not fit in the cluster.
    /// </summary>
    private byte[]? HeaderWithin(byte[] current, string? name, string? format, bool featureTable, int nameOffset)
    {
        _header.BackingFile = name;
        _header.BackingFormat = format;
        var scratch = new byte[current.Length];
        HeaderLayout layout;
        try
        {
            layout = _header.Serialize(scratch, Path, featureTable, nameOffset);
        }
        catch (StorageException)
        {
            // This layout does not fit in the cluster; a more compact one may.
            return null;
        }

        byte[] result = (byte[])current.Clone();
        scratch.AsSpan(0, layout.ExtensionsEnd).CopyTo(result);
        scratch.AsSpan(layout.NameOffset, layout.NameLength).CopyTo(result.AsSpan(layout.NameOffset));
        return result;
    }

    /// <summary>
    /// Whether <paramref name="target"/> can replace <paramref name="current"/> by first writing
    /// what changes past the first sector and then the first sector: true when none of those
    /// changed bytes is one the current header uses, so until the first sector switches, a reader
    /// still sees the current header whole.
    /// </summary>
    private static bool IsSafeUpdate(byte[] current, HeaderLayout now, byte[] target)
    {
        int sector = Math.Min(AtomicSector, current.Length);
        for (int i = sector; i < current.Length; i++)
        {
            if (current[i] != target[i] && now.Covers(i))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes a header chosen by <see cref="SafeHeaderUpdate"/>: the tail, a barrier, then the first sector and a barrier.</summary>
    private void CommitHeader(byte[] current, byte[] target)
    {
        int sector = Math.Min(AtomicSector, current.Length);
        int first = sector;
        while (first < current.Length && current[first] == target[first])
        {
            first++;
        }

        if (first < current.Length)
        {
            int last = current.Length - 1;
            while (current[last] == target[last])
            {
                last--;
            }

            _file.Write(first, target.AsSpan(first, last - first + 1));
            _file.DataSync();
        }

        if (!current.AsSpan(0, sector).SequenceEqual(target.AsSpan(0, sector)))
        {
            _file.Write(0, target.AsSpan(0, sector));
            _file.DataSync();
        }
    }

    /// <summary>Unmaps every cluster so that the whole disk reads from the backing file again (after a commit).</summary>
    public void MakeEmpty()
    {
        Guarded(() =>
        {
            EnsureWritable();
            if (_snapshots.Count > 0)
            {
                throw new StorageException($"cannot empty '{Path}' while it has internal snapshots");
            }

            long end = RoundUpToCluster(Length);
            for (long position = 0; position < end;)
            {
                position += DropClusters(position, end);
            }

            FlushMetadata();
            _file.DataSync();
            PunchFreedClusters();
        });
    }
}
