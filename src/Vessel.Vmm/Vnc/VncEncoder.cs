using System.Buffers.Binary;
using System.IO.Compression;
using Vessel.Machine.Display;

namespace Vessel.Vmm.Vnc;

/// <summary>RFB encoding numbers this server knows.</summary>
public static class VncEncodings
{
    public const int Raw = 0;
    public const int CopyRect = 1;
    public const int Zrle = 16;
    public const int DesktopSize = -223;
}

/// <summary>
/// Turns what a <see cref="DisplayViewer"/> collected into one FramebufferUpdate message for one
/// client: CopyRect for the moves, then the changed tiles, merged into runs along each row, as
/// Raw or ZRLE. One encoder per client: ZRLE's zlib stream lives as long as the connection (the
/// client's inflater carries its dictionary), and the buffers are reused from update to update.
/// </summary>
public sealed class VncEncoder : IDisposable
{
    private const int ZrleTile = 64;

    // Beyond this many rectangles a row's runs are sent as one full-width band per tile row: the
    // count is a 16-bit field, and headers cost more than the pixels they would save.
    private const int MaxRectangles = 4096;

    private readonly MemoryStream _compressed = new();
    private readonly ZLibStream _zlib;
    private readonly uint[] _palette = new uint[16];
    private byte[] _message = new byte[64 * 1024];
    private byte[] _plain = new byte[64 * 1024];
    private (int X, int Y, int Width, int Height)[] _rectangles = new (int, int, int, int)[256];
    private int _length;

    public VncEncoder()
    {
        _zlib = new ZLibStream(_compressed, CompressionLevel.Fastest, leaveOpen: true);
    }

    /// <summary>The message built by the last <see cref="Encode"/>.</summary>
    public ReadOnlySpan<byte> Message => _message.AsSpan(0, _length);

    /// <summary>
    /// Builds a FramebufferUpdate from <paramref name="update"/>: a DesktopSize rectangle first when
    /// <paramref name="sendSize"/>, the copies when <paramref name="sendCopies"/>, then the dirty tiles
    /// clipped to <paramref name="clientWidth"/> × <paramref name="clientHeight"/>. Returns false when
    /// the message would hold no rectangle.
    /// </summary>
    public bool Encode(DisplayUpdate update, VncPixelFormat format, int encoding, bool sendSize, bool sendCopies, int clientWidth, int clientHeight)
    {
        int rectangles = CollectRectangles(update, Math.Min(clientWidth, update.Width), Math.Min(clientHeight, update.Height));
        int copies = sendCopies ? update.CopyCount : 0;
        int total = rectangles + copies + (sendSize ? 1 : 0);
        if (total == 0)
        {
            return false;
        }

        _length = 0;
        Span<byte> header = Reserve(4);
        header[0] = 0; // FramebufferUpdate
        header[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)total);
        if (sendSize)
        {
            WriteRectangleHeader(0, 0, update.Width, update.Height, VncEncodings.DesktopSize);
        }

        foreach (CopyOperation copy in update.Copies[..copies])
        {
            WriteRectangleHeader(copy.X, copy.Y, copy.Width, copy.Height, VncEncodings.CopyRect);
            Span<byte> source = Reserve(4);
            BinaryPrimitives.WriteUInt16BigEndian(source, (ushort)copy.SourceX);
            BinaryPrimitives.WriteUInt16BigEndian(source[2..], (ushort)copy.SourceY);
        }

        for (int i = 0; i < rectangles; i++)
        {
            (int x, int y, int width, int height) = _rectangles[i];
            WriteRectangleHeader(x, y, width, height, encoding);
            if (encoding == VncEncodings.Zrle)
            {
                WriteZrle(update.Pixels, update.Width, x, y, width, height, format);
            }
            else
            {
                WriteRaw(update.Pixels, update.Width, x, y, width, height, format);
            }
        }

        return true;
    }

    /// <summary>Runs of dirty tiles along each tile row, clipped to the client's screen.</summary>
    private int CollectRectangles(DisplayUpdate update, int width, int height)
    {
        int count = 0;
        int tile = DisplayConsole.TileSize;
        for (int row = 0; row < update.TilesY && row * tile < height; row++)
        {
            int y = row * tile;
            int h = Math.Min(tile, height - y);
            int column = 0;
            while (column < update.TilesX)
            {
                if (!update.DirtyTiles[(row * update.TilesX) + column])
                {
                    column++;
                    continue;
                }

                int first = column;
                while (column < update.TilesX && update.DirtyTiles[(row * update.TilesX) + column])
                {
                    column++;
                }

                int x = first * tile;
                int w = Math.Min(column * tile, width) - x;
                if (w > 0)
                {
                    Add(ref count, x, y, w, h);
                }
            }
        }

        if (count > MaxRectangles)
        {
            // One band per tile row that has anything dirty.
            count = 0;
            for (int row = 0; row < update.TilesY && row * tile < height; row++)
            {
                if (update.DirtyTiles.AsSpan(row * update.TilesX, update.TilesX).Contains(true))
                {
                    Add(ref count, 0, row * tile, width, Math.Min(tile, height - (row * tile)));
                }
            }
        }

        return count;
    }

    private void Add(ref int count, int x, int y, int width, int height)
    {
        if (count == _rectangles.Length)
        {
            Array.Resize(ref _rectangles, count * 2);
        }

        _rectangles[count++] = (x, y, width, height);
    }

    private void WriteRectangleHeader(int x, int y, int width, int height, int encoding)
    {
        Span<byte> header = Reserve(12);
        BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)x);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)y);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)width);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)height);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], encoding);
    }

    private void WriteRaw(uint[] pixels, int stride, int x, int y, int width, int height, VncPixelFormat format)
    {
        Span<byte> destination = Reserve(width * height * format.BytesPerPixel);
        int offset = 0;
        for (int row = y; row < y + height; row++)
        {
            foreach (uint pixel in pixels.AsSpan((row * stride) + x, width))
            {
                offset += format.WritePixel(destination[offset..], format.Convert(pixel));
            }
        }
    }

    /// <summary>
    /// ZRLE: 64×64 tiles, each solid (one CPIXEL), packed-palette (up to 16 colours, 1, 2 or 4
    /// bits an index) or raw CPIXELs, all through the connection's zlib stream, flushed at the end
    /// of the rectangle so the client can decode it at once.
    /// </summary>
    private void WriteZrle(uint[] pixels, int stride, int x, int y, int width, int height, VncPixelFormat format)
    {
        bool compact = format.UsesCompactPixels(out bool lowBytes);
        int pixelSize = compact ? 3 : format.BytesPerPixel;
        int plainLength = 0;
        EnsurePlain((width * height * pixelSize) + (((width + ZrleTile - 1) / ZrleTile) * ((height + ZrleTile - 1) / ZrleTile) * (1 + (16 * pixelSize))));
        Span<byte> pixel = stackalloc byte[4];
        for (int ty = y; ty < y + height; ty += ZrleTile)
        {
            int th = Math.Min(ZrleTile, y + height - ty);
            for (int tx = x; tx < x + width; tx += ZrleTile)
            {
                int tw = Math.Min(ZrleTile, x + width - tx);
                int colours = CountColours(pixels, stride, tx, ty, tw, th);
                if (colours == 1)
                {
                    _plain[plainLength++] = 1;
                    plainLength += WriteCompactPixel(_palette[0], format, compact, lowBytes, pixel, plainLength);
                }
                else if (colours <= 16)
                {
                    _plain[plainLength++] = (byte)colours;
                    for (int i = 0; i < colours; i++)
                    {
                        plainLength += WriteCompactPixel(_palette[i], format, compact, lowBytes, pixel, plainLength);
                    }

                    int bits = colours == 2 ? 1 : colours <= 4 ? 2 : 4;
                    for (int row = ty; row < ty + th; row++)
                    {
                        int accumulator = 0, used = 0;
                        foreach (uint value in pixels.AsSpan((row * stride) + tx, tw))
                        {
                            accumulator = (accumulator << bits) | Array.IndexOf(_palette, value, 0, colours);
                            used += bits;
                            if (used == 8)
                            {
                                _plain[plainLength++] = (byte)accumulator;
                                accumulator = 0;
                                used = 0;
                            }
                        }

                        if (used > 0)
                        {
                            _plain[plainLength++] = (byte)(accumulator << (8 - used));
                        }
                    }
                }
                else
                {
                    _plain[plainLength++] = 0;
                    for (int row = ty; row < ty + th; row++)
                    {
                        foreach (uint value in pixels.AsSpan((row * stride) + tx, tw))
                        {
                            plainLength += WriteCompactPixel(value, format, compact, lowBytes, pixel, plainLength);
                        }
                    }
                }
            }
        }

        _compressed.SetLength(0);
        _zlib.Write(_plain, 0, plainLength);
        _zlib.Flush(); // a sync flush: the rectangle's bytes are complete, the stream goes on
        int compressedLength = (int)_compressed.Length;
        Span<byte> destination = Reserve(4 + compressedLength);
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)compressedLength);
        _compressed.GetBuffer().AsSpan(0, compressedLength).CopyTo(destination[4..]);
    }

    /// <summary>Collects up to 16 distinct colours of the tile into the palette; returns 17 when there are more.</summary>
    private int CountColours(uint[] pixels, int stride, int x, int y, int width, int height)
    {
        int count = 0;
        for (int row = y; row < y + height; row++)
        {
            foreach (uint value in pixels.AsSpan((row * stride) + x, width))
            {
                if (Array.IndexOf(_palette, value, 0, count) >= 0)
                {
                    continue;
                }

                if (count == 16)
                {
                    return 17;
                }

                _palette[count++] = value;
            }
        }

        return count;
    }

    private int WriteCompactPixel(uint rgb, VncPixelFormat format, bool compact, bool lowBytes, Span<byte> scratch, int position)
    {
        int written = format.WritePixel(scratch, format.Convert(rgb));
        Span<byte> bytes = scratch[..written];
        if (compact)
        {
            // The three bytes that carry the colour, in the client's byte order.
            bool dropFirst = lowBytes == format.BigEndian;
            bytes = dropFirst ? scratch[1..4] : scratch[..3];
        }

        bytes.CopyTo(_plain.AsSpan(position));
        return bytes.Length;
    }

    private void EnsurePlain(int size)
    {
        if (_plain.Length < size)
        {
            _plain = new byte[Math.Max(size, _plain.Length * 2)];
        }
    }

    private Span<byte> Reserve(int size)
    {
        if (_length + size > _message.Length)
        {
            Array.Resize(ref _message, Math.Max(_length + size, _message.Length * 2));
        }

        Span<byte> span = _message.AsSpan(_length, size);
        _length += size;
        return span;
    }

    public void Dispose()
    {
        _zlib.Dispose();
        _compressed.Dispose();
    }
}
