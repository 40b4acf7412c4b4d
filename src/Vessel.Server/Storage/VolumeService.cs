using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;
using Vessel.Storage;
using Vessel.Storage.Operations;
using Vessel.Storage.Qcow2;

namespace Vessel.Server.Storage;

/// <summary>A volume operation that cannot be done; the message is one sentence.</summary>
public sealed class VolumeException(string message) : Exception(message);

/// <summary>
/// Directory pools and their volumes (qcow2 and raw disks, ISO images). Every file is written
/// under a temporary name (<c>.NAME.part</c>) and renamed into place once complete, and its row is
/// added only then: a crash, a full disk or a cut upload never leaves a half volume listed.
/// </summary>
/// <param name="hosts">Reaches other hosts' pools (deleting a volume there); without it, their volumes are refused.</param>
public sealed class VolumeService(InventoryContext db, Hosts.HostCommands? hosts = null)
{
    public const long MaxVolumeBytes = 64L << 40;
    public const long MinVolumeBytes = 1L << 20;

    public static string PathOf(VolumeRecord volume, PoolRecord pool) => System.IO.Path.Combine(pool.Path, volume.FileName);

    public static string PathOf(VolumeRecord volume) => PathOf(volume, volume.Pool ?? throw new InvalidOperationException("the volume's pool is not loaded"));

    public async Task<PoolRecord> FindPoolAsync(string name)
    {
        Names.Check("pool", name);
        return await db.Pools.FirstOrDefaultAsync(p => p.Name == name)
            ?? throw ApiException.NotFound($"There is no pool named '{name}'.");
    }

    /// <summary>Finds <c>pool/name</c> or <c>name</c> (in the default pool).</summary>
    public async Task<VolumeRecord> FindVolumeAsync(string reference)
    {
        (string poolName, string volumeName) = Split(reference);
        PoolRecord pool = await FindPoolAsync(poolName);
        return await db.Volumes.Include(v => v.Pool).FirstOrDefaultAsync(v => v.PoolId == pool.Id && v.Name == volumeName)
            ?? throw ApiException.NotFound($"There is no volume '{volumeName}' in pool '{poolName}'.");
    }

    public static (string Pool, string Volume) Split(string reference)
    {
        int slash = reference.IndexOf('/');
        return slash < 0 ? ("default", Names.Check("volume", reference)) : (Names.Check("pool", reference[..slash]), Names.Check("volume", reference[(slash + 1)..]));
    }

    public static string ReferenceOf(VolumeRecord volume) => $"{volume.Pool?.Name ?? "?"}/{volume.Name}";

    public async Task<string> UniqueNameAsync(PoolRecord pool, string wanted)
    {
        string name = wanted.Length > Names.MaxLength ? wanted[..Names.MaxLength] : wanted;
        for (int i = 1; await db.Volumes.AnyAsync(v => v.PoolId == pool.Id && v.Name == name); i++)
        {
            string suffix = $"-{i}";
            name = (wanted.Length + suffix.Length > Names.MaxLength ? wanted[..(Names.MaxLength - suffix.Length)] : wanted) + suffix;
        }

        return name;
    }

    public async Task RequireFreeNameAsync(PoolRecord pool, string name)
    {
        if (await db.Volumes.AnyAsync(v => v.PoolId == pool.Id && v.Name == name))
        {
            throw ApiException.Conflict($"Pool '{pool.Name}' already has a volume named '{name}'.");
        }
    }

    public static string CheckFormat(string? format, bool allowIso) => (format ?? "qcow2") switch
    {
        "qcow2" => "qcow2",
        "raw" => "raw",
        "iso" when allowIso => "iso",
        _ => throw ApiException.BadRequest(allowIso
            ? $"A volume's format is qcow2, raw or iso, not '{format}'."
            : $"A volume's format is qcow2 or raw, not '{format}'."),
    };

    public static long CheckSize(long size)
    {
        if (size < MinVolumeBytes || size > MaxVolumeBytes)
        {
            throw ApiException.BadRequest($"A volume's size must be between 1 MiB and 64 TiB, and {size} bytes is not.");
        }

        return size;
    }

    /// <summary>Creates an empty volume (or an overlay on <paramref name="backing"/>), file first, then the row.</summary>
    public async Task<VolumeRecord> CreateAsync(PoolRecord pool, string name, string format, long? size, VolumeRecord? backing = null, bool readOnly = false)
    {
        await RequireHereAsync(pool);
        var volume = NewRecord(pool, name, format);
        volume.BackingVolumeId = backing?.Id;
        volume.ReadOnly = readOnly;
        string target = PathOf(volume, pool);
        string part = PartPath(target);
        try
        {
            Directory.CreateDirectory(pool.Path);
            var qcow2 = new Qcow2CreateOptions { BackingFile = backing is null ? null : PathOf(backing), BackingFormat = backing is null ? null : FormatOf(backing) };
            ImageCreator.Create(part, format == "raw" ? ImageFormat.Raw : ImageFormat.Qcow2, size, qcow2);
            File.Move(part, target);
        }
        catch
        {
            File.Delete(part);
            throw;
        }

        volume.VirtualBytes = size ?? backing?.VirtualBytes ?? 0;
        db.Volumes.Add(volume);
        await db.SaveChangesAsync();
        // The pool given may belong to another context; the volume gets this context's.
        volume.Pool = await db.Pools.FindAsync(pool.Id);
        return volume;
    }

    /// <summary>Copies or converts an image file (on this host) into a new volume.</summary>
    public async Task<VolumeRecord> ImportAsync(PoolRecord pool, string name, string sourcePath, string format, string? snapshot, Action<double>? progress, CancellationToken cancellationToken, bool readOnly = false)
    {
        await RequireHereAsync(pool);
        if (!File.Exists(sourcePath))
        {
            throw new VolumeException($"There is no file '{sourcePath}' to import.");
        }

        VolumeRecord volume = NewRecord(pool, name, format);
        volume.ReadOnly = readOnly;
        string target = PathOf(volume, pool);
        string part = PartPath(target);
        Directory.CreateDirectory(pool.Path);
        try
        {
            if (format == "iso")
            {
                await using FileStream source = File.OpenRead(sourcePath);
                await using FileStream destination = new(part, FileMode.CreateNew, FileAccess.Write);
                await source.CopyToAsync(destination, cancellationToken);
                await destination.FlushAsync(cancellationToken);
                destination.Flush(flushToDisk: true);
                volume.VirtualBytes = destination.Length;
            }
            else
            {
                await Task.Run(
                    () => ImageConverter.Convert(sourcePath, part, new ConvertOptions
                    {
                        TargetFormat = format == "raw" ? ImageFormat.Raw : ImageFormat.Qcow2,
                        ForceShare = true,
                        Snapshot = snapshot,
                        Progress = (done, total) =>
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            progress?.Invoke(total == 0 ? 1 : (double)done / total);
                        },
                    }),
                    cancellationToken);
                using DiskImage image = ImageOpener.Open(part, new ImageOpenOptions { ReadOnly = true, ForceShare = true });
                volume.VirtualBytes = image.Length;
            }

            File.Move(part, target);
        }
        catch
        {
            File.Delete(part);
            throw;
        }

        db.Volumes.Add(volume);
        await db.SaveChangesAsync(CancellationToken.None);
        // The pool given may belong to another context; the volume gets this context's.
        volume.Pool = await db.Pools.FindAsync(pool.Id);
        return volume;
    }

    /// <summary>
    /// Streams an upload to disk (never buffered whole in memory) and lists the volume only once
    /// every byte arrived and the image opens; a cut or bad upload leaves nothing behind.
    /// </summary>
    public async Task<VolumeRecord> UploadAsync(PoolRecord pool, string name, string format, Stream body, long? expectedLength, CancellationToken cancellationToken)
    {
        await RequireHereAsync(pool);
        VolumeRecord volume = NewRecord(pool, name, format);
        string target = PathOf(volume, pool);
        string part = PartPath(target);
        Directory.CreateDirectory(pool.Path);
        try
        {
            long written;
            await using (var destination = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await body.CopyToAsync(destination, 1 << 20, cancellationToken);
                await destination.FlushAsync(cancellationToken);
                destination.Flush(flushToDisk: true);
                written = destination.Length;
            }

            if (expectedLength is { } expected && written != expected)
            {
                throw new VolumeException($"The upload ended after {written} of {expected} bytes; nothing was kept.");
            }

            if (format == "iso")
            {
                volume.VirtualBytes = written;
            }
            else
            {
                try
                {
                    using DiskImage image = ImageOpener.Open(part, new ImageOpenOptions { Format = format == "raw" ? ImageFormat.Raw : ImageFormat.Qcow2, ReadOnly = true, OpenBacking = false });
                    if (image is Qcow2Image { BackingFileName: not null })
                    {
                        throw new VolumeException("An uploaded qcow2 image cannot have a backing file; upload a self-contained image.");
                    }

                    volume.VirtualBytes = image.Length;
                }
                catch (StorageException e)
                {
                    // The reader names the file it read: the hidden upload file, which is no business of the client's.
                    throw new VolumeException($"The upload is not a usable {format} image: {e.Message.Replace(part, volume.Name, StringComparison.Ordinal).TrimEnd('.')}.");
                }
            }

            File.Move(part, target);
        }
        catch
        {
            File.Delete(part);
            throw;
        }

        db.Volumes.Add(volume);
        await db.SaveChangesAsync(CancellationToken.None);
        // The pool given may belong to another context; the volume gets this context's.
        volume.Pool = await db.Pools.FindAsync(pool.Id);
        return volume;
    }

    /// <summary>The VMs and volumes that use a volume (as a disk, an ISO or a backing file).</summary>
    public async Task<List<string>> UsersOfAsync(VolumeRecord volume)
    {
        List<string> users = await db.Disks.Where(d => d.VolumeId == volume.Id)
            .Join(db.Vms, d => d.VmId, v => v.Id, (d, v) => "vm " + v.Name).ToListAsync();
        users.AddRange(await db.Vms.Where(v => v.IsoVolumeId == volume.Id).Select(v => "vm " + v.Name).ToListAsync());
        users.AddRange(await db.Volumes.Where(v => v.BackingVolumeId == volume.Id).Select(v => "volume " + v.Name).ToListAsync());
        return users.Distinct().ToList();
    }

    /// <summary>Deletes a volume's row and file; refused while anything uses it.</summary>
    public async Task DeleteAsync(VolumeRecord volume)
    {
        List<string> users = await UsersOfAsync(volume);
        if (users.Count > 0)
        {
            throw ApiException.Conflict($"Volume '{volume.Name}' is in use by {string.Join(", ", users.Take(5))}; detach or delete those first.");
        }

        await DeleteUnusedAsync(volume);
    }

    /// <summary>Deletes a volume nothing else refers to: the row first (so it is never listed without its file being whole), then the file.</summary>
    public async Task DeleteUnusedAsync(VolumeRecord volume)
    {
        string path = PathOf(volume);
        Guid? host = volume.Pool!.HostId;
        if (host is not null && hosts is null)
        {
            await RequireHereAsync(volume.Pool);
        }

        db.Volumes.Remove(volume);
        await db.SaveChangesAsync();
        if (host is null)
        {
            File.Delete(path);
        }
        else
        {
            await hosts!.TryRemoveFilesAsync(host, [path], NullLogger.Instance);
        }
    }

    public async Task ResizeAsync(VolumeRecord volume, long size)
    {
        CheckSize(size);
        await RequireHereAsync(volume.Pool!);
        if (volume.Format == "iso" || volume.ReadOnly)
        {
            throw ApiException.Conflict($"Volume '{volume.Name}' is read-only and cannot be resized.");
        }

        if (size < volume.VirtualBytes)
        {
            throw ApiException.BadRequest($"Volume '{volume.Name}' has {volume.VirtualBytes} bytes and cannot shrink to {size}; shrinking loses data.");
        }

        using (DiskImage image = ImageOpener.Open(PathOf(volume), new ImageOpenOptions { Format = FormatOf(volume) }))
        {
            image.Resize(size, allowShrink: false);
        }

        volume.VirtualBytes = size;
        await db.SaveChangesAsync();
    }

    public static ImageFormat FormatOf(VolumeRecord volume) => volume.Format == "qcow2" ? ImageFormat.Qcow2 : ImageFormat.Raw;

    public async Task<VolumeInfo> ToInfoAsync(VolumeRecord volume)
    {
        string? backing = volume.BackingVolumeId is { } backingId
            ? await db.Volumes.Where(v => v.Id == backingId).Select(v => v.Pool!.Name + "/" + v.Name).FirstOrDefaultAsync()
            : null;
        return new VolumeInfo(volume.Pool!.Name, volume.Name, volume.Format, volume.VirtualBytes, AllocatedBytes(PathOf(volume)), backing, await UsersOfAsync(volume), volume.ReadOnly);
    }

    public static long AllocatedBytes(string path)
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);
            return FileAllocation.AllocatedBytes(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    public async Task<PoolInfo> ToInfoAsync(PoolRecord pool)
    {
        List<VolumeRecord> volumes = await db.Volumes.Where(v => v.PoolId == pool.Id).ToListAsync();
        string? host = pool.Shared ? null : await db.Hosts.Where(h => pool.HostId == null ? h.IsLocal : h.Id == pool.HostId).Select(h => h.Name).FirstOrDefaultAsync();
        if (pool.HostId is not null)
        {
            // Another host's directory: its files are not here to measure.
            return new PoolInfo(pool.Name, pool.Path, 0, 0, 0, volumes.Count, pool.Shared, host);
        }

        long allocated = volumes.Sum(v => AllocatedBytes(PathOf(v, pool)));
        long capacity = 0, available = 0;
        try
        {
            var drive = new DriveInfo(pool.Path);
            capacity = drive.TotalSize;
            available = drive.AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
        }

        return new PoolInfo(pool.Name, pool.Path, capacity, available, allocated, volumes.Count, pool.Shared, host);
    }

    /// <summary>
    /// Refuses file work on another host's pool: the manager reads and writes only its own
    /// host's directories and shared ones; disks reach an agent's pool with their VM's migration.
    /// </summary>
    public async Task RequireHereAsync(PoolRecord pool)
    {
        if (pool.HostId is { } hostId)
        {
            string host = await db.Hosts.Where(h => h.Id == hostId).Select(h => h.Name).FirstOrDefaultAsync() ?? hostId.ToString();
            throw ApiException.Conflict($"Pool '{pool.Name}' is on host '{host}', whose files the manager does not handle; its disks come and go with their VMs' migrations.");
        }
    }

    private static VolumeRecord NewRecord(PoolRecord pool, string name, string format) => new()
    {
        Id = Guid.NewGuid(),
        PoolId = pool.Id,
        Name = name,
        Format = format,
        FileName = $"{name}.{format}",
        CreatedAt = DateTime.UtcNow,
    };

    /// <summary>Where a file is written before it is renamed into place (<c>.NAME.part</c> beside it); an agent preparing a migration's disk images uses it too.</summary>
    public static string PartPath(string target) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(target)!, "." + System.IO.Path.GetFileName(target) + ".part");
}
