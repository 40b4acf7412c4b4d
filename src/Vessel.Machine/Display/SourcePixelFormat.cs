using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Vessel.Machine.Display;

/// <summary>
/// The 32-bit pixel layouts a display device may hand the console, named by their bytes in
/// memory, first byte first (virtio-gpu's <c>VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM</c> is
/// <see cref="Bgrx"/>: blue at the lowest address). The fourth byte (X or A) is ignored: a
/// screen has no transparency.
/// </summary>
public enum SourcePixelFormat
{
    /// <summary>B, G, R, X: Linux's XRGB8888 on a little-endian machine, and the console's own layout.</summary>
    Bgrx,

    /// <summary>X, R, G, B.</summary>
    Xrgb,

    /// <summary>R, G, B, X.</summary>
    Rgbx,

    /// <summary>X, B, G, R.</summary>
    Xbgr,
}

/// <summary>Turns rows of a <see cref="SourcePixelFormat"/> into the console's pixels (<c>0x00RRGGBB</c>).</summary>
public static class PixelConversion
{
    /// <summary>Converts <paramref name="destination"/>.Length pixels from <paramref name="source"/> (4 bytes each).</summary>
    public static void ConvertRow(ReadOnlySpan<byte> source, Span<uint> destination, SourcePixelFormat format)
    {
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(source[..(destination.Length * 4)]);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The display console assumes a little-endian host.");
        }

        switch (format)
        {
            case SourcePixelFormat.Bgrx:
                MaskAlpha(words, destination);
                break;
            case SourcePixelFormat.Xrgb:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReverseEndianness(words[i]) & 0x00ff_ffff;
                }

                break;
            case SourcePixelFormat.Rgbx:
                for (int i = 0; i < destination.Length; i++)
                {
                    uint v = words[i];
                    destination[i] = ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff);
                }

                break;
            case SourcePixelFormat.Xbgr:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = words[i] >> 8;
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    private static void MaskAlpha(ReadOnlySpan<uint> source, Span<uint> destination)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var mask = new Vector<uint>(0x00ff_ffff);
            for (; i <= source.Length - Vector<uint>.Count; i += Vector<uint>.Count)
            {
                (new Vector<uint>(source[i..]) & mask).CopyTo(destination[i..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = source[i] & 0x00ff_ffff;
        }
    }
}
