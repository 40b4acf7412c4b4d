using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Input;
using Vessel.Vmm.Vnc;

namespace Vessel.Vmm.Tests.Vnc;

/// <summary>A VNC server on a loopback port, a console behind it, and what its input sink received.</summary>
internal sealed class VncFixture : IDisposable, IVncInput
{
    public VncFixture(int width = 64, int height = 48, string? password = null)
    {
        Console.Resize(width, height);
        Server = VncServer.Listen(new VncAddress { TcpEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, Console, this, "test-vm");
        if (password is not null)
        {
            Server.Password = password;
            Server.PasswordRequired = true;
        }
    }

    public DisplayConsole Console { get; } = new();

    public VncServer Server { get; }

    public List<(ushort Code, bool Down)> Keys { get; } = [];

    public List<InputEvent> PointerEvents { get; } = [];

    public void Key(ushort code, bool down)
    {
        lock (Keys)
        {
            Keys.Add((code, down));
        }
    }

    public void Pointer(ReadOnlySpan<InputEvent> events)
    {
        lock (PointerEvents)
        {
            PointerEvents.AddRange(events.ToArray());
        }
    }

    /// <summary>Shows <paramref name="pixels"/> (0x00RRGGBB) on the console.</summary>
    public void Show(uint[] pixels, int width, int height)
    {
        byte[] bytes = new byte[pixels.Length * 4];
        Buffer.BlockCopy(pixels, 0, bytes, 0, bytes.Length);
        Console.Update(0, 0, width, height, bytes, width * 4, SourcePixelFormat.Bgrx);
    }

    public RfbTestClient Connect() => new(Server.Port);

    public void Dispose() => Server.Dispose();
}

/// <summary>A scripted RFB client that checks each byte the server sends.</summary>
internal sealed class RfbTestClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private ZLibStream? _zlib;
    private MemoryStream? _zlibInput;

    public RfbTestClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.Connect(IPAddress.Loopback, port);
        _socket.ReceiveTimeout = 10_000;
        _stream = new NetworkStream(_socket, ownsSocket: true);
    }

    public int Width { get; set; }

    public int Height { get; set; }

    public string Name { get; private set; } = string.Empty;

    /// <summary>The client's copy of the screen, 0x00RRGGBB, as the updates drew it.</summary>
    public uint[] Screen { get; private set; } = [];

    public VncPixelFormat Format { get; set; } = VncPixelFormat.Native;

    public byte[] Read(int count)
    {
        byte[] data = new byte[count];
        _stream.ReadExactly(data);
        return data;
    }

    public uint ReadU32() => BinaryPrimitives.ReadUInt32BigEndian(Read(4));

    public void Write(params byte[] data) => _stream.Write(data);

    /// <summary>Whether the server closed the connection (reads end) within the timeout.</summary>
    public bool IsClosedByServer()
    {
        try
        {
            byte[] buffer = new byte[4096];
            while (true)
            {
                if (_stream.Read(buffer) == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>The 3.8 handshake with security None, up to ServerInit.</summary>
    public void Handshake38()
    {
        Assert.Equal("RFB 003.008\n", Encoding.ASCII.GetString(Read(12)));
        Write("RFB 003.008\n"u8.ToArray());
        Assert.Equal(new byte[] { 1, 1 }, Read(2));
        Write(1);
        Assert.Equal(0u, ReadU32());
        ClientInit();
    }

    public void ClientInit()
    {
        Write(1);
        byte[] init = Read(24);
        Width = BinaryPrimitives.ReadUInt16BigEndian(init);
        Height = BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2));
        Assert.Equal(VncPixelFormat.Native, VncPixelFormat.Parse(init.AsSpan(4, 16)));
        Name = Encoding.UTF8.GetString(Read((int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20))));
        Screen = new uint[Width * Height];
    }

    public void SetEncodings(params int[] encodings)
    {
        byte[] message = new byte[4 + (encodings.Length * 4)];
        message[0] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)encodings.Length);
        for (int i = 0; i < encodings.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(4 + (i * 4)), encodings[i]);
        }

        Write(message);
    }

    public void SetPixelFormat(VncPixelFormat format)
    {
        byte[] message = new byte[20];
        format.Write(message.AsSpan(4));
        Write(message);
        Format = format;
    }

    public void RequestUpdate(bool incremental, int x = 0, int y = 0, int width = 0xffff, int height = 0xffff)
    {
        byte[] message = new byte[10];
        message[0] = 3;
        message[1] = incremental ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)x);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)y);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), (ushort)Math.Min(width, 0xffff));
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(8), (ushort)Math.Min(height, 0xffff));
        Write(message);
    }

    public void Key(bool down, uint keysym)
    {
        byte[] message = new byte[8];
        message[0] = 4;
        message[1] = down ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), keysym);
        Write(message);
    }

    public void Pointer(byte mask, int x, int y)
    {
        byte[] message = new byte[6];
        message[0] = 5;
        message[1] = mask;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)x);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)y);
        Write(message);
    }

    /// <summary>Reads one FramebufferUpdate, draws it into <see cref="Screen"/>, and returns its rectangles.</summary>
    public List<(int X, int Y, int Width, int Height, int Encoding)> ReadUpdate()
    {
        byte[] header = Read(4);
        Assert.Equal(0, header[0]);
        int count = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        var rectangles = new List<(int, int, int, int, int)>();
        for (int i = 0; i < count; i++)
        {
            byte[] r = Read(12);
            int x = BinaryPrimitives.ReadUInt16BigEndian(r), y = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(2));
            int w = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(4)), h = BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(6));
            int encoding = BinaryPrimitives.ReadInt32BigEndian(r.AsSpan(8));
            rectangles.Add((x, y, w, h, encoding));
            switch (encoding)
            {
                case VncEncodings.Raw:
                    for (int row = 0; row < h; row++)
                    {
                        for (int column = 0; column < w; column++)
                        {
                            Screen[((y + row) * Width) + x + column] = ReadPixel(_stream, Format.BytesPerPixel);
                        }
                    }

                    break;
                case VncEncodings.CopyRect:
                    byte[] source = Read(4);
                    int sx = BinaryPrimitives.ReadUInt16BigEndian(source), sy = BinaryPrimitives.ReadUInt16BigEndian(source.AsSpan(2));
                    uint[] copy = new uint[w * h];
                    for (int row = 0; row < h; row++)
                    {
                        Array.Copy(Screen, ((sy + row) * Width) + sx, copy, row * w, w);
                    }

                    for (int row = 0; row < h; row++)
                    {
                        Array.Copy(copy, row * w, Screen, ((y + row) * Width) + x, w);
                    }

                    break;
                case VncEncodings.Zrle:
                    DecodeZrle(x, y, w, h, Read((int)ReadU32()));
                    break;
                case VncEncodings.DesktopSize:
                    Width = w;
                    Height = h;
                    Screen = new uint[w * h];
                    break;
                default:
                    Assert.Fail($"unexpected encoding {encoding}");
                    break;
            }
        }

        return rectangles;
    }

    /// <summary>Reads a pixel in the client's format and turns it back into 0x00RRGGBB at 8 bits a channel.</summary>
    private uint ReadPixel(Stream stream, int size)
    {
        byte[] bytes = new byte[4];
        stream.ReadExactly(bytes, 0, size);
        uint value = size switch
        {
            1 => bytes[0],
            2 => Format.BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes),
            _ => Format.BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        };
        return ToRgb(value);
    }

    private uint ToRgb(uint value)
    {
        uint r = ((value >> Format.RedShift) & Format.RedMax) * 255 / Format.RedMax;
        uint g = ((value >> Format.GreenShift) & Format.GreenMax) * 255 / Format.GreenMax;
        uint b = ((value >> Format.BlueShift) & Format.BlueMax) * 255 / Format.BlueMax;
        return (r << 16) | (g << 8) | b;
    }

    private void DecodeZrle(int x, int y, int width, int height, byte[] data)
    {
        _zlibInput ??= new MemoryStream();
        long position = _zlibInput.Length;
        _zlibInput.Write(data);
        _zlibInput.Position = position;
        _zlib ??= new ZLibStream(_zlibInput, CompressionMode.Decompress, leaveOpen: true);
        bool compact = Format.UsesCompactPixels(out bool low);
        uint ReadCPixel()
        {
            if (!compact)
            {
                return ReadPixel(_zlib, Format.BytesPerPixel);
            }

            byte[] three = new byte[3];
            _zlib.ReadExactly(three);
            uint value = Format.BigEndian
                ? (uint)((three[0] << 16) | (three[1] << 8) | three[2]) << (low ? 0 : 8)
                : (uint)(three[0] | (three[1] << 8) | (three[2] << 16)) << (low ? 0 : 8);
            return ToRgb(value);
        }

        for (int ty = y; ty < y + height; ty += 64)
        {
            int th = Math.Min(64, y + height - ty);
            for (int tx = x; tx < x + width; tx += 64)
            {
                int tw = Math.Min(64, x + width - tx);
                int subencoding = _zlib.ReadByte();
                if (subencoding == 0)
                {
                    for (int row = 0; row < th; row++)
                    {
                        for (int column = 0; column < tw; column++)
                        {
                            Screen[((ty + row) * Width) + tx + column] = ReadCPixel();
                        }
                    }
                }
                else if (subencoding <= 16)
                {
                    uint[] palette = new uint[subencoding];
                    for (int i = 0; i < subencoding; i++)
                    {
                        palette[i] = ReadCPixel();
                    }

                    int bits = subencoding == 1 ? 0 : subencoding == 2 ? 1 : subencoding <= 4 ? 2 : 4;
                    for (int row = 0; row < th; row++)
                    {
                        int current = 0, left = 0;
                        for (int column = 0; column < tw; column++)
                        {
                            int index = 0;
                            if (bits > 0)
                            {
                                if (left == 0)
                                {
                                    current = _zlib.ReadByte();
                                    left = 8;
                                }

                                left -= bits;
                                index = (current >> left) & ((1 << bits) - 1);
                            }

                            Screen[((ty + row) * Width) + tx + column] = palette[index];
                        }
                    }
                }
                else
                {
                    Assert.Fail($"unexpected ZRLE subencoding {subencoding}");
                }
            }
        }

    }

    public void Dispose()
    {
        _zlib?.Dispose();
        _stream.Dispose();
    }
}
