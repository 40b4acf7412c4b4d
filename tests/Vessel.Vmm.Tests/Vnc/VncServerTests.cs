using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Input;
using Vessel.Vmm.Vnc;
using static Vessel.Machine.Virtio.Input.InputEventCodes;

namespace Vessel.Vmm.Tests.Vnc;

/// <summary>Vessel's VNC server as RFB clients see it: each handshake, each client message (malformed ones included) and each encoding.</summary>
public sealed class VncServerTests
{
    [Fact]
    public void Version38WithSecurityNoneReachesServerInit()
    {
        using var vnc = new VncFixture(64, 48);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        Assert.Equal((64, 48), (client.Width, client.Height));
        Assert.Equal("test-vm", client.Name);
        Assert.Single(vnc.Server.Clients);
    }

    [Theory]
    [InlineData("RFB 003.003\n")]
    [InlineData("RFB 003.005\n")] // unknown minor versions are 3.3
    public void Version33GetsTheSecurityTypeAsAWordAndNoResult(string version)
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write(Encoding.ASCII.GetBytes(version));
        Assert.Equal(1u, client.ReadU32());
        client.ClientInit();
        Assert.Equal(64, client.Width);
    }

    [Fact]
    public void Version37ChoosesFromAListAndGetsNoResultForNone()
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write("RFB 003.007\n"u8.ToArray());
        Assert.Equal(new byte[] { 1, 1 }, client.Read(2));
        client.Write(1);
        client.ClientInit();
        Assert.Equal(48, client.Height);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(7)]
    [InlineData(3)]
    public void VncAuthenticationLetsTheRightPasswordIn(int minor)
    {
        using var vnc = new VncFixture(password: "secret12-ignored");
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write(Encoding.ASCII.GetBytes($"RFB 003.00{minor}\n"));
        if (minor == 3)
        {
            Assert.Equal(2u, client.ReadU32());
        }
        else
        {
            Assert.Equal(new byte[] { 1, 2 }, client.Read(2));
            client.Write(2);
        }

        byte[] challenge = client.Read(16);
        client.Write(VncAuthentication.Respond(challenge, "secret12")!); // only 8 characters count
        Assert.Equal(0u, client.ReadU32());
        client.ClientInit();
    }

    [Fact]
    public void AWrongPasswordIsRefusedWithAReasonAndOnlyThatClientLeaves()
    {
        using var vnc = new VncFixture(password: "right");
        using RfbTestClient other = vnc.Connect();
        other.Read(12);
        other.Write("RFB 003.008\n"u8.ToArray());
        other.Read(2);
        other.Write(2);
        other.Write(VncAuthentication.Respond(other.Read(16), "right")!);
        Assert.Equal(0u, other.ReadU32());
        other.ClientInit();

        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write("RFB 003.008\n"u8.ToArray());
        client.Read(2);
        client.Write(2);
        client.Write(VncAuthentication.Respond(client.Read(16), "wrong")!);
        Assert.Equal(1u, client.ReadU32());
        Assert.Equal("authentication failed", Encoding.UTF8.GetString(client.Read((int)client.ReadU32())));
        Assert.True(client.IsClosedByServer());

        other.RequestUpdate(incremental: false);
        Assert.NotEmpty(other.ReadUpdate()); // the other viewer is still served
    }

    [Fact]
    public void WithoutAPasswordSetAuthenticationAlwaysFails()
    {
        using var vnc = new VncFixture();
        vnc.Server.PasswordRequired = true;
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write("RFB 003.008\n"u8.ToArray());
        Assert.Equal(new byte[] { 1, 2 }, client.Read(2));
        client.Write(2);
        client.Write(VncAuthentication.Respond(client.Read(16), "anything")!);
        Assert.Equal(1u, client.ReadU32());
        Assert.Equal("no password is set", Encoding.UTF8.GetString(client.Read((int)client.ReadU32())));
    }

    [Fact]
    public void TheResponseIsDesOfTheChallengeWithTheBitReversedPassword()
    {
        // The classic vncpasswd example: key "password" bit-reversed, challenge of zero bytes;
        // the response must be the same for both 8-byte halves (ECB) and differ by password.
        byte[] zeros = new byte[16];
        byte[] response = VncAuthentication.Respond(zeros, "password")!;
        Assert.Equal(response.AsSpan(0, 8).ToArray(), response.AsSpan(8, 8).ToArray());
        Assert.NotEqual(response, VncAuthentication.Respond(zeros, "passwore"));
        Assert.Equal(response, VncAuthentication.Respond(zeros, "password-longer"));
        Assert.True(VncAuthentication.Verify(zeros, response, "password"));
        Assert.False(VncAuthentication.Verify(zeros, response, "Password"));
    }

    [Theory]
    [InlineData("RFB 004.000\n")]
    [InlineData("HTTP/1.1 GET")]
    [InlineData("RFB 003.00x\n")]
    public void ABadVersionStringEndsTheConnection(string version)
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write(Encoding.ASCII.GetBytes(version));
        Assert.True(client.IsClosedByServer());
        using RfbTestClient next = vnc.Connect();
        next.Handshake38();
    }

    [Fact]
    public void AChoiceOfSecurityTypeNotOfferedEndsTheConnection()
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Read(12);
        client.Write("RFB 003.008\n"u8.ToArray());
        client.Read(2);
        client.Write(2); // VNC authentication, but None was offered
        Assert.Equal(1u, client.ReadU32());
        client.Read((int)client.ReadU32());
        Assert.True(client.IsClosedByServer());
    }

    [Fact]
    public void RawUpdatesShowTheScreenThenOnlyTheChangedTiles()
    {
        using var vnc = new VncFixture(64, 48);
        uint[] picture = Picture(64, 48);
        vnc.Show(picture, 64, 48);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetEncodings(VncEncodings.Raw);
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();
        Assert.Equal(picture, client.Screen);

        picture[(20 * 64) + 40] = 0xabcdef;
        vnc.Show(picture, 64, 48);
        client.RequestUpdate(incremental: true);
        var rectangles = client.ReadUpdate();
        Assert.Equal([(32, 16, 16, 16, VncEncodings.Raw)], rectangles);
        Assert.Equal(picture, client.Screen);
    }

    [Fact]
    public void AnIncrementalRequestOnAnIdleScreenIsAnsweredOnlyWhenSomethingChanges()
    {
        using var vnc = new VncFixture(64, 48);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();
        client.RequestUpdate(incremental: true);
        Thread.Sleep(200);
        Assert.Equal((1L, client.Width * client.Height * 4L + 4 + (12 * 3)), vnc.Server.Statistics); // only the first update went out

        uint[] picture = new uint[64 * 48];
        picture[0] = 0xff0000;
        vnc.Show(picture, 64, 48);
        Assert.Equal([(0, 0, 16, 16, VncEncodings.Raw)], client.ReadUpdate());
        Assert.Equal(0xff0000u, client.Screen[0]);
    }

    [Fact]
    public void ZrleUpdatesDecodeToTheSamePicture()
    {
        using var vnc = new VncFixture(200, 130);
        uint[] picture = Picture(200, 130);
        picture.AsSpan(0, 200 * 64).Fill(0x336699); // a solid band: ZRLE's solid tiles
        for (int i = 200 * 64; i < 200 * 80; i++)
        {
            picture[i] = (i % 3) switch { 0 => 0x010203u, 1 => 0xfefdfcu, _ => 0x808080u }; // three colours: a packed palette
        }

        vnc.Show(picture, 200, 130);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetEncodings(VncEncodings.Zrle, VncEncodings.Raw);
        client.RequestUpdate(incremental: false);
        Assert.All(client.ReadUpdate(), r => Assert.Equal(VncEncodings.Zrle, r.Encoding));
        Assert.Equal(picture, client.Screen);

        // The zlib stream goes on from rectangle to rectangle.
        picture[(100 * 200) + 150] ^= 0xffffff;
        vnc.Show(picture, 200, 130);
        client.RequestUpdate(incremental: true);
        client.ReadUpdate();
        Assert.Equal(picture, client.Screen);
    }

    [Fact]
    public void ZrleCompactPixelsFollowABigEndianFormat()
    {
        using var vnc = new VncFixture(32, 32);
        uint[] picture = Picture(32, 32);
        vnc.Show(picture, 32, 32);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetPixelFormat(new VncPixelFormat(32, 24, true, true, 255, 255, 255, 0, 8, 16));
        client.SetEncodings(VncEncodings.Zrle);
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();
        Assert.Equal(picture, client.Screen);
    }

    [Fact]
    public void A16BitPixelFormatGetsPixelsReducedToItsBits()
    {
        using var vnc = new VncFixture(32, 16);
        uint[] picture = Picture(32, 16);
        vnc.Show(picture, 32, 16);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetPixelFormat(new VncPixelFormat(16, 16, false, true, 31, 63, 31, 11, 5, 0)); // RGB565
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();
        for (int i = 0; i < picture.Length; i++)
        {
            uint expected = picture[i], actual = client.Screen[i];
            Assert.InRange((int)((actual >> 16) & 0xff) - (int)((expected >> 16) & 0xff), -8, 8);
            Assert.InRange((int)((actual >> 8) & 0xff) - (int)((expected >> 8) & 0xff), -4, 4);
            Assert.InRange((int)(actual & 0xff) - (int)(expected & 0xff), -8, 8);
        }
    }

    [Fact]
    public void AColourMapPixelFormatEndsTheConnection()
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetPixelFormat(new VncPixelFormat(8, 8, false, false, 0, 0, 0, 0, 0, 0));
        Assert.True(client.IsClosedByServer());
    }

    [Fact]
    public void AResizeIsSentAsDesktopSizeThenTheNewScreen()
    {
        using var vnc = new VncFixture(64, 48);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetEncodings(VncEncodings.Raw, VncEncodings.DesktopSize);
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();

        vnc.Console.Resize(80, 32);
        uint[] picture = Picture(80, 32);
        vnc.Show(picture, 80, 32);
        client.RequestUpdate(incremental: true);
        var rectangles = client.ReadUpdate();
        Assert.Equal((0, 0, 80, 32, VncEncodings.DesktopSize), rectangles[0]);
        Assert.Equal((80, 32), (client.Width, client.Height));
        if (client.Screen.AsSpan().IndexOfAnyExcept(0u) < 0 || !picture.AsSpan().SequenceEqual(client.Screen))
        {
            client.RequestUpdate(incremental: true);
            client.ReadUpdate();
        }

        Assert.Equal(picture, client.Screen);
    }

    [Fact]
    public void AScrollIsSentAsCopyRectToClientsThatTakeIt()
    {
        const int Width = 64, Height = 96;
        using var vnc = new VncFixture(Width, Height);
        uint[] picture = Picture(Width, Height);
        vnc.Show(picture, Width, Height);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.SetEncodings(VncEncodings.Raw, VncEncodings.CopyRect);
        client.RequestUpdate(incremental: false);
        client.ReadUpdate();

        // Scroll up by one tile row, new content at the bottom.
        uint[] scrolled = new uint[Width * Height];
        Array.Copy(picture, Width * 16, scrolled, 0, Width * (Height - 16));
        scrolled.AsSpan(Width * (Height - 16)).Fill(0x445566);
        vnc.Show(scrolled, Width, Height);
        client.RequestUpdate(incremental: true);
        var rectangles = client.ReadUpdate();
        Assert.Contains(rectangles, r => r.Encoding == VncEncodings.CopyRect);
        Assert.Equal(scrolled, client.Screen);
    }

    [Fact]
    public void KeysReachTheKeyboardAsLinuxKeyCodes()
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.Key(true, 0xffe1); // Shift_L
        client.Key(true, 'A');
        client.Key(false, 'A');
        client.Key(false, 0xffe1);
        client.Key(true, 0x1234_5678); // no key makes this keysym: ignored
        client.Key(true, 0xff0d); // Return
        WaitFor(() => vnc.Keys.Count >= 5);
        Assert.Equal([(42, true), (30, true), (30, false), (42, false), (28, true)], vnc.Keys);
    }

    [Fact]
    public void PointerEventsBecomeAbsoluteTabletEvents()
    {
        using var vnc = new VncFixture(64, 48);
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.Pointer(0, 63, 0);
        client.Pointer(1, 32, 24); // left button down
        client.Pointer(0x08, 32, 24); // left up, wheel up
        WaitFor(() => vnc.PointerEvents.Count(e => e.Type == EvSyn) >= 3);
        Assert.Equal(
            [
                new(EvAbs, AbsX, 0x7fff), new(EvAbs, AbsY, 0), InputEvent.Sync,
                new(EvAbs, AbsX, VirtioTabletDevice.ScaleToAxis(32, 64)), new(EvAbs, AbsY, VirtioTabletDevice.ScaleToAxis(24, 48)), new(EvKey, BtnLeft, 1), InputEvent.Sync,
                new(EvAbs, AbsX, VirtioTabletDevice.ScaleToAxis(32, 64)), new(EvAbs, AbsY, VirtioTabletDevice.ScaleToAxis(24, 48)), new(EvKey, BtnLeft, 0), new(EvRel, RelWheel, 1), InputEvent.Sync,
            ],
            vnc.PointerEvents);
    }

    [Fact]
    public void ClipboardTextIsReadAndDroppedButTooMuchEndsTheConnection()
    {
        using var vnc = new VncFixture();
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        byte[] text = new byte[8 + 5];
        text[0] = 6;
        BinaryPrimitives.WriteInt32BigEndian(text.AsSpan(4), 5);
        client.Write(text);
        client.Key(true, 'q');
        WaitFor(() => vnc.Keys.Count == 1); // the message after it was understood

        byte[] huge = new byte[8];
        huge[0] = 6;
        BinaryPrimitives.WriteInt32BigEndian(huge.AsSpan(4), VncConnection.MaxCutText + 1);
        client.Write(huge);
        Assert.True(client.IsClosedByServer());
    }

    [Theory]
    [InlineData(1)] // FixColourMapEntries is the server's, not the client's
    [InlineData(7)]
    [InlineData(250)]
    [InlineData(255)]
    public void AnUnknownMessageEndsOnlyThatConnection(byte type)
    {
        using var vnc = new VncFixture();
        using RfbTestClient other = vnc.Connect();
        other.Handshake38();
        using RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.Write(type, 0, 0, 0);
        Assert.True(client.IsClosedByServer());
        WaitFor(() => vnc.Server.Clients.Count == 1);
        other.RequestUpdate(incremental: false);
        Assert.NotEmpty(other.ReadUpdate());
    }

    [Fact]
    public void AClientThatStopsMidMessageLeavesQuietly()
    {
        using var vnc = new VncFixture();
        RfbTestClient client = vnc.Connect();
        client.Handshake38();
        client.Write(3, 0, 0); // half a FramebufferUpdateRequest
        client.Dispose();
        WaitFor(() => vnc.Server.Clients.Count == 0);
    }

    [Fact]
    public void SeveralViewersSeeTheSameScreen()
    {
        using var vnc = new VncFixture(48, 32);
        var clients = Enumerable.Range(0, 3).Select(_ => vnc.Connect()).ToArray();
        try
        {
            foreach (RfbTestClient client in clients)
            {
                client.Handshake38();
                client.RequestUpdate(incremental: false);
                client.ReadUpdate();
                client.RequestUpdate(incremental: true);
            }

            uint[] picture = Picture(48, 32);
            vnc.Show(picture, 48, 32);
            foreach (RfbTestClient client in clients)
            {
                client.ReadUpdate();
                Assert.Equal(picture, client.Screen);
            }

            Assert.Equal(3, vnc.Server.Clients.Count);
        }
        finally
        {
            foreach (RfbTestClient client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public void QemusDisplayNumbersAreTcpPorts()
    {
        Assert.Equal(5901, VncAddress.Parse("127.0.0.1:1").TcpEndPoint!.Port);
        Assert.Equal("127.0.0.1", VncAddress.Parse(":3").TcpEndPoint!.Address.ToString());
        Assert.Equal("/tmp/v.sock", VncAddress.Parse("unix:/tmp/v.sock").UnixPath);
        Assert.Equal("127.0.0.1:2", VncAddress.Parse("127.0.0.1:2").ToString());
        Assert.Throws<FormatException>(() => VncAddress.Parse("127.0.0.1"));
        Assert.Throws<FormatException>(() => VncAddress.Parse("127.0.0.1:x"));
        Assert.Throws<FormatException>(() => VncAddress.Parse("host.example:1"));
        Assert.Throws<FormatException>(() => VncAddress.Parse("unix:"));
    }

    private static uint[] Picture(int width, int height)
    {
        uint[] picture = new uint[width * height];
        for (int i = 0; i < picture.Length; i++)
        {
            picture[i] = (uint)((i * 2654435761u) >> 8) & 0xffffff;
        }

        return picture;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            Thread.Sleep(10);
        }
    }
}
