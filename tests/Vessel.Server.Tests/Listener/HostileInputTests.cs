using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Listener;

/// <summary>One daemon on loopback HTTPS for the hostile-input tests (they only add objects with names of their own).</summary>
public sealed class HostileDaemonFixture : IAsyncLifetime
{
    public ListenerDaemon Daemon { get; private set; } = null!;

    public async Task InitializeAsync() => Daemon = await ListenerDaemon.StartAsync(redirect: false);

    public Task DisposeAsync()
    {
        Daemon.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Hostile input through the network listener: oversized bodies and headers, path traversal in
/// every kind of name, SQL and HTML/script payloads (refused, or stored and returned inert),
/// and WebSocket upgrades from other origins.
/// </summary>
public sealed class HostileInputTests(HostileDaemonFixture fixture) : IClassFixture<HostileDaemonFixture>
{
    private ListenerDaemon Daemon => fixture.Daemon;

    private static string Status(string response) => response.Length >= 12 ? response[9..12] : $"(no answer: '{response}')";

    [Fact]
    public async Task OversizedBodiesAreRefusedWith413InOneSentenceWhileUploadsStream()
    {
        using HttpClient http = Daemon.PinnedHttp();
        // Over HTTP/2 the server's 413 ends the one stream while the client is still sending; over
        // HTTP/1.1 it closed the connection under the client's writes, which then failed with a
        // broken pipe instead of reading the answer whenever the machine was busy.
        http.DefaultRequestVersion = System.Net.HttpVersion.Version20;
        http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        string description = new('x', 2 << 20);
        using var declared = new StringContent($"{{\"name\":\"big\",\"description\":\"{description}\"}}", Encoding.UTF8, "application/json");
        await Http.ProblemAsync(await http.PostAsync("api/v1/vms", declared), 413);

        // Without a length up front (HTTP/2 DATA frames, as chunked in HTTP/1.1), the limit holds as the body arrives.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($"{{\"name\":\"big\",\"description\":\"{description}\"}}")));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/vms") { Content = chunked, Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        await Http.ProblemAsync(await http.SendAsync(request), 413);
        Assert.Equal(0, (await Daemon.Serve.Client.ListVmsAsync(name: "big")).Total);

        // The volume upload streams its content and is not bound by the JSON limit.
        byte[] content = new byte[3 << 20];
        using var upload = new ByteArrayContent(content);
        upload.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage uploaded = await http.PutAsync("api/v1/pools/default/volumes/streamed/content?format=raw", upload);
        Assert.True(uploaded.IsSuccessStatusCode, await uploaded.Content.ReadAsStringAsync());
        Assert.Equal(content.Length, (await Daemon.Serve.Client.GetVolumeAsync("default", "streamed")).VirtualBytes);
    }

    [Fact]
    public async Task OversizedHeadersAndRequestLinesAreRefusedAndTheServerAnswersOn()
    {
        string host = $"Host: {Daemon.Https.Authority}\r\n";
        string huge = await Daemon.RawAsync($"GET /api/v1/vms HTTP/1.1\r\n{host}X-Padding: {new string('a', 40 * 1024)}\r\nConnection: close\r\n\r\n");
        Assert.Equal("431", Status(huge));

        var many = new StringBuilder();
        for (int i = 0; i < 150; i++)
        {
            many.Append($"X-Header-{i}: {i}\r\n");
        }

        Assert.Equal("431", Status(await Daemon.RawAsync($"GET /api/v1/vms HTTP/1.1\r\n{host}{many}Connection: close\r\n\r\n")));
        Assert.Equal("414", Status(await Daemon.RawAsync($"GET /api/v1/vms?name={new string('a', 16 * 1024)} HTTP/1.1\r\n{host}Connection: close\r\n\r\n")));

        using HttpClient http = Daemon.PinnedHttp();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/vms")).StatusCode);
    }

    public static TheoryData<string> TraversalSegments => new()
    {
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2E%2E%2F%2E%2E%2Fetc",
        "..%5C..%5Cescape",
        "a%2Fb",
        "%2F",
        "..%00",
        "%252e%252e%252f",
    };

    [Theory]
    [MemberData(nameof(TraversalSegments))]
    public async Task PathTraversalInEveryNameOfAPathIsRefusedOrNotFound(string segment)
    {
        string[] templates =
        [
            "GET /api/v1/vms/{0}",
            "GET /api/v1/vms/{0}/snapshots",
            "POST /api/v1/vms/{0}/snapshots/{0}/revert",
            "DELETE /api/v1/vms/vm-none/snapshots/{0}",
            "GET /api/v1/pools/{0}",
            "GET /api/v1/pools/{0}/volumes",
            "GET /api/v1/pools/default/volumes/{0}",
            "DELETE /api/v1/pools/default/volumes/{0}",
            "PUT /api/v1/pools/default/volumes/{0}/content?format=raw",
            "GET /api/v1/networks/{0}",
            "DELETE /api/v1/networks/{0}",
        ];
        foreach (string template in templates)
        {
            string[] parts = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, segment).Split(' ');
            string body = parts[0] == "PUT" ? "Content-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nXXXX" : "Content-Length: 0\r\n\r\n";
            string response = await Daemon.RawAsync($"{parts[0]} {parts[1]} HTTP/1.1\r\nHost: {Daemon.Https.Authority}\r\nConnection: close\r\n{body}");
            Assert.True(Status(response) is "400" or "404" or "405", $"{parts[0]} {parts[1]} answered {response}");
        }

        // A whole segment of "..", raw or encoded as %2e%2e, is a dot segment of the URL: the server
        // resolves it before routing (RFC 3986), so it names nothing outside the API.
        foreach (string dots in new[] { "..", "%2e%2e", "%2E%2e", ".%2e" })
        {
            string dotted = await Daemon.RawAsync($"GET /api/v1/vms/{dots}/{dots}/{dots}/{dots}/etc/passwd HTTP/1.1\r\nHost: {Daemon.Https.Authority}\r\nConnection: close\r\n\r\n");
            Assert.Equal("404", Status(dotted));
            Assert.DoesNotContain("root:", dotted);
        }
        AssertNothingOutsideTheDataDirectory();
    }

    public static TheoryData<string> HostileNames => new()
    {
        "../escape",
        "../../../../tmp/escape",
        "..",
        "a/b",
        "..\\escape",
        "x'; DROP TABLE Vms; --",
        "<script>alert(1)</script>",
        "\u0000nul",
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public async Task HostileNamesInBodiesAreRefusedForEveryKindOfObject(string name)
    {
        using HttpClient http = Daemon.PinnedHttp();
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/vms", new { name, kernel = TestFiles.Kernel, nics = Array.Empty<object>() }), 400);
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/pools", new { name, path = Path.Combine(Daemon.Temp.Path, "pool") }), 400);
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/pools/default/volumes", new { name, sizeBytes = 1 << 20 }), 400);
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/networks", new { name, kind = "isolated" }), 400);
        await EnsureVmAsync(http, "hostile-source");
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/vms/hostile-source/snapshots", new { name }), 400);
        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/vms/hostile-source/clone", new { name }), 400);
        if ((await http.GetAsync("api/v1/pools/default/volumes/hostile-volume")).StatusCode == HttpStatusCode.NotFound)
        {
            Assert.True((await http.PostAsJsonAsync("api/v1/pools/default/volumes", new { name = "hostile-volume", sizeBytes = 1 << 20 })).IsSuccessStatusCode);
        }

        await Http.ProblemAsync(await http.PostAsJsonAsync("api/v1/pools/default/volumes/hostile-volume/copy", new { name }), 400);

        Assert.DoesNotContain((await Daemon.Serve.Client.ListVmsAsync(pageSize: 1000)).Items, v => v.Name != "hostile-source" && !v.Name.StartsWith("inert", StringComparison.Ordinal));
        AssertNothingOutsideTheDataDirectory();
    }

    public static TheoryData<string> InertPayloads => new()
    {
        "'; DROP TABLE Vms; --",
        "Robert'); DELETE FROM Vms WHERE ''='",
        "\" OR 1=1 --",
        "<script>alert(document.cookie)</script>",
        "\"><img src=x onerror=alert(1)>",
        "javascript:alert(1)//\u2028\u2029",
        "{{7*7}} ${7*7} <%= 7*7 %>",
        "línea\nzweite Zeile 😀 \\ \" '",
    };

    [Theory]
    [MemberData(nameof(InertPayloads))]
    public async Task SqlAndScriptPayloadsInDescriptionsAreStoredAndReturnedInert(string payload)
    {
        using HttpClient http = Daemon.PinnedHttp();
        string name = $"inert-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(payload)))[..12].ToLowerInvariant()}";
        OperationInfoStatus created = await CreateAsync(http, new { name, kernel = TestFiles.Kernel, nics = Array.Empty<object>(), description = payload });
        Assert.True(created.Status == Client.Contracts.OperationStatuses.Succeeded, created.Error);

        using HttpResponseMessage response = await http.GetAsync($"api/v1/vms/{name}");
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(payload, JsonNode.Parse(body)!["description"]!.GetValue<string>());
        // HTML's special characters travel escaped: the JSON can be pasted into a page and stays text.
        Assert.DoesNotContain("<", body);
        Assert.DoesNotContain(">", body);

        // The payload as a filter is a string compared, never SQL run: it finds nothing and breaks nothing.
        using HttpResponseMessage filtered = await http.GetAsync($"api/v1/vms?name={Uri.EscapeDataString(payload)}");
        Assert.Equal(HttpStatusCode.OK, filtered.StatusCode);
        Assert.Equal(0, JsonNode.Parse(await filtered.Content.ReadAsStringAsync())!["total"]!.GetValue<int>());
        Assert.True((await Daemon.Serve.Client.ListVmsAsync(name: name)).Total == 1);

        // Edited in, it is returned the same way.
        using HttpResponseMessage edited = await http.PatchAsJsonAsync($"api/v1/vms/{name}", new { description = payload + payload });
        Assert.True(edited.IsSuccessStatusCode, await edited.Content.ReadAsStringAsync());
        Assert.Equal(payload + payload, (await Daemon.Serve.Client.GetVmAsync(name)).Description);
    }

    [Fact]
    public async Task WebSocketUpgradesFromAnotherOriginAreRefused()
    {
        string own = Daemon.Https.GetLeftPart(UriPartial.Authority);
        foreach (string origin in new[] { "https://evil.example", "null", own.Replace("https://", "http://"), $"https://127.0.0.1:{Daemon.Https.Port + 1}", "https://127.0.0.1.evil.example" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync("api/v1/events", origin));
            Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync("api/v1/vms/hostile-source/console", origin));
        }

        // The listener's own pages, and clients that are not browsers (no Origin), get their events.
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await UpgradeAsync("api/v1/events", own));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await UpgradeAsync("api/v1/events", null));
    }

    private async Task<HttpStatusCode> UpgradeAsync(string path, string? origin)
    {
        using var socket = new ClientWebSocket();
        string pinned = Daemon.Fingerprint;
        socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is System.Security.Cryptography.X509Certificates.X509Certificate2 c && ListenerDaemon.FingerprintOf(c) == pinned;
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {Daemon.Token}");
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        try
        {
            await socket.ConnectAsync(new Uri(new Uri(Daemon.Https.ToString().Replace("https://", "wss://")), path), CancellationToken.None);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }

        return socket.HttpStatusCode;
    }

    private sealed record OperationInfoStatus(string Status, string? Error);

    private static async Task<OperationInfoStatus> CreateAsync(HttpClient http, object request)
    {
        Client.Contracts.OperationInfo done = await Http.WaitAsync(http, await http.PostAsJsonAsync("api/v1/vms", request));
        return new OperationInfoStatus(done.Status, done.Error);
    }

    private static async Task EnsureVmAsync(HttpClient http, string name)
    {
        if ((await http.GetAsync($"api/v1/vms/{name}")).StatusCode == HttpStatusCode.NotFound)
        {
            await CreateAsync(http, new { name, kernel = TestFiles.Kernel, nics = Array.Empty<object>() });
        }
    }

    /// <summary>The test's directory holds the data directory and nothing that a hostile name could have put beside it.</summary>
    private void AssertNothingOutsideTheDataDirectory()
    {
        Assert.Equal(["data"], Directory.EnumerateFileSystemEntries(Daemon.Temp.Path).Select(p => Path.GetFileName(p)!).Where(n => n != "pool").ToArray());
        Assert.False(File.Exists("/tmp/escape"));
        Assert.Empty(Directory.EnumerateFiles(Daemon.DataDirectory, "*escape*", SearchOption.AllDirectories));
    }
}
