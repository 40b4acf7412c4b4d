namespace Vessel.Storage.Qcow2;

/// <summary>Changing what the image sits on: the header's backing file name and format, emptying for commit.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Rewrites the header with a new backing file name and format (null: none). The header
    /// cluster is written in one piece; the content of the image is not touched.
    /// </summary>
    public void SetBackingFile(string? backingName, ImageFormat? backingFormat)
    {
        Guarded(() =>
        {
            EnsureWritable();
            FlushMetadata();
            string? oldName = _header.BackingFile;
            string? oldFormat = _header.BackingFormat;
            _header.BackingFile = string.IsNullOrEmpty(backingName) ? null : backingName;
            _header.BackingFormat = _header.BackingFile is null || backingFormat is null ? null : ImageFormats.Name(backingFormat.Value);
            var cluster = new byte[_g.ClusterSize];
            try
            {
                _header.Serialize(cluster, Path);
            }
            catch
            {
                _header.BackingFile = oldName;
                _header.BackingFormat = oldFormat;
                throw;
            }

            _file.Write(0, cluster);
            _file.DataSync();
        });
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
