using System.Text;

namespace Vessel.Machine.Virtio.Gpu;

/// <summary>
/// Builds the 128-byte EDID 1.4 block a virtual monitor reports (VIRTIO_GPU_CMD_GET_EDID): the
/// preferred mode is the display's size, at 60 Hz with reduced blanking, as a monitor of
/// 100 dpi, plus the VESA modes every driver falls back to.
/// </summary>
public static class Edid
{
    public const int BlockSize = 128;

    /// <summary>The largest width or height a detailed timing descriptor can carry (12 bits).</summary>
    public const int MaxDimension = 4095;

    private const int HorizontalBlank = 160;
    private const int HorizontalFrontPorch = 48;
    private const int HorizontalSync = 32;
    private const int VerticalFrontPorch = 3;
    private const int VerticalSync = 6;
    private const int RefreshHz = 60;

    public static byte[] Build(int width, int height, string monitorName = "Vessel")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaxDimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaxDimension);

        byte[] edid = new byte[BlockSize];
        ReadOnlySpan<byte> header = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
        header.CopyTo(edid);

        // Manufacturer "VSL" (three 5-bit letters, big-endian), product 1, no serial.
        ushort manufacturer = (ushort)((('V' - '@') << 10) | (('S' - '@') << 5) | ('L' - '@'));
        edid[8] = (byte)(manufacturer >> 8);
        edid[9] = (byte)manufacturer;
        edid[10] = 1;
        edid[16] = 0xff; // week 0xff: byte 17 is the model year
        edid[17] = 2024 - 1990;
        edid[18] = 1; // EDID 1.4
        edid[19] = 4;
        edid[20] = 0xa0; // digital input, 8 bits per colour
        int widthMm = (int)Math.Round(width * 25.4 / 100), heightMm = (int)Math.Round(height * 25.4 / 100);
        edid[21] = (byte)Math.Clamp(widthMm / 10, 1, 255);
        edid[22] = (byte)Math.Clamp(heightMm / 10, 1, 255);
        edid[23] = 120; // gamma 2.2
        edid[24] = 0x06; // sRGB default, preferred timing is native, RGB 4:4:4

        // sRGB chromaticity: red, green, blue and white points (10-bit fractions).
        WriteChromaticity(edid, red: (0.640, 0.330), green: (0.300, 0.600), blue: (0.150, 0.060), white: (0.3127, 0.3290));

        edid[35] = 0x21; // 640x480@60, 800x600@60
        edid[36] = 0x08; // 1024x768@60
        for (int i = 38; i < 54; i++)
        {
            edid[i] = 1; // unused standard timings
        }

        WriteDetailedTiming(edid.AsSpan(54, 18), width, height, widthMm, heightMm);
        WriteRangeLimits(edid.AsSpan(72, 18));
        WriteText(edid.AsSpan(90, 18), 0xfc, monitorName);
        WriteText(edid.AsSpan(108, 18), 0xff, "0");
        edid[126] = 0; // no extension blocks

        byte sum = 0;
        for (int i = 0; i < BlockSize - 1; i++)
        {
            sum += edid[i];
        }

        edid[127] = (byte)(256 - sum);
        return edid;
    }

    private static void WriteChromaticity(byte[] edid, (double X, double Y) red, (double X, double Y) green, (double X, double Y) blue, (double X, double Y) white)
    {
        static int Fraction(double value) => (int)Math.Round(value * 1024);
        int rx = Fraction(red.X), ry = Fraction(red.Y), gx = Fraction(green.X), gy = Fraction(green.Y);
        int bx = Fraction(blue.X), by = Fraction(blue.Y), wx = Fraction(white.X), wy = Fraction(white.Y);
        edid[25] = (byte)(((rx & 3) << 6) | ((ry & 3) << 4) | ((gx & 3) << 2) | (gy & 3));
        edid[26] = (byte)(((bx & 3) << 6) | ((by & 3) << 4) | ((wx & 3) << 2) | (wy & 3));
        edid[27] = (byte)(rx >> 2);
        edid[28] = (byte)(ry >> 2);
        edid[29] = (byte)(gx >> 2);
        edid[30] = (byte)(gy >> 2);
        edid[31] = (byte)(bx >> 2);
        edid[32] = (byte)(by >> 2);
        edid[33] = (byte)(wx >> 2);
        edid[34] = (byte)(wy >> 2);
    }

    private static void WriteDetailedTiming(Span<byte> d, int width, int height, int widthMm, int heightMm)
    {
        int verticalBlank = Math.Max(VerticalFrontPorch + VerticalSync + 6, (int)Math.Ceiling(height * 0.03));
        long clock10kHz = (long)(width + HorizontalBlank) * (height + verticalBlank) * RefreshHz / 10_000;
        ushort clock = (ushort)Math.Min(clock10kHz, ushort.MaxValue);
        d[0] = (byte)clock;
        d[1] = (byte)(clock >> 8);
        d[2] = (byte)width;
        d[3] = (byte)HorizontalBlank;
        d[4] = (byte)(((width >> 8) << 4) | (HorizontalBlank >> 8));
        d[5] = (byte)height;
        d[6] = (byte)verticalBlank;
        d[7] = (byte)(((height >> 8) << 4) | (verticalBlank >> 8));
        d[8] = HorizontalFrontPorch;
        d[9] = HorizontalSync;
        d[10] = (VerticalFrontPorch << 4) | VerticalSync;
        d[11] = 0;
        d[12] = (byte)widthMm;
        d[13] = (byte)heightMm;
        d[14] = (byte)((((widthMm >> 8) & 0xf) << 4) | ((heightMm >> 8) & 0xf));
        d[15] = 0;
        d[16] = 0;
        d[17] = 0x1e; // digital separate sync, +hsync, +vsync
    }

    private static void WriteRangeLimits(Span<byte> d)
    {
        d[3] = 0xfd;
        d[5] = 50; // vertical Hz
        d[6] = 125;
        d[7] = 30; // horizontal kHz
        d[8] = 160;
        d[9] = 60; // pixel clock, 10 MHz units
        d[10] = 0x01; // range limits only
        d[11] = 0x0a;
        d[12..].Fill(0x20);
    }

    private static void WriteText(Span<byte> d, byte tag, string text)
    {
        d[3] = tag;
        Span<byte> field = d[5..];
        field.Fill(0x20);
        int length = Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, 13)), field);
        if (length < 13)
        {
            field[length] = 0x0a;
        }
    }
}
