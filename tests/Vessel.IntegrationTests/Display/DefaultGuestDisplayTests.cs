using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vessel.Cli;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.Testing;

namespace Vessel.IntegrationTests.Display;

/// <summary>A fact that needs the default guest built for the current inputs (never builds it: that takes an hour); skipped with the reason otherwise.</summary>
[SupportedOSPlatform("linux")]
public sealed class DefaultGuestFactAttribute : FactAttribute
{
    public const string NoGuest = "needs the default guest built for this checkout (./vessel run builds it once), or VESSEL_TEST_DEFAULT_GUEST=DIR naming a build";

    public DefaultGuestFactAttribute()
    {
        if (DefaultGuestDisplayTests.FindGuest() is null)
        {
            Skip = NoGuest;
        }
    }
}

/// <summary>
/// The default guest with a screen, a keyboard, a tablet and a CD/DVD drive, driven as a person
/// would: a VNC client types a command, the guest reads ISO images from <c>--cdrom</c>, and QMP
/// ejects and changes the disc.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DefaultGuestDisplayTests
{
    /// <summary>The default guest's kernel and initramfs: VESSEL_TEST_DEFAULT_GUEST's, or the cached build for the current inputs.</summary>
    internal static (string Kernel, string Initrd)? FindGuest()
    {
        if (Environment.GetEnvironmentVariable("VESSEL_TEST_DEFAULT_GUEST") is { Length: > 0 } directory)
        {
            return (Path.Combine(directory, "Image"), Path.Combine(directory, "initrd.gz"));
        }

        DefaultGuestFiles? files = DefaultGuest.TryFindCached(DefaultGuest.FindBuilder(AppContext.BaseDirectory), cacheHome: null);
        return files is null ? null : (files.Kernel, files.Initrd);
    }

    [DefaultGuestFact]
    public void TypedKeysRunACommandAndTheCdromMountsChangesAndEjects()
    {
        (string kernel, string initrd) = FindGuest()!.Value;
        using var temp = new TempDirectory();
        string first = MakeIso(temp, "first", "the first disc");
        string second = MakeIso(temp, "second", "the second disc");
        string qmpSocket = temp.File("qmp.sock");
        int port = LocalPorts.Free();
        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0 panic=-1 quiet",
            "--display", $"vnc=127.0.0.1:{port - 5900}", "--cdrom", first, "--net", "none",
            "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt, TimeSpan.FromMinutes(5));
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);

        // The disc from --cdrom, as sr0 with an ISO 9660 file system.
        Assert.Equal("the first disc\n", vm.RunCommand("mkdir -p /mnt && mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/file.txt"));
        vm.RunCommand("umount /mnt");

        // Ejected through QMP: the tray opens and the drive has no medium.
        qmp.Run("eject", new JsonObject { ["id"] = "cd0" });
        qmp.WaitForEvent("DEVICE_TRAY_MOVED", e => e["data"]!["tray-open"]!.GetValue<bool>());
        Assert.Contains("No medium", vm.RunCommand("dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>&1"));

        // A second disc, inserted through QMP, is read in its turn.
        qmp.Run("blockdev-change-medium", new JsonObject { ["id"] = "cd0", ["filename"] = second, ["format"] = "raw" });
        Assert.Equal("the second disc\n", RetryUntil(() => vm.RunCommand("mount -t iso9660 -o ro /dev/sr0 /mnt 2>&1 && cat /mnt/file.txt"), "the second disc\n"));
        vm.RunCommand("umount /mnt");

        // A VNC client types on the framebuffer console (tty1); the command writes to the serial line.
        // (Commands stay short: a line wider than the terminal comes back wrapped.)
        string tabletName = vm.RunCommand("grep -l Tablet /sys/class/input/event*/device/name").Trim();
        string tablet = Regex.Match(tabletName, @"event\d+").Value;
        Assert.NotEmpty(tablet);
        vm.RunCommand($"od -An -td2 -w24 -N 480 /dev/input/{tablet} > /tmp/ev &");
        using (var client = new MiniRfbClient(port))
        {
            Assert.Equal((1280, 800), (client.Width, client.Height));
            // The command's output goes to the screen (tty1) and, through tee, to the serial log.
            client.Type("echo TYPED-$((6*7)) | tee /dev/ttyS0\r");
            vm.WaitFor("TYPED-42", TimeSpan.FromMinutes(1));

            // Pointer events arrive as EV_ABS (type 3) in the guest, axes scaled to 0..32767.
            for (int i = 0; i < 10; i++)
            {
                client.Pointer(0, 640 + i, 400);
            }
        }

        Thread.Sleep(2000);
        string events = vm.RunCommand("cat /tmp/ev");
        // od prints each 24-byte input_event as 12 shorts: the time (8), type, code, value (2).
        Assert.Matches(new Regex(@"\s3\s+0\s+163\d\d\s+0\s*$", RegexOptions.Multiline), events); // EV_ABS ABS_X, about half of 32767
        Assert.Matches(new Regex(@"\s3\s+1\s+16\d{3}\s+0\s*$", RegexOptions.Multiline), events); // EV_ABS ABS_Y

        // On the screen: tty1's text (/dev/vcs1) holds the output, which the typed line itself
        // does not (it holds $((6*7))).
        Assert.Equal("TYPED-42\n", vm.RunCommand("grep -o TYPED-42 /dev/vcs1"));

        // The screen as QMP's screendump writes it and as vncsnapshot (a real client) sees it,
        // the cursor's blinking off so that both see the same moment.
        vm.RunCommand("echo 0 > /sys/class/graphics/fbcon/cursor_blink");
        Thread.Sleep(500);
        string ppm = temp.File("screen.ppm");
        qmp.Run("screendump", new JsonObject { ["filename"] = ppm });
        Assert.StartsWith("P6\n1280 800\n255\n", Encoding.ASCII.GetString(File.ReadAllBytes(ppm), 0, 16));
        // vncsnapshot writes JPEG only; djpeg turns it back into a PPM to set beside screendump's.
        Assert.True(File.Exists("/usr/bin/vncsnapshot") && File.Exists("/usr/bin/djpeg"), "scripts/setup installs vncsnapshot and libjpeg-turbo-progs (djpeg)");
        string jpeg = temp.File("snapshot.jpg");
        Run("vncsnapshot", "-quiet", "-quality", "100", $"127.0.0.1:{port - 5900}", jpeg);
        Assert.Equal((1280, 800), JpegSize(File.ReadAllBytes(jpeg)));
        string decoded = temp.File("snapshot.ppm");
        File.WriteAllBytes(decoded, Run("djpeg", "-pnm", jpeg));
        ScreensMatch(ppm, decoded);

        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());
    }

    [DefaultGuestFact]
    public void ASavedStateBringsBackTheScreenAndTheDisc()
    {
        (string kernel, string initrd) = FindGuest()!.Value;
        using var temp = new TempDirectory();
        string iso = MakeIso(temp, "disc", "still here");
        string state = temp.File("state");
        string[] options =
        [
            "run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0 panic=-1 quiet",
            "--display", $"vnc=unix:{temp.File("vnc.sock")}", "--cdrom", iso, "--net", "none",
            "--qmp", $"unix:{temp.File("qmp.sock")},server=on,wait=off",
        ];
        string before = temp.File("before.ppm"), after = temp.File("after.ppm");
        using (VesselProcess source = VesselProcess.Start(options))
        {
            source.WaitFor(ReferenceGuest.Prompt, TimeSpan.FromMinutes(5));
            Assert.Equal("still here\n", source.RunCommand("mkdir -p /mnt && mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/file.txt"));
            using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("qmp.sock"));
            qmp.Run("stop");
            qmp.Run("screendump", new JsonObject { ["filename"] = before });
            qmp.Run("migrate", new JsonObject { ["uri"] = "file:" + state });
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (qmp.Run("query-migrate")["status"]?.GetValue<string>() != "completed")
            {
                Assert.True(DateTime.UtcNow < deadline, "the save did not complete");
                Thread.Sleep(100);
            }

            qmp.Run("quit");
            Assert.Equal(0, source.WaitForExit());
        }

        using VesselProcess restored = VesselProcess.Start([.. options, "--incoming", "file:" + state]);
        using (QmpClient qmp = ConnectWhenListening(temp.File("qmp.sock")))
        {
            while (qmp.Run("query-status")["status"]!.GetValue<string>() != "running")
            {
                Thread.Sleep(100);
            }

            qmp.Run("screendump", new JsonObject { ["filename"] = after });
        }

        Assert.Equal(File.ReadAllBytes(before), File.ReadAllBytes(after)); // the screen, pixel for pixel
        Assert.Equal("still here\n", restored.RunCommand("cat /mnt/file.txt")); // the disc, still mounted
        restored.SendLine("poweroff -f");
        Assert.Equal(0, restored.WaitForExit());
    }

    [DefaultGuestFact]
    public void AnExt4DiskOnScsiHdIsWrittenAndChecksClean()
    {
        (string kernel, string initrd) = FindGuest()!.Value;
        using var temp = new TempDirectory();
        string disk = temp.File("disk.img");
        using (FileStream file = File.Create(disk))
        {
            file.SetLength(64L << 20);
        }

        Tool("mkfs.ext4", "-q", "-F", disk);
        using VesselProcess vm = VesselProcess.Start(
            "run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0 panic=-1 quiet",
            "--drive", $"file={disk},format=raw,if=scsi", "--net", "none");
        vm.WaitFor(ReferenceGuest.Prompt, TimeSpan.FromMinutes(5));
        Assert.Equal("QEMU HARDDISK\n", vm.RunCommand("cat /sys/block/sda/device/model | tr -s ' ' | sed 's/ $//'"));
        vm.RunCommand("mkdir -p /data && mount -t ext4 /dev/sda /data");
        vm.RunCommand("dd if=/dev/urandom of=/data/blob bs=1024 count=4096 2>/dev/null");
        string sum = vm.RunCommand("sha256sum /data/blob | cut -c1-64");
        vm.RunCommand("mkdir /data/dir && echo hello > /data/dir/file && sync && umount /data");
        Assert.Equal(sum, vm.RunCommand("mount -t ext4 /dev/sda /data && sha256sum /data/blob | cut -c1-64"));
        vm.RunCommand("umount /data");
        vm.SendLine("poweroff -f");
        Assert.Equal(0, vm.WaitForExit());

        Tool("e2fsck", "-fn", disk); // exit 0: clean
    }

    /// <summary>
    /// The same kernel under QEMU (<c>-device virtio-gpu-device</c>, modern virtio-mmio, which
    /// virtio-gpu needs) and under Vessel, the screen cleared and a known line printed: the
    /// screendumps are identical. The cursor's blinking is turned off in both guests first
    /// (<c>fbcon/cursor_blink</c>), so the moment of each screendump does not matter.
    /// </summary>
    [SkippableFact]
    public void TheScreenIsPixelForPixelQemus()
    {
        Skip.If(FindGuest() is null, DefaultGuestFactAttribute.NoGuest);
        Skip.IfNot(File.Exists("/usr/bin/qemu-system-riscv64"), "needs qemu-system-riscv64 to compare with (scripts/setup installs it)");

        (string kernel, string initrd) = FindGuest()!.Value;
        using var temp = new TempDirectory();
        string[] screens = new string[2];
        for (int run = 0; run < 2; run++)
        {
            string qmpSocket = temp.File($"qmp{run}.sock");
            using VesselProcess vm = run == 0
                ? VesselProcess.StartProgram("qemu-system-riscv64", "-M", "virt", "-m", "256M", "-global", "virtio-mmio.force-legacy=false",
                    "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet",
                    "-device", "virtio-gpu-device", "-device", "virtio-keyboard-device", "-display", "none", "-nic", "none",
                    "-serial", "stdio", "-qmp", $"unix:{qmpSocket},server=on,wait=off")
                : VesselProcess.Start("run", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0 panic=-1 quiet",
                    "--display", $"vnc=unix:{temp.File("vnc.sock")}", "--net", "none", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
            vm.WaitFor(ReferenceGuest.Prompt, TimeSpan.FromMinutes(5));
            // Short commands: a line wider than the terminal comes back wrapped.
            vm.RunCommand("echo 0 > /sys/class/graphics/fbcon/cursor_blink");
            vm.RunCommand("printf '\\033[2J\\033[H' > /dev/tty1");
            vm.RunCommand("echo KNOWN-LINE-1234 > /dev/tty1");
            Thread.Sleep(1000); // fbcon draws from a work queue
            screens[run] = temp.File($"screen{run}.ppm");
            using (QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket))
            {
                qmp.Run("screendump", new JsonObject { ["filename"] = screens[run] });
                qmp.Run("quit");
            }

            vm.WaitForExit();
        }

        byte[] qemu = File.ReadAllBytes(screens[0]), vessel = File.ReadAllBytes(screens[1]);
        Assert.StartsWith("P6\n1280 800\n", Encoding.ASCII.GetString(qemu, 0, 14));
        Assert.Contains(qemu.AsSpan(16).ToArray(), b => b != 0); // the line is there, not a black screen
        Assert.True(qemu.AsSpan().SequenceEqual(vessel), "the screendumps differ");
    }

    private static void Tool(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program}: {output}");
    }

    private static QmpClient ConnectWhenListening(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                return QmpClient.ConnectAndNegotiate(path);
            }
            catch (Exception e) when (e is SocketException or IOException && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static string RetryUntil(Func<string> action, string expected)
    {
        string result = string.Empty;
        for (int attempt = 0; attempt < 5 && result != expected; attempt++)
        {
            result = action(); // the guest may first report the unit attention of the new disc
        }

        return result;
    }

    private static string MakeIso(TempDirectory temp, string name, string content)
    {
        string directory = Directory.CreateDirectory(temp.File(name)).FullName;
        File.WriteAllText(Path.Combine(directory, "file.txt"), content + "\n");
        string iso = temp.File(name + ".iso");
        using var xorriso = Process.Start(new ProcessStartInfo("xorriso", ["-as", "mkisofs", "-quiet", "-V", name.ToUpperInvariant(), "-o", iso, directory]) { RedirectStandardError = true })!;
        xorriso.WaitForExit();
        Assert.True(xorriso.ExitCode == 0, xorriso.StandardError.ReadToEnd());
        return iso;
    }

    /// <summary>Runs a program to its end and returns what it wrote on standard output.</summary>
    private static byte[] Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        using var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not finish");
        copy.Wait();
        Assert.True(process.ExitCode == 0, $"{program}: {error}");
        return output.ToArray();
    }

    /// <summary>
    /// The screen as a VNC client saw it (through JPEG, which blurs edges and subsamples colour)
    /// is the screen screendump wrote: the text's lit pixels are lit in both and nothing else is,
    /// and the images differ little on average. A black or stale image fails on the text alone.
    /// </summary>
    private static void ScreensMatch(string screendumpPpm, string clientPpm)
    {
        (int width, int height, byte[] expected) = ReadPpm(screendumpPpm);
        (int clientWidth, int clientHeight, byte[] seen) = ReadPpm(clientPpm);
        Assert.Equal((width, height), (clientWidth, clientHeight));
        int litExpected = 0, litBoth = 0, litSeen = 0;
        long difference = 0;
        for (int i = 0; i < expected.Length; i += 3)
        {
            bool a = Luma(expected, i) > 128, b = Luma(seen, i) > 128;
            litExpected += a ? 1 : 0;
            litSeen += b ? 1 : 0;
            litBoth += a && b ? 1 : 0;
            difference += Math.Abs(expected[i] - seen[i]) + Math.Abs(expected[i + 1] - seen[i + 1]) + Math.Abs(expected[i + 2] - seen[i + 2]);
        }

        Assert.True(litExpected > 1000, $"the screen shows too little to compare ({litExpected} lit pixels)");
        Assert.True(litBoth >= litExpected * 0.97 && litBoth >= litSeen * 0.97, $"lit pixels: {litExpected} in screendump, {litSeen} in the client's image, {litBoth} in both");
        double mean = (double)difference / expected.Length;
        Assert.True(mean < 4, $"mean difference per channel {mean:0.00}");

        static int Luma(byte[] rgb, int i) => ((rgb[i] * 299) + (rgb[i + 1] * 587) + (rgb[i + 2] * 114)) / 1000;
    }

    /// <summary>A binary PPM (P6, maxval 255) as its size and RGB bytes.</summary>
    private static (int Width, int Height, byte[] Rgb) ReadPpm(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        int offset = 0;
        string[] fields = new string[4];
        for (int field = 0; field < 4; field++)
        {
            while (char.IsWhiteSpace((char)file[offset]))
            {
                offset++;
            }

            int start = offset;
            while (!char.IsWhiteSpace((char)file[offset]))
            {
                offset++;
            }

            fields[field] = Encoding.ASCII.GetString(file, start, offset - start);
        }

        Assert.Equal(("P6", "255"), (fields[0], fields[3]));
        int width = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture), height = int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        return (width, height, file.AsSpan(offset + 1, width * height * 3).ToArray());
    }

    /// <summary>A JPEG's size from its start-of-frame marker.</summary>
    private static (int Width, int Height) JpegSize(byte[] jpeg)
    {
        int offset = 2;
        while (offset + 9 < jpeg.Length)
        {
            byte marker = jpeg[offset + 1];
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(offset + 2));
            if (marker is 0xc0 or 0xc1 or 0xc2)
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(offset + 7)), BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(offset + 5)));
            }

            offset += 2 + length;
        }

        return (0, 0);
    }

    /// <summary>Just enough RFB 3.8 to type and point.</summary>
    private sealed class MiniRfbClient : IDisposable
    {
        private readonly NetworkStream _stream;

        public MiniRfbClient(int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, port);
            _stream = new NetworkStream(socket, ownsSocket: true);
            Read(12);
            _stream.Write("RFB 003.008\n"u8);
            Assert.Equal(new byte[] { 1, 1 }, Read(2));
            _stream.WriteByte(1);
            Assert.Equal(new byte[4], Read(4));
            _stream.WriteByte(1);
            byte[] init = Read(24);
            Width = BinaryPrimitives.ReadUInt16BigEndian(init);
            Height = BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2));
            Read((int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20)));
        }

        public int Width { get; }

        public int Height { get; }

        public void Type(string text)
        {
            foreach (char c in text)
            {
                bool shift = "~!@#$%^&*()_+{}|:\"<>?".Contains(c) || char.IsAsciiLetterUpper(c);
                uint keysym = c == '\r' ? 0xff0du : c;
                if (shift)
                {
                    Key(true, 0xffe1);
                }

                Key(true, keysym);
                Key(false, keysym);
                if (shift)
                {
                    Key(false, 0xffe1);
                }

                Thread.Sleep(10);
            }
        }

        public void Pointer(byte mask, int x, int y)
        {
            byte[] message = [5, mask, 0, 0, 0, 0];
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)x);
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)y);
            _stream.Write(message);
        }

        private void Key(bool down, uint keysym)
        {
            byte[] message = [4, down ? (byte)1 : (byte)0, 0, 0, 0, 0, 0, 0];
            BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), keysym);
            _stream.Write(message);
        }

        private byte[] Read(int count)
        {
            byte[] data = new byte[count];
            _stream.ReadExactly(data);
            return data;
        }

        public void Dispose() => _stream.Dispose();
    }
}
