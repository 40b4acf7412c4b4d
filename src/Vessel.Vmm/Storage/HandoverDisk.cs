using Vessel.Storage;

namespace Vessel.Vmm.Storage;

/// <summary>
/// A VM's disk that two VMM processes on the same storage can hand over to each other during a
/// migration, as QEMU inactivates and activates its images: the destination opens it inactive
/// (read-only, without the writer's lock, which the source still holds) and activates it once
/// the state is in; the source deactivates it (flushed, lock released) when its state is out,
/// and activates it again only if it is told to run on.
/// </summary>
/// <remarks>
/// The guest sees a writable disk the whole time. Switching happens only while the machine is
/// paused (no request in flight), so the image reference needs no lock, only a volatile read.
/// Reopening, not reusing, the image on activation matters: the other process changed the file,
/// and a qcow2 image's cached tables would be stale.
/// </remarks>
public sealed class HandoverDisk : IBlockDevice
{
    private readonly DriveConfiguration _drive;
    private volatile DiskImage _image;
    private volatile DiskDirtyLog? _dirtyLog;

    /// <param name="active">Open with the writer's lock now; false for a VM that waits for an incoming state.</param>
    public HandoverDisk(DriveConfiguration drive, bool active)
    {
        _drive = drive;
        _image = Open(active || drive.ReadOnly ? drive.ReadOnly : null);
        IsActive = active || drive.ReadOnly;
        Length = _image.Length;
    }

    /// <summary>The image as it is open now (snapshots and block operations act on it).</summary>
    public DiskImage Image => _image;

    /// <summary>The image file the drive was given.</summary>
    public string Path => _drive.Path;

    /// <summary>Whether this process owns the disk (its writer's lock, when it is writable).</summary>
    public bool IsActive { get; private set; }

    public long Length { get; }

    /// <summary>What the guest sees: the drive's own setting, whatever the current handle.</summary>
    public bool IsReadOnly => _drive.ReadOnly || (IsActive && _image.IsReadOnly);

    /// <summary>
    /// Takes the disk over: reopens it with the writer's lock, waiting up to
    /// <paramref name="patience"/> for the other process to let it go.
    /// </summary>
    /// <exception cref="VmmException">Another process still uses it (one sentence).</exception>
    public void Activate(TimeSpan patience)
    {
        if (IsActive)
        {
            return;
        }

        DateTime deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                DiskImage writable = Open(readOnly: false);
                DiskImage inactive = _image;
                _image = writable;
                inactive.Dispose();
                IsActive = true;
                return;
            }
            catch (ImageInUseException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            catch (ImageInUseException)
            {
                throw new VmmException($"the disk '{_drive.Path}' is in use by another VM (it was handed over to it)");
            }
        }
    }

    /// <summary>Lets the disk go to another process: flushed, reopened read-only without a lock.</summary>
    public void Deactivate()
    {
        if (!IsActive || _drive.ReadOnly)
        {
            return;
        }

        DiskImage active = _image;
        active.Flush();
        active.Dispose(); // releases the lock before the shared handle is taken
        _image = Open(readOnly: null);
        IsActive = false;
    }

    /// <summary>The guest's writes from now on are logged (block migration) until <see cref="StopDirtyLog"/>.</summary>
    public DiskDirtyLog StartDirtyLog() => _dirtyLog = new DiskDirtyLog(Length);

    public void StopDirtyLog() => _dirtyLog = null;

    /// <param name="readOnly">true/false: as asked, with the usual lock; null: read-only without any lock (inactive).</param>
    private DiskImage Open(bool? readOnly) => ImageOpener.Open(_drive.Path, new ImageOpenOptions
    {
        Format = _drive.Format,
        ReadOnly = readOnly ?? true,
        ForceShare = readOnly is null || _drive.ForceShare,
    });

    public void Read(long offset, Span<byte> buffer) => _image.Read(offset, buffer);

    // Marked after the change: a chunk sent before it is then sent again (DiskDirtyLog).
    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        _image.Write(offset, buffer);
        _dirtyLog?.Mark(offset, buffer.Length);
    }

    public void Flush() => _image.Flush();

    public void Discard(long offset, long length)
    {
        _image.Discard(offset, length);
        _dirtyLog?.Mark(offset, length);
    }

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        _image.WriteZeroes(offset, length, mayUnmap);
        _dirtyLog?.Mark(offset, length);
    }

    public void Dispose() => _image.Dispose();
}
