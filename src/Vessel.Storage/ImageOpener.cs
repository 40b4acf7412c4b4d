using Vessel.Storage.Host;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Raw;

namespace Vessel.Storage;

/// <summary>
/// Opens an image by path: detects the format when none is given (a qcow2 signature is never
/// taken for raw data; format=raw is never probed), opens the backing chain read-only, and
/// refuses missing backing files and loops with one sentence each.
/// </summary>
public static class ImageOpener
{
    private const int MaxChainDepth = 256;

    public static DiskImage Open(string path, ImageOpenOptions? options = null)
    {
        options ??= new ImageOpenOptions();
        if (options.ForceShare && !options.ReadOnly)
        {
            throw new ImageOptionsException("force-share (-U) is only allowed for read-only access");
        }

        return OpenLayer(path, options, [], 0, path);
    }

    /// <summary>Detects the format of an image file from its first bytes (null when it is not a file Vessel can open).</summary>
    public static ImageFormat DetectFormat(string path)
    {
        using HostFile file = HostFile.Open(path, writable: false, ImageLockMode.None);
        return Probe(file, path);
    }

    private static DiskImage OpenLayer(string path, ImageOpenOptions options, HashSet<FileIdentity> chain, int depth, string top)
    {
        if (depth > MaxChainDepth)
        {
            throw new StorageException($"the backing chain of '{top}' is longer than {MaxChainDepth} images");
        }

        FileIdentity? identity = FileIdentity.Of(path);
        if (identity is { } id && !chain.Add(id))
        {
            throw new StorageException($"the backing chain of '{top}' loops back to '{path}'");
        }

        HostFile file = HostFile.Open(path, !options.ReadOnly, options.LockMode);
        file.UnsafeCache = options.UnsafeCache;
        try
        {
            bool probed = options.Format is null;
            ImageFormat format = options.Format ?? Probe(file, path);
            if (format == ImageFormat.Raw)
            {
                return new RawImage(file, path, options.ReadOnly, formatWasProbed: probed);
            }

            return Qcow2Image.Open(file, path, options, probed, (backingPath, backingFormat) =>
            {
                if (!File.Exists(backingPath) && !Directory.Exists(backingPath))
                {
                    throw new StorageException($"the backing file '{backingPath}' of '{path}' does not exist");
                }

                var backingOptions = options with
                {
                    Format = backingFormat,
                    ReadOnly = !(options.WritableBacking && depth == 0),
                    WritableBacking = false,
                    OpenBacking = true,
                };
                return OpenLayer(backingPath, backingOptions, chain, depth + 1, top);
            });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static ImageFormat Probe(HostFile file, string path)
    {
        Span<byte> head = stackalloc byte[FormatProbe.ProbeLength];
        int read = file.Read(0, head);
        string? recognised = FormatProbe.RecogniseFormat(head[..read]);
        return recognised switch
        {
            null => ImageFormat.Raw,
            "qcow2" => ImageFormat.Qcow2,
            _ => throw new StorageException($"'{path}' is a {recognised} image, which Vessel does not support (open it with format=raw to use its bytes as a raw disk anyway)"),
        };
    }
}
