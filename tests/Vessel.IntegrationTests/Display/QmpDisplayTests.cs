using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.Testing;
using Vessel.Vmm.Vnc;

namespace Vessel.IntegrationTests.Display;

/// <summary>
/// QMP's display, input, VNC and removable-media commands on a VM that is built but stopped
/// (<c>-S</c>): the devices answer whether or not a guest driver has found them yet.
/// </summary>
public sealed class QmpDisplayTests
{
    [Fact]
    public void ScreendumpsInputVncPasswordsAndDrivesAnswerAsQemus()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock"), vncSocket = temp.File("vnc.sock");
        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd, "-S", "--net", "none",
            "--display", $"vnc=unix:{vncSocket}", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);

        // No scanout yet: QEMU's 640×480 black screen, as PPM (the default) and PNG.
        string ppm = temp.File("s.ppm"), png = temp.File("s.png");
        qmp.Run("screendump", new JsonObject { ["filename"] = ppm });
        byte[] ppmBytes = File.ReadAllBytes(ppm);
        Assert.StartsWith("P6\n640 480\n255\n", Encoding.ASCII.GetString(ppmBytes, 0, 15));
        Assert.Equal(15 + (640 * 480 * 3), ppmBytes.Length);
        qmp.Run("screendump", new JsonObject { ["filename"] = png, ["format"] = "png" });
        byte[] pngBytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }, pngBytes[..8]);
        Assert.Equal("IHDR", Encoding.ASCII.GetString(pngBytes, 12, 4));
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(pngBytes.AsSpan(16)));
        Assert.Equal(480, BinaryPrimitives.ReadInt32BigEndian(pngBytes.AsSpan(20)));
        Assert.Equal("GenericError", qmp.Execute("screendump", new JsonObject { ["filename"] = ppm, ["format"] = "bmp" })["error"]!["class"]!.GetValue<string>());
        Assert.Equal("GenericError", qmp.Execute("screendump", new JsonObject { ["filename"] = "/nonexistent/dir/x.ppm" })["error"]!["class"]!.GetValue<string>());

        // Keys and pointer events: accepted in QEMU's forms, refused when malformed.
        qmp.Run("send-key", new JsonObject { ["keys"] = new JsonArray(Key("ctrl"), Key("alt"), Key("delete")), ["hold-time"] = 50 });
        qmp.Run("send-key", new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["type"] = "number", ["data"] = 0x1e }) });
        Assert.True(qmp.Execute("send-key", new JsonObject { ["keys"] = new JsonArray(Key("no-such-key")) }).ContainsKey("error"));
        qmp.Run("input-send-event", new JsonObject
        {
            ["events"] = new JsonArray(
                new JsonObject { ["type"] = "abs", ["data"] = new JsonObject { ["axis"] = "x", ["value"] = 100 } },
                new JsonObject { ["type"] = "btn", ["data"] = new JsonObject { ["button"] = "left", ["down"] = true } },
                new JsonObject { ["type"] = "key", ["data"] = new JsonObject { ["key"] = Key("a"), ["down"] = true } }),
        });
        Assert.True(qmp.Execute("input-send-event", new JsonObject { ["events"] = new JsonArray(new JsonObject { ["type"] = "abs", ["data"] = new JsonObject { ["axis"] = "z", ["value"] = 1 } }) }).ContainsKey("error"));

        // VNC: no authentication until a password is set; then only that password gets in.
        JsonNode info = qmp.Run("query-vnc");
        Assert.True(info["enabled"]!.GetValue<bool>());
        Assert.Equal("none", info["auth"]!.GetValue<string>());
        Assert.Equal("unix", info["family"]!.GetValue<string>());
        qmp.Run("change-vnc-password", new JsonObject { ["password"] = "s3cret" });
        Assert.Equal("vnc", qmp.Run("query-vnc")["auth"]!.GetValue<string>());
        Assert.Equal(0u, Authenticate(vncSocket, "s3cret"));
        Assert.Equal(1u, Authenticate(vncSocket, "wrong"));

        // This VM has no CD/DVD drive.
        Assert.Equal("DeviceNotFound", qmp.Execute("eject", new JsonObject { ["id"] = "cd0" })["error"]!["class"]!.GetValue<string>());
        Assert.Equal("DeviceNotFound", qmp.Execute("blockdev-change-medium", new JsonObject { ["id"] = "cd0", ["filename"] = ppm })["error"]!["class"]!.GetValue<string>());

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    private static JsonObject Key(string name) => new() { ["type"] = "qcode", ["data"] = name };

    /// <summary>An RFB 3.8 handshake with VNC authentication; returns the SecurityResult.</summary>
    private static uint Authenticate(string socketPath, string password)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        using var stream = new NetworkStream(socket);
        byte[] version = new byte[12];
        stream.ReadExactly(version);
        stream.Write("RFB 003.008\n"u8);
        byte[] types = new byte[2];
        stream.ReadExactly(types);
        Assert.Equal(new byte[] { 1, 2 }, types);
        stream.WriteByte(2);
        byte[] challenge = new byte[16];
        stream.ReadExactly(challenge);
        stream.Write(VncAuthentication.Respond(challenge, password));
        byte[] result = new byte[4];
        stream.ReadExactly(result);
        return BinaryPrimitives.ReadUInt32BigEndian(result);
    }
}
