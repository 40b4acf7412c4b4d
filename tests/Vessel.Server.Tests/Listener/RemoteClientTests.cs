using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Listener;

/// <summary>
/// The <c>vessel</c> command and the typed client talking to a daemon over HTTPS:
/// <c>--server</c> with the certificate's fingerprint pinned (option or environment), and the
/// refusals when the fingerprint is wrong or the certificate untrusted, in one sentence that
/// names the fingerprint to check.
/// </summary>
public sealed class RemoteClientTests
{
    private sealed record Result(int ExitCode, string Output, string Error);

    private static async Task<Result> VesselAsync(IDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(TestFiles.VesselAssembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No local daemon to fall back on: the data directory named by the environment is empty.
        start.Environment["VESSEL_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "vessel-no-daemon-here");
        start.Environment.Remove("VESSEL_FINGERPRINT");
        start.Environment.Remove("VESSEL_TOKEN");
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new Result(process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task TheCliWithServerAndAPinnedFingerprintDrivesTheDaemon()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        string server = daemon.Https.GetLeftPart(UriPartial.Authority);

        var withToken = new Dictionary<string, string> { ["VESSEL_TOKEN"] = daemon.Token };
        Result created = await VesselAsync(withToken, "network", "create", "remote1", "--kind", "isolated", "--server", server, "--fingerprint", daemon.Fingerprint, "--output", "json");
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains(await daemon.Serve.Client.ListNetworksAsync(), n => n.Name == "remote1");

        // The fingerprint from the environment, written without colons in lower case, as scripts may keep it.
        var environment = new Dictionary<string, string> { ["VESSEL_FINGERPRINT"] = daemon.Fingerprint.Replace(":", "").ToLowerInvariant(), ["VESSEL_TOKEN"] = daemon.Token };
        Result listed = await VesselAsync(environment, "network", "list", "--server", server, "--output", "json");
        Assert.True(listed.ExitCode == 0, listed.Error);
        Assert.Contains(JsonNode.Parse(listed.Output)!.AsArray(), n => n!["name"]!.GetValue<string>() == "remote1");
    }

    [Fact]
    public async Task AWrongFingerprintOrAnUntrustedCertificateIsRefusedInOneSentenceThatNamesTheFingerprint()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        string server = daemon.Https.GetLeftPart(UriPartial.Authority);
        (_, _, string otherFingerprint) = TestCertificates.Make("elsewhere.example");

        Result wrong = await VesselAsync(null, "vm", "list", "--server", server, "--fingerprint", otherFingerprint);
        Assert.Equal(1, wrong.ExitCode);
        string sentence = OneSentenceOf(wrong.Error);
        Assert.Contains(daemon.Fingerprint, sentence);
        Assert.Contains("not the pinned one", sentence);
        Assert.Empty(wrong.Output);

        Result untrusted = await VesselAsync(null, "vm", "list", "--server", server);
        Assert.Equal(1, untrusted.ExitCode);
        sentence = OneSentenceOf(untrusted.Error);
        Assert.Contains(daemon.Fingerprint, sentence);
        Assert.Contains("--fingerprint", sentence);

        Result malformed = await VesselAsync(null, "vm", "list", "--server", server, "--fingerprint", "12:34");
        Assert.Equal(2, malformed.ExitCode);
        OneSentenceOf(malformed.Error);

        Result cleartext = await VesselAsync(null, "vm", "list", "--server", daemon.Https.GetLeftPart(UriPartial.Authority).Replace("https://", "http://"));
        Assert.Equal(2, cleartext.ExitCode);
        OneSentenceOf(cleartext.Error);
    }

    [Fact]
    public async Task TheTypedClientOpensTheEventStreamOverHttps()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        using VesselClient client = VesselClient.ForServer(daemon.Https, daemon.Token, daemon.Fingerprint);
        Assert.True(client.IsRemote);

        using WebSocket events = await client.ConnectEventsAsync();
        await daemon.Serve.Client.WaitForSuccessAsync(await daemon.Serve.Client.CreateVmAsync(new Client.Contracts.VmCreateRequest { Name = "evented", Kernel = TestFiles.Kernel, Nics = [] }));
        byte[] buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        string received = "";
        while (!received.Contains("evented", StringComparison.Ordinal))
        {
            WebSocketReceiveResult result = await events.ReceiveAsync(buffer, timeout.Token);
            received += System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count);
        }

        Assert.Contains("evented", received);
    }

    [Fact]
    public async Task TheConsoleOpensOverHttpsWithATicketAndReachesTheGuest()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        VesselClient root = daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new Client.Contracts.VmCreateRequest
        {
            Name = "remote-console",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 128L << 20,
            Nics = [],
        }));
        await root.WaitForSuccessAsync(await root.VmActionAsync("remote-console", "start"));

        using VesselClient remote = VesselClient.ForServer(daemon.Https, daemon.Token, daemon.Fingerprint);
        await using ConsoleSession console = await ConsoleSession.AttachAsync(remote, "remote-console");
        console.WaitFor(TestFiles.Prompt);
        await console.RunAsync("echo remote-$((40+2))", "remote-42");
    }

    /// <summary>The single line the CLI printed on stderr, checked to be one sentence after "vessel: ".</summary>
    private static string OneSentenceOf(string error)
    {
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("vessel: ", line);
        Http.AssertOneSentence(line["vessel: ".Length..]);
        return line;
    }
}
