using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Vessel.Machine.Display;

/// <summary>
/// Writes a screen (<c>0x00RRGGBB</c> pixels) as QMP's <c>screendump</c> does: binary PPM
/// (<c>P6</c>, QEMU's default) or PNG (8-bit RGB, no alpha, as QEMU writes it).
/// </summary>
public static class ScreenImage
{
    private static readonly uint[] s_crcTable = BuildCrcTable();

    public static void WritePpm(Stream output, int width, int height, ReadOnlySpan<uint> pixels)
    {
        output.Write(Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n"));
        byte[] row = new byte[width * 3];
        for (int y = 0; y < height; y++)
        {
            ToRgb(pixels.Slice(y * width, width), row);
            output.Write(row);
        }
    }

    public static void WritePng(Stream output, int width, int height, ReadOnlySpan<uint> pixels)
    {
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bits per sample
        header[9] = 2; // colour type RGB
        WriteChunk(output, "IHDR"u8, header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            byte[] row = new byte[1 + (width * 3)]; // filter type 0 (none), then the row
            for (int y = 0; y < height; y++)
            {
                ToRgb(pixels.Slice(y * width, width), row.AsSpan(1));
                zlib.Write(row);
            }
        }

        WriteChunk(output, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND"u8, []);
    }

    private static void ToRgb(ReadOnlySpan<uint> pixels, Span<byte> rgb)
    {
        for (int x = 0; x < pixels.Length; x++)
        {
            uint pixel = pixels[x];
            rgb[x * 3] = (byte)(pixel >> 16);
            rgb[(x * 3) + 1] = (byte)(pixel >> 8);
            rgb[(x * 3) + 2] = (byte)pixel;
        }
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        uint crc = Crc(Crc(0xffff_ffff, type), data) ^ 0xffff_ffff;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    /// <summary>PNG's CRC-32 (ISO 3309), continued from <paramref name="crc"/>.</summary>
    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = s_crcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
