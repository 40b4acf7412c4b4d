using System.Buffers.Binary;

namespace Vessel.Vmm.Vnc;

/// <summary>
/// An RFB pixel format (ServerInit, SetPixelFormat): how the client wants each pixel's bits.
/// Only true-colour formats of 8, 16 or 32 bits a pixel are served; a colour map is refused (no
/// viewer of this century asks for one).
/// </summary>
public readonly record struct VncPixelFormat(
    byte BitsPerPixel, byte Depth, bool BigEndian, bool TrueColour,
    ushort RedMax, ushort GreenMax, ushort BlueMax, byte RedShift, byte GreenShift, byte BlueShift)
{
    public const int Size = 16;

    /// <summary>The server's own format: the console's <c>0x00RRGGBB</c> stored little-endian.</summary>
    public static VncPixelFormat Native { get; } = new(32, 24, false, true, 255, 255, 255, 16, 8, 0);

    public int BytesPerPixel => BitsPerPixel / 8;

    /// <summary>Whether ZRLE sends this format's pixels as 3-byte CPIXELs, and which 3 bytes of the 4 (true: the low three).</summary>
    public bool UsesCompactPixels(out bool lowBytes)
    {
        uint all = ((uint)RedMax << RedShift) | ((uint)GreenMax << GreenShift) | ((uint)BlueMax << BlueShift);
        lowBytes = (all & 0xff00_0000) == 0;
        bool highBytes = (all & 0xff) == 0;
        return BitsPerPixel == 32 && Depth <= 24 && TrueColour && (lowBytes || highBytes);
    }

    /// <summary>Reads a client's format; null when it is one this server cannot serve.</summary>
    public static VncPixelFormat? Parse(ReadOnlySpan<byte> data)
    {
        var format = new VncPixelFormat(
            data[0], data[1], data[2] != 0, data[3] != 0,
            BinaryPrimitives.ReadUInt16BigEndian(data[4..]), BinaryPrimitives.ReadUInt16BigEndian(data[6..]), BinaryPrimitives.ReadUInt16BigEndian(data[8..]),
            data[10], data[11], data[12]);
        bool valid = format.BitsPerPixel is 8 or 16 or 32 && format.TrueColour
            && format.RedMax != 0 && format.GreenMax != 0 && format.BlueMax != 0
            && format.RedShift < format.BitsPerPixel && format.GreenShift < format.BitsPerPixel && format.BlueShift < format.BitsPerPixel;
        return valid ? format : null;
    }

    public void Write(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = BitsPerPixel;
        destination[1] = Depth;
        destination[2] = BigEndian ? (byte)1 : (byte)0;
        destination[3] = TrueColour ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], RedMax);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], GreenMax);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], BlueMax);
        destination[10] = RedShift;
        destination[11] = GreenShift;
        destination[12] = BlueShift;
    }

    /// <summary>The client's pixel value for a console pixel (<c>0x00RRGGBB</c>).</summary>
    public uint Convert(uint rgb)
    {
        uint r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
        return (((r * RedMax) + 127) / 255 << RedShift) | (((g * GreenMax) + 127) / 255 << GreenShift) | (((b * BlueMax) + 127) / 255 << BlueShift);
    }

    /// <summary>Writes one pixel value in the client's size and byte order; returns the bytes written.</summary>
    public int WritePixel(Span<byte> destination, uint value)
    {
        switch (BitsPerPixel)
        {
            case 8:
                destination[0] = (byte)value;
                return 1;
            case 16:
                if (BigEndian)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)value);
                }

                return 2;
            default:
                if (BigEndian)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(destination, value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
                }

                return 4;
        }
    }
}
