using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// A VNC viewer as noVNC is one: RFB 3.8 spoken over a WebSocket of binary messages, whose
/// boundaries mean nothing (the stream is read as bytes). Enough of the protocol to check a
/// screen: the handshake with security type None, the ServerInit, raw framebuffer updates and
/// key events.
/// </summary>
public sealed class RfbSession : IAsyncDisposable
{
    private const int EncodingRaw = 0;
    private const uint KeysymShift = 0xffe1;
    private const uint KeysymReturn = 0xff0d;

    private readonly Stream _stream;

    private RfbSession(Stream stream) => _stream = stream;

    public int Width { get; private set; }

    public int Height { get; private set; }

    public int BytesPerPixel { get; private set; }

    public string Name { get; private set; } = "";

    /// <summary>Does the handshake on <paramref name="socket"/> (which the session then owns) and asks for raw pixels only.</summary>
    public static async Task<RfbSession> HandshakeAsync(WebSocket socket)
    {
        var session = new RfbSession(WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: true));
        await session.HandshakeAsync();
        return session;
    }

    private async Task HandshakeAsync()
    {
        string version = Encoding.ASCII.GetString(await ReadAsync(12));
        Assert.Equal("RFB 003.008\n", version);
        await _stream.WriteAsync("RFB 003.008\n"u8.ToArray());
        byte[] types = await ReadAsync((await ReadAsync(1))[0]);
        Assert.Contains((byte)1, types); // None: the ticket and the daemon's checks are the authentication
        await _stream.WriteAsync(new byte[] { 1 });
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(await ReadAsync(4)));
        await _stream.WriteAsync(new byte[] { 1 }); // ClientInit: shared, as a second viewer beside others
        byte[] init = await ReadAsync(24);
        Width = BinaryPrimitives.ReadUInt16BigEndian(init);
        Height = BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2));
        BytesPerPixel = init[4] / 8;
        Name = Encoding.UTF8.GetString(await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20))));

        byte[] encodings = new byte[8];
        encodings[0] = 2; // SetEncodings, one: raw
        BinaryPrimitives.WriteUInt16BigEndian(encodings.AsSpan(2), 1);
        BinaryPrimitives.WriteInt32BigEndian(encodings.AsSpan(4), EncodingRaw);
        await _stream.WriteAsync(encodings);
    }

    /// <summary>The whole screen now (a non-incremental update), as the server's pixel format's bytes, row after row.</summary>
    public async Task<byte[]> ScreenAsync()
    {
        byte[] request = new byte[10];
        request[0] = 3; // FramebufferUpdateRequest, not incremental
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)Width);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), (ushort)Height);
        await _stream.WriteAsync(request);

        byte[] screen = new byte[Width * Height * BytesPerPixel];
        while (true)
        {
            byte type = (await ReadAsync(1))[0];
            if (type == 2)
            {
                continue; // Bell
            }

            Assert.Equal(0, type); // FramebufferUpdate
            byte[] header = await ReadAsync(3);
            int rectangles = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1));
            for (int i = 0; i < rectangles; i++)
            {
                byte[] rectangle = await ReadAsync(12);
                int x = BinaryPrimitives.ReadUInt16BigEndian(rectangle);
                int y = BinaryPrimitives.ReadUInt16BigEndian(rectangle.AsSpan(2));
                int width = BinaryPrimitives.ReadUInt16BigEndian(rectangle.AsSpan(4));
                int height = BinaryPrimitives.ReadUInt16BigEndian(rectangle.AsSpan(6));
                Assert.Equal(EncodingRaw, BinaryPrimitives.ReadInt32BigEndian(rectangle.AsSpan(8)));
                byte[] pixels = await ReadAsync(width * height * BytesPerPixel);
                for (int row = 0; row < height; row++)
                {
                    pixels.AsSpan(row * width * BytesPerPixel, width * BytesPerPixel)
                        .CopyTo(screen.AsSpan((((y + row) * Width) + x) * BytesPerPixel));
                }
            }

            return screen;
        }
    }

    /// <summary>Types <paramref name="text"/> as key presses (US layout; <c>\r</c> is Return).</summary>
    public async Task TypeAsync(string text)
    {
        foreach (char c in text)
        {
            bool shift = char.IsAsciiLetterUpper(c) || "~!@#$%^&*()_+{}|:\"<>?".Contains(c);
            uint keysym = c == '\r' ? KeysymReturn : c;
            if (shift)
            {
                await KeyAsync(true, KeysymShift);
            }

            await KeyAsync(true, keysym);
            await KeyAsync(false, keysym);
            if (shift)
            {
                await KeyAsync(false, KeysymShift);
            }

            // Paced as a fast typist, as the issue-14 display test types, not as one burst.
            await Task.Delay(10);
        }
    }

    private async Task KeyAsync(bool down, uint keysym)
    {
        byte[] message = [4, down ? (byte)1 : (byte)0, 0, 0, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), keysym);
        await _stream.WriteAsync(message);
    }

    private async Task<byte[]> ReadAsync(int count)
    {
        byte[] data = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await _stream.ReadExactlyAsync(data, timeout.Token);
        return data;
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();
}
