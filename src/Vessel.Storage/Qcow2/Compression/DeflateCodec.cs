using System.Runtime.InteropServices;

namespace Vessel.Storage.Qcow2.Compression;

/// <summary>
/// Raw deflate (no zlib header), QEMU's "zlib" compression type: compressed with a 4 KiB window
/// like QEMU so that QEMU can read it; decompressed with the full window so that any valid
/// stream reads. The z_streams live in native memory (zlib keeps a pointer back to them) and are
/// reset, not recreated, per cluster.
/// </summary>
internal sealed unsafe class DeflateCodec : IClusterCodec
{
    private const int QemuWindowBits = -12;
    private const int AnyWindowBits = -15;

    private ZLib.ZStream* _deflate;
    private ZLib.ZStream* _inflate;

    public int Compress(ReadOnlySpan<byte> cluster, Span<byte> output)
    {
        if (_deflate == null)
        {
            _deflate = (ZLib.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZLib.ZStream));
            int init = ZLib.DeflateInit2(_deflate, ZLib.DefaultCompression, ZLib.Deflated, QemuWindowBits, 9, ZLib.DefaultStrategy, ZLib.Version(), sizeof(ZLib.ZStream));
            if (init != ZLib.Ok)
            {
                NativeMemory.Free(_deflate);
                _deflate = null;
                throw new StorageException($"zlib could not start compressing (error {init})");
            }
        }
        else
        {
            ZLib.DeflateReset(_deflate);
        }

        // Safe: both spans are pinned for the duration of the call and zlib keeps no pointer past it.
        fixed (byte* input = cluster)
        fixed (byte* outputPointer = output)
        {
            _deflate->NextIn = input;
            _deflate->AvailIn = (uint)cluster.Length;
            _deflate->NextOut = outputPointer;
            _deflate->AvailOut = (uint)output.Length;
            int result = ZLib.Deflate(_deflate, ZLib.Finish);
            int produced = output.Length - (int)_deflate->AvailOut;
            _deflate->NextIn = null;
            _deflate->NextOut = null;
            return result == ZLib.StreamEnd ? produced : -1;
        }
    }

    public bool Decompress(ReadOnlySpan<byte> input, Span<byte> cluster)
    {
        if (_inflate == null)
        {
            _inflate = (ZLib.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZLib.ZStream));
            int init = ZLib.InflateInit2(_inflate, AnyWindowBits, ZLib.Version(), sizeof(ZLib.ZStream));
            if (init != ZLib.Ok)
            {
                NativeMemory.Free(_inflate);
                _inflate = null;
                throw new StorageException($"zlib could not start decompressing (error {init})");
            }
        }
        else
        {
            ZLib.InflateReset(_inflate);
        }

        // Safe: both spans are pinned for the duration of the call and zlib keeps no pointer past it.
        fixed (byte* inputPointer = input)
        fixed (byte* output = cluster)
        {
            _inflate->NextIn = inputPointer;
            _inflate->AvailIn = (uint)input.Length;
            _inflate->NextOut = output;
            _inflate->AvailOut = (uint)cluster.Length;
            int result = ZLib.Inflate(_inflate, ZLib.Finish);
            bool full = _inflate->AvailOut == 0;
            _inflate->NextIn = null;
            _inflate->NextOut = null;

            // Like QEMU: the output must be complete; trailing input (the next cluster's data) is fine.
            return full && result is ZLib.StreamEnd or ZLib.BufError or ZLib.Ok;
        }
    }

    public void Dispose()
    {
        if (_deflate != null)
        {
            ZLib.DeflateEnd(_deflate);
            NativeMemory.Free(_deflate);
            _deflate = null;
        }

        if (_inflate != null)
        {
            ZLib.InflateEnd(_inflate);
            NativeMemory.Free(_inflate);
            _inflate = null;
        }
    }
}
