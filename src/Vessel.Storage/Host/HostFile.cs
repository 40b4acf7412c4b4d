using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vessel.Storage.Host;

/// <summary>
/// One image file on the host: positional reads and writes (pread/pwrite, no shared file
/// position, no allocation per call), durability, holes and QEMU-compatible locks. Every host
/// failure surfaces as a <see cref="StorageException"/> that names the file.
/// </summary>
internal sealed class HostFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private bool _punchHoleUnsupported;
    private bool _zeroRangeUnsupported;

    private long _endOfFile = -1;

    // Null outside crash tests: then every mutation pays one null check and nothing else.
    private readonly CrashPoint? _crashPoint;

    private HostFile(SafeFileHandle handle, string path, bool writable)
    {
        _handle = handle;
        Path = path;
        IsWritable = writable;
        _crashPoint = writable && CrashInjection.Active ? CrashInjection.Find(path) : null;
    }

    /// <summary>
    /// The file's size as this process knows it: read once, then moved by every write and resize
    /// made through this object (the image lock keeps other writers away). Everything at or past
    /// it reads as zeroes.
    /// </summary>
    public long EndOfFile
    {
        get
        {
            if (_endOfFile < 0)
            {
                _endOfFile = Length;
            }

            return _endOfFile;
        }
    }

    /// <summary>The path as the user gave it, for messages.</summary>
    public string Path { get; }

    public bool IsWritable { get; }

    /// <summary>Opens an existing image file, turning the usual host failures into one clear sentence each.</summary>
    public static HostFile Open(string path, bool writable, ImageLockMode lockMode)
    {
        if (Directory.Exists(path))
        {
            throw new StorageException($"'{path}' is a directory, not a disk image");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StorageException($"disk image '{path}' does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            if (writable && CanOpenReadOnly(path))
            {
                throw new StorageException($"disk image '{path}' is read-only on the host; open it read-only or change its permissions", e);
            }

            throw new StorageException($"permission denied opening disk image '{path}'", e);
        }
        catch (IOException e) when (e is not StorageException)
        {
            if (writable && CanOpenReadOnly(path))
            {
                throw new StorageException($"disk image '{path}' cannot be opened for writing ({e.Message.TrimEnd('.')}); open it read-only", e);
            }

            throw new StorageException($"cannot open disk image '{path}': {e.Message.TrimEnd('.')}", e);
        }

        var file = new HostFile(handle, path, writable);
        try
        {
            ImageLock.Acquire(file._handle, path, lockMode);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return file;
    }

    /// <summary>Creates (or truncates) an image file for writing; it is locked as a writer.</summary>
    public static HostFile Create(string path)
    {
        SafeFileHandle handle;
        try
        {
            // Not FileMode.Create: the file must not be truncated before we know nobody uses it.
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is DirectoryNotFoundException)
        {
            throw new StorageException($"cannot create disk image '{path}': its directory does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            // .NET reports a directory in the way as a permission problem.
            throw new StorageException(
                Directory.Exists(path) ? $"cannot create disk image '{path}': it is a directory" : $"permission denied creating disk image '{path}'", e);
        }
        catch (IOException e) when (e is not StorageException)
        {
            throw new StorageException($"cannot create disk image '{path}': {e.Message.TrimEnd('.')}", e);
        }

        var file = new HostFile(handle, path, writable: true);
        try
        {
            ImageLock.Acquire(file._handle, path, ImageLockMode.Exclusive);
            file.SetLength(0);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return file;
    }

    private static bool CanOpenReadOnly(string path)
    {
        try
        {
            using SafeFileHandle probe = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public long Length
    {
        get
        {
            try
            {
                return RandomAccess.GetLength(_handle);
            }
            catch (IOException e)
            {
                throw Failure("reading the size of", e);
            }
        }
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes; returns how many were read (fewer only at end of file).</summary>
    public int Read(long offset, Span<byte> buffer)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int n = RandomAccess.Read(_handle, buffer[total..], offset + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (IOException e)
        {
            throw Failure("reading", e);
        }

        return total;
    }

    /// <summary>Reads <c>buffer.Length</c> bytes; the part past the end of the file reads as zeroes.</summary>
    public void ReadZeroPadded(long offset, Span<byte> buffer)
    {
        int n = Read(offset, buffer);
        if (n < buffer.Length)
        {
            buffer[n..].Clear();
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_crashPoint is not null)
        {
            BeforeMutation(offset, data.Length);
        }

        try
        {
            RandomAccess.Write(_handle, data, offset);
            if (_endOfFile >= 0 && offset + data.Length > _endOfFile)
            {
                _endOfFile = offset + data.Length;
            }
        }
        catch (IOException e)
        {
            throw Failure("writing", e);
        }

        _crashPoint?.AfterMutation();
    }

    public void SetLength(long length)
    {
        if (_crashPoint is not null)
        {
            long current = Length;
            // A truncation's record starts at the new length (what it drops lies past it).
            BeforeMutation(length, Math.Max(0, current - length), isTruncation: true);
        }

        try
        {
            RandomAccess.SetLength(_handle, length);
            _endOfFile = length;
        }
        catch (IOException e)
        {
            throw Failure("resizing", e);
        }

        _crashPoint?.AfterMutation();
    }

    /// <summary>
    /// qemu's cache=unsafe: flushes are skipped, data reaches the disk whenever the host writes it
    /// back. Only for scratch files (a conversion target that is discarded if anything fails).
    /// </summary>
    public bool UnsafeCache { get; set; }

    /// <summary>Makes every write so far durable (fdatasync): a flush barrier.</summary>
    public void DataSync()
    {
        if (UnsafeCache)
        {
            return;
        }

        _crashPoint?.Barrier();
        if (LibC.FDataSync(_handle) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EINVAL)
            {
                throw new StorageException($"flushing disk image '{Path}' to stable storage failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
    }

    /// <summary>Frees the host storage of a range (it then reads as zeroes); false when the file system cannot.</summary>
    public bool PunchHole(long offset, long length) =>
        TryFallocate(LibC.FallocPunchHole | LibC.FallocKeepSize, offset, length, ref _punchHoleUnsupported, "freeing space in");

    /// <summary>Reserves host storage for a range (fallocate); the file grows to cover it.</summary>
    public void Allocate(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        if (_crashPoint is not null)
        {
            BeforeMutation(offset, length);
        }

        if (LibC.FAllocate(_handle, 0, offset, length) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new StorageException($"reserving space in disk image '{Path}' failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        if (_endOfFile >= 0 && offset + length > _endOfFile)
        {
            _endOfFile = offset + length;
        }

        _crashPoint?.AfterMutation();
    }

    /// <summary>Makes a range read as zeroes without writing them; false when the file system cannot.</summary>
    public bool ZeroRange(long offset, long length) =>
        TryFallocate(LibC.FallocZeroRange | LibC.FallocKeepSize, offset, length, ref _zeroRangeUnsupported, "zeroing a range of");

    /// <summary>
    /// An fallocate mode that some file systems lack: false (and never tried again on this file)
    /// when this one does not support it, so the caller falls back to writing.
    /// </summary>
    private bool TryFallocate(int mode, long offset, long length, ref bool unsupported, string doing)
    {
        if (unsupported || length <= 0)
        {
            return false;
        }

        if (_crashPoint is not null)
        {
            BeforeMutation(offset, length);
        }

        if (LibC.FAllocate(_handle, mode, offset, length) == 0)
        {
            _crashPoint?.AfterMutation();
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is LibC.EOPNOTSUPP or LibC.EINVAL)
        {
            unsupported = true;
            return false;
        }

        throw new StorageException($"{doing} disk image '{Path}' failed: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>
    /// Finds the next data region at or after <paramref name="offset"/> (SEEK_DATA/SEEK_HOLE).
    /// Returns false when the file system cannot tell, in which case everything counts as data.
    /// </summary>
    public bool TryFindData(long offset, out long dataStart, out long dataEnd)
    {
        dataStart = LibC.LSeek(_handle, offset, LibC.SeekData);
        if (dataStart < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.ENXIO)
            {
                // No data after offset: the rest of the file is a hole.
                dataStart = dataEnd = long.MaxValue;
                return true;
            }

            dataEnd = 0;
            return false;
        }

        dataEnd = LibC.LSeek(_handle, dataStart, LibC.SeekHole);
        if (dataEnd < 0)
        {
            return false;
        }

        return true;
    }

    /// <summary>Bytes the file really occupies on the host (st_blocks * 512), as qemu-img's "disk size".</summary>
    public long AllocatedBytes() => AllocatedBytes(_handle) ?? Length;

    /// <summary>Bytes an open file really occupies on the host (holes not counted), or null when the host cannot tell.</summary>
    public static unsafe long? AllocatedBytes(SafeFileHandle handle)
    {
        byte* stat = stackalloc byte[LibC.StatBufferSize];
        try
        {
            // Safe: the buffer is larger than struct stat on every LP64 Linux ABI and lives for the call.
            if (LibC.FStat(handle, stat) == 0)
            {
                return *(long*)(stat + LibC.StatBlocksOffset) * 512;
            }
        }
        catch (EntryPointNotFoundException)
        {
        }

        return null;
    }

    /// <summary>
    /// Test-only (see <see cref="CrashPoint"/>): dies here if the crash point is reached, and in
    /// power-loss mode remembers what the mutation of [offset, offset+length) will overwrite.
    /// </summary>
    private void BeforeMutation(long offset, long length, bool isTruncation = false)
    {
        CrashPoint point = _crashPoint!;
        point.BeforeMutation();
        if (point.Mode != CrashMode.Kill)
        {
            long current = Length;
            var old = new byte[Math.Max(0, Math.Min(offset + length, current) - offset)];
            Read(offset, old);
            point.Unsynced.Add(new UnsyncedMutation(this, offset, length, old, current, isTruncation));
        }
    }

    /// <summary>Test-only: what a mutation left in its range (to do it again after the undo).</summary>
    internal byte[] ReadAfter(UnsyncedMutation m)
    {
        var after = new byte[Math.Max(0, Math.Min(m.Offset + m.Length, Length) - m.Offset)];
        Read(m.Offset, after);
        return after;
    }

    /// <summary>Test-only: puts back what a lost mutation overwrote (bypassing the crash point).</summary>
    internal void Undo(UnsyncedMutation m)
    {
        if (m.OldBytes.Length > 0)
        {
            RandomAccess.Write(_handle, m.OldBytes, m.Offset);
        }

        RandomAccess.SetLength(_handle, m.OldLength);
    }

    /// <summary>Test-only: does a mutation again on the state of the last barrier.</summary>
    internal void Redo(UnsyncedMutation m, byte[] after)
    {
        if (m.IsTruncation)
        {
            RandomAccess.SetLength(_handle, m.Offset);
            return;
        }

        // A hole reads as zeroes, so writing what the range held afterwards has the same effect.
        RandomAccess.Write(_handle, after, m.Offset);
    }

    private StorageException Failure(string what, IOException e) =>
        new($"{what} disk image '{Path}' failed: {e.Message.TrimEnd('.')}", e);

    public void Dispose() => _handle.Dispose();
}
