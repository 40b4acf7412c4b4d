using System.Buffers;
using ZstdSharp;

namespace Vessel.Storage.Qcow2.Compression;

/// <summary>
/// zstd compression type: one zstd frame per cluster at the default level, as QEMU writes it;
/// read in streaming mode so that bytes after the frame (the next cluster's) are ignored.
/// </summary>
internal sealed class ZstdCodec : IClusterCodec
{
    private Compressor? _compressor;
    private Decompressor? _decompressor;

    public int Compress(ReadOnlySpan<byte> cluster, Span<byte> output)
    {
        _compressor ??= new Compressor(3);
        try
        {
            return _compressor.TryWrap(cluster, output, out int written) ? written : -1;
        }
        catch (ZstdException)
        {
            return -1;
        }
    }

    public bool Decompress(ReadOnlySpan<byte> input, Span<byte> cluster)
    {
        _decompressor ??= new Decompressor();
        try
        {
            _decompressor.ResetStream();
            int consumed = 0;
            int written = 0;
            while (written < cluster.Length)
            {
                OperationStatus status = _decompressor.UnwrapStream(input[consumed..], cluster[written..], out int read, out int produced);
                consumed += read;
                written += produced;
                if (written == cluster.Length)
                {
                    break;
                }

                if (status == OperationStatus.Done || (read == 0 && produced == 0))
                {
                    return false;
                }
            }

            return true;
        }
        catch (ZstdException)
        {
            _decompressor.Dispose();
            _decompressor = null;
            return false;
        }
    }

    public void Dispose()
    {
        _compressor?.Dispose();
        _decompressor?.Dispose();
    }
}
