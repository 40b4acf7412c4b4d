using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Server.Tests.Listener;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// The graphic console through the daemon: a real <c>vessel serve</c> with its HTTPS listener
/// starts Vessel's default guest with <c>display: vnc</c>, and a viewer that behaves as noVNC
/// (a vnc ticket, then a WebSocket asking for the <c>binary</c> subprotocol) speaks RFB to the
/// guest's screen through <c>/api/v1/vms/{vm}/vnc</c>. The guest's serial console, opened beside
/// it, shows what the typed keys did.
/// </summary>
public sealed class VncConsoleTests
{
    [SkippableFact]
    public async Task TheScreenOpensOverHttpsWithAVncTicketShowsTheGuestAndTakesTypedKeys()
    {
        Skip.If(DefaultGuestFiles.Find() is null, DefaultGuestFiles.Missing);
        (string kernel, string initrd) = DefaultGuestFiles.Find()!.Value;
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        VesselClient root = daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest
        {
            Name = "screen",
            Kernel = kernel,
            Initrd = initrd,
            Append = DefaultGuestFiles.CommandLine,
            MemoryBytes = 256L << 20,
            Nics = [],
            Display = VmDisplays.Vnc,
        }));
        await root.WaitForSuccessAsync(await root.VmActionAsync("screen", "start"));
        VmDetails vm = await root.GetVmAsync("screen");

        // The VMM serves its screen on a Unix socket in the VM's run directory, its owner's alone: no port.
        string socketPath = Path.Combine(daemon.DataDirectory, "run", vm.Id.ToString("N"), "vnc.sock");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socketPath));
        Assert.Empty(ListeningTcpPorts(vm.ProcessId!.Value));

        await using ConsoleSession serial = await ConsoleSession.AttachAsync(root, "screen");
        serial.WaitFor(TestFiles.Prompt, TimeSpan.FromMinutes(5));
        // The screen's size as the guest's framebuffer has it; a still cursor, so that two looks compare.
        await serial.SendLineAsync("echo 0 > /sys/class/graphics/fbcon/cursor_blink; echo FB=$(cat /sys/class/graphics/fb0/virtual_size)=FB");
        Match size = serial.WaitFor(new Regex(@"FB=(\d+),(\d+)=FB"));

        using HttpClient https = daemon.PinnedHttp();
        string ticket = await VncTicketAsync(https, "screen");
        await using (RfbSession viewer = await RfbSession.HandshakeAsync(await OpenAsBrowserAsync(daemon, "screen", ticket)))
        {
            Assert.Equal((int.Parse(size.Groups[1].Value), int.Parse(size.Groups[2].Value)), (viewer.Width, viewer.Height));
            byte[] before = await viewer.ScreenAsync();
            byte[] background = MostCommonPixel(before, viewer.BytesPerPixel);
            int litBefore = LitPixels(before, viewer.BytesPerPixel, background);
            Assert.True(litBefore > 0, "the guest's console (a prompt at least) is on the screen");

            // Keys typed on tty1: the command's output goes to the screen and, through tee, to the serial line.
            await viewer.TypeAsync("echo TYPED-$((6*7)) | tee /dev/ttyS0\r");
            serial.WaitFor("TYPED-42", TimeSpan.FromMinutes(1));
            await serial.SendLineAsync("echo VCS=$(grep -o TYPED-42 /dev/vcs1 | wc -l)=VCS");
            Assert.Equal("1", serial.WaitFor(new Regex(@"VCS=(\d+)=VCS")).Groups[1].Value);
            // The relay shows the new text too: the typed line, its output and a new prompt light more pixels.
            byte[] after = await viewer.ScreenAsync();
            Assert.True(LitPixels(after, viewer.BytesPerPixel, background) > litBefore, "the typed command and its output appear on the screen");
        }

        // A ticket opens the screen once.
        (int status, string detail) = await GetAsync(https, $"api/v1/vms/screen/vnc?ticket={Uri.EscapeDataString(ticket)}");
        Assert.Equal((403, "The console ticket was used already; a ticket opens one console once, so ask for a new one."), (status, detail));
        // Without a ticket neither a WebSocket nor a plain request gets through.
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeStatusAsync(daemon, "api/v1/vms/screen/vnc"));
        (status, detail) = await GetAsync(https, "api/v1/vms/screen/vnc");
        Assert.Equal(403, status);
        Assert.Contains("POST /api/v1/vms/screen/console/ticket", detail);
        // A serial console's ticket does not open the screen (and is not used up by trying).
        HttpResponseMessage serialTicket = await https.PostAsJsonAsync("api/v1/vms/screen/console/ticket", new { kind = ConsoleKinds.Serial });
        string serialTicketText = (await serialTicket.Content.ReadFromJsonAsync<ConsoleTicket>(VesselClient.JsonOptions))!.Ticket;
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeStatusAsync(daemon, $"api/v1/vms/screen/vnc?ticket={Uri.EscapeDataString(serialTicketText)}"));
        (status, detail) = await GetAsync(https, $"api/v1/vms/screen/console?ticket={Uri.EscapeDataString(serialTicketText)}");
        Assert.Equal((400, "The console is a WebSocket; connect with a WebSocket client (vessel vm console NAME)."), (status, detail));

        // Taking the display away is a pending change: the running VMM keeps its screen until it restarts.
        VmDetails edited = await root.EditVmAsync("screen", new VmEditRequest { Display = VmDisplays.None });
        Assert.Equal(VmDisplays.None, edited.Display);
        Assert.Contains("display", edited.PendingChanges);
        await using (RfbSession again = await RfbSession.HandshakeAsync(await OpenAsBrowserAsync(daemon, "screen", await VncTicketAsync(https, "screen"))))
        {
            Assert.Equal((int.Parse(size.Groups[1].Value), int.Parse(size.Groups[2].Value)), (again.Width, again.Height));
        }

        Assert.Empty((await root.EditVmAsync("screen", new VmEditRequest { Display = VmDisplays.Vnc })).PendingChanges);

        // Each WebSocket opened, or refused, is on record with its outcome: two sessions (101), two refusals (403).
        Page<AuditEntryInfo> audit = await root.GetAsync<Page<AuditEntryInfo>>("api/v1/audit?action=vm.vnc&pageSize=100");
        Assert.All(audit.Items, e => Assert.Equal(("vm:screen", "admin@vessel!listener-tests"), (e.Object, e.User)));
        Assert.Equal([101, 403, 403, 101], audit.Items.OrderBy(e => e.Sequence).Select(e => e.Status));
    }

    [Fact]
    public async Task AVmRunningWithoutADisplayHasNoScreenToOpen()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        VesselClient root = daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest
        {
            Name = "headless",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 128L << 20,
            Nics = [],
        }));
        await root.WaitForSuccessAsync(await root.VmActionAsync("headless", "start"));
        Assert.False(File.Exists(Path.Combine(daemon.DataDirectory, "run", (await root.GetVmAsync("headless")).Id.ToString("N"), "vnc.sock")));

        using HttpClient https = daemon.PinnedHttp();
        JsonObject refused = await Http.ProblemAsync(await https.PostAsJsonAsync("api/v1/vms/headless/console/ticket", new { kind = ConsoleKinds.Vnc }), 409);
        Assert.Equal("VM 'headless' has no display; give it one (display: vnc) and start it again.", refused["detail"]!.GetValue<string>());
        // On the Unix socket no ticket is needed, and the answer is the same.
        VesselApiException local = await Assert.ThrowsAsync<VesselApiException>(() => root.SendAsync(HttpMethod.Get, "api/v1/vms/headless/vnc", null, null, CancellationToken.None));
        Assert.Equal((409, "VM 'headless' has no display; give it one (display: vnc) and start it again."), (local.Status, local.Message));

        // Given a display while it runs, it has one at its next start, not now.
        Assert.Contains("display", (await root.EditVmAsync("headless", new VmEditRequest { Display = VmDisplays.Vnc })).PendingChanges);
        string ticket = await VncTicketAsync(https, "headless");
        (int status, string detail) = await GetAsync(https, $"api/v1/vms/headless/vnc?ticket={Uri.EscapeDataString(ticket)}");
        Assert.Equal((409, "VM 'headless' was started without a display; it gets its screen at its next start."), (status, detail));
    }

    private static async Task<string> VncTicketAsync(HttpClient https, string vm)
    {
        HttpResponseMessage response = await https.PostAsJsonAsync($"api/v1/vms/{vm}/console/ticket", new { kind = ConsoleKinds.Vnc });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ConsoleTicket>(VesselClient.JsonOptions))!.Ticket;
    }

    /// <summary>Opens the screen's WebSocket as noVNC in a page of the daemon's does: its own origin, the <c>binary</c> subprotocol.</summary>
    private static async Task<WebSocket> OpenAsBrowserAsync(ListenerDaemon daemon, string vm, string ticket)
    {
        ClientWebSocket socket = NewWebSocket(daemon);
        socket.Options.AddSubProtocol("binary");
        await socket.ConnectAsync(WebSocketUri(daemon, $"api/v1/vms/{vm}/vnc?ticket={Uri.EscapeDataString(ticket)}"), CancellationToken.None);
        Assert.Equal("binary", socket.SubProtocol);
        return socket;
    }

    private static async Task<HttpStatusCode> UpgradeStatusAsync(ListenerDaemon daemon, string path)
    {
        using ClientWebSocket socket = NewWebSocket(daemon);
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri(daemon, path), CancellationToken.None));
        return socket.HttpStatusCode;
    }

    private static ClientWebSocket NewWebSocket(ListenerDaemon daemon)
    {
        var socket = new ClientWebSocket();
        string pinned = daemon.Fingerprint;
        socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 c && ListenerDaemon.FingerprintOf(c) == pinned;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {daemon.Token}");
        socket.Options.SetRequestHeader("Origin", daemon.Https.GetLeftPart(UriPartial.Authority));
        return socket;
    }

    private static Uri WebSocketUri(ListenerDaemon daemon, string path) => new(new Uri(daemon.Https.ToString().Replace("https://", "wss://")), path);

    private static async Task<(int Status, string Detail)> GetAsync(HttpClient http, string path)
    {
        HttpResponseMessage response = await http.GetAsync(path);
        JsonObject problem = await Http.ProblemAsync(response, (int)response.StatusCode);
        return ((int)response.StatusCode, problem["detail"]!.GetValue<string>());
    }

    private static byte[] MostCommonPixel(byte[] screen, int bytesPerPixel) =>
        screen.Chunk(bytesPerPixel).GroupBy(Convert.ToHexString).MaxBy(g => g.Count())!.First();

    private static int LitPixels(byte[] screen, int bytesPerPixel, byte[] background) =>
        screen.Chunk(bytesPerPixel).Count(p => !p.AsSpan().SequenceEqual(background));

    /// <summary>The TCP ports <paramref name="pid"/> listens on: its sockets (/proc/PID/fd) found in LISTEN state in /proc/net/tcp and tcp6.</summary>
    private static List<int> ListeningTcpPorts(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var ports = new List<int>();
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                const string Listen = "0A";
                if (fields.Length > 9 && fields[3] == Listen && inodes.Contains(fields[9]))
                {
                    ports.Add(Convert.ToInt32(fields[1][(fields[1].LastIndexOf(':') + 1)..], 16));
                }
            }
        }

        return ports;
    }
}
