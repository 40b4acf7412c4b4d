using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Client;
using Vessel.Client.Contracts;

// bench/ui: the web interface with 1,000 VMs (issue 15). Prints one table:
//   navigation (logged in) until the VM table shows all 1,000 rows and the resource tree lists
//   them, in Debian's Chromium, p50/p99 of several runs (and the first, with a cold cache);
//   beside the floor: GET /api/v1/vms?pageSize=1000 with curl over HTTPS, p50/p99, as a ratio;
//   the application's JavaScript and CSS, raw and gzip: all of it, and what the first page loads.
// Usage: UiBench VESSEL_DLL GUEST_DIR WORK_DIR RUNS DIST_DIR
string vessel = args[0];
string guest = args[1];
string work = args[2];
int runs = int.Parse(args[3], CultureInfo.InvariantCulture);
string dist = args[4];
const int VmCount = 1000;
const string Admin = "admin@vessel";
const string Password = "bench-ui-Admin-1";
string data = Path.Combine(work, "data");
string passwordFile = Path.Combine(work, "admin-password");
await File.WriteAllTextAsync(passwordFile, Password + "\n");
var results = new List<(string What, string Figure)>();

using Process serve = Serve.Start(vessel, data, passwordFile, out Task<Uri> listening);
try
{
    Uri https = await listening.WaitAsync(TimeSpan.FromMinutes(3));
    using VesselClient client = VesselClient.ForDataDirectory(data);

    // The same 1,000 definitions as bench/platform (a kernel, no NIC, every tenth tagged),
    // made a few at a time: each creation is an operation of its own VM.
    Console.Error.WriteLine($"bench: creating {VmCount:N0} VM definitions...");
    string kernel = Path.Combine(guest, "Image");
    string initrd = Path.Combine(guest, "initrd.gz");
    await Parallel.ForEachAsync(Enumerable.Range(0, VmCount), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = $"def{i:0000}", Kernel = kernel, Initrd = initrd, Nics = [], Tags = i % 10 == 0 ? ["tenth"] : null })));
    TokenCreated token = await client.CreateTokenAsync(new TokenCreateRequest("bench-ui", User: Admin));

    // The floor: the API's own answer, as a script gets it (curl, a new TLS connection each time).
    Console.Error.WriteLine("bench: timing the API's list with curl...");
    string listUrl = new Uri(https, $"api/v1/vms?pageSize={VmCount}&sort=name").ToString();
    for (int i = 0; i < 3; i++)
    {
        await Curl.TimeAsync(listUrl, token.Secret);
    }

    var api = new List<double>();
    for (int i = 0; i < Math.Max(20, runs * 2); i++)
    {
        api.Add(await Curl.TimeAsync(listUrl, token.Secret));
    }

    Console.Error.WriteLine("bench: timing the web interface in Chromium...");
    Browser.BrowserTimes ui = await Browser.TimeAsync(https, Admin, Password, VmCount, runs);

    results.Add(($"API: GET /api/v1/vms, {VmCount:N0} VMs, curl over HTTPS: p50 / p99", $"{Percentile(api, 50):0.0} / {Percentile(api, 99):0.0} ms"));
    results.Add(($"web UI: navigation to {VmCount:N0} VMs in table and tree, first (cold cache)", $"{ui.First:0} ms"));
    results.Add(($"web UI: navigation to {VmCount:N0} VMs in table and tree ({runs} runs): p50 / p99", $"{Percentile(ui.Runs, 50):0} / {Percentile(ui.Runs, 99):0} ms"));
    results.Add(("  of which: until the VM list's answer arrived (page clock): p50 / p99", $"{Percentile(ui.ListArrived, 50):0} / {Percentile(ui.ListArrived, 99):0} ms"));
    results.Add(("  of which: after it, until usable (rendering): p50 / p99", $"{Percentile(ui.AfterList, 50):0} / {Percentile(ui.AfterList, 99):0} ms"));
    results.Add(("  the page's main thread: script / style and layout, p50", $"{Percentile(ui.Script, 50):0} / {Percentile(ui.StyleAndLayout, 50):0} ms"));
    results.Add(("web UI p50 / API p50 (ratio)", $"{Percentile(ui.Runs, 50) / Percentile(api, 50):0.0}x"));
    results.AddRange(Assets.Sizes(dist));
    ResultTable.Print(results);
    return 0;
}
finally
{
    serve.Kill(entireProcessTree: false);
    await serve.WaitForExitAsync();
}

static double Percentile(IEnumerable<double> values, int percentile)
{
    List<double> sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

/// <summary>vessel serve on an HTTPS port of loopback, with admin@vessel's password from a file.</summary>
internal static class Serve
{
    public static Process Start(string vessel, string data, string passwordFile, out Task<Uri> listening)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { vessel, "serve", "--data-dir", data, "--no-default-template", "--admin-password-file", passwordFile, "--listen", "https://127.0.0.1:0" })
        {
            info.ArgumentList.Add(argument);
        }

        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        Process process = Process.Start(info)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            const string Serving = "vessel: serving the API on https://";
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("bench: vessel serve ended before it listened"));
            }
            else if (e.Data.StartsWith(Serving, StringComparison.Ordinal))
            {
                ready.TrySetResult(new Uri($"https://{e.Data[Serving.Length..].Trim()}/"));
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        listening = ready.Task;
        return process;
    }
}

internal static class Curl
{
    /// <summary>curl's own total time of one request, in milliseconds (its process start not counted).</summary>
    public static async Task<double> TimeAsync(string url, string token)
    {
        var info = new ProcessStartInfo("curl") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "-sSk", "--fail", "-o", "/dev/null", "-w", "%{time_total}", "-H", $"Authorization: Bearer {token}", url })
        {
            info.ArgumentList.Add(argument);
        }

        using Process curl = Process.Start(info)!;
        string output = await curl.StandardOutput.ReadToEndAsync();
        string error = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        if (curl.ExitCode != 0)
        {
            throw new InvalidOperationException($"bench: curl failed ({error.Trim()})");
        }

        return double.Parse(output, CultureInfo.InvariantCulture) * 1000;
    }
}

internal static class Browser
{
    /// <summary>
    /// Logs in once, then opens the interface in a new page per run (the session's cookie kept,
    /// the browser's cache warm after the first) and times navigation until the host page's VM
    /// table has every row and the resource tree a link to every VM.
    /// </summary>
    public sealed record BrowserTimes(double First, List<double> Runs, List<double> ListArrived, List<double> AfterList, List<double> Script, List<double> StyleAndLayout);

    public static async Task<BrowserTimes> TimeAsync(Uri https, string user, string password, int vms, int runs)
    {
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        await using IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, ViewportSize = new ViewportSize { Width = 1280, Height = 720 } });
        context.SetDefaultTimeout(120_000);
        string url = new Uri(https, "#/host/local").ToString();
        // True once usable; it also notes the moment in the page's own clock (since navigation).
        string usable = $$"""
            () => {
              const done = document.querySelectorAll('table[aria-label="Virtual machines"] tbody tr').length >= {{vms}}
                && document.querySelectorAll('nav[aria-label="Resources"] a[href^="#/vm/"]').length >= {{vms}};
              if (done && window.usableAt === undefined) window.usableAt = performance.now();
              return done;
            }
            """;
        // When the list of VMs had arrived, in the same clock: what is left is the page's own work.
        const string Breakdown = """
            () => [window.usableAt, Math.max(...performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/vms')).map(e => e.responseEnd))]
            """;

        IPage login = await context.NewPageAsync();
        long start = Stopwatch.GetTimestamp();
        await login.GotoAsync(url);
        await login.GetByLabel("User").FillAsync(user);
        await login.GetByLabel("Password").FillAsync(password);
        await login.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await login.WaitForFunctionAsync(usable);
        await login.CloseAsync();

        double first = double.NaN;
        var times = new List<double>();
        var listArrived = new List<double>();
        var afterList = new List<double>();
        var script = new List<double>();
        var styleAndLayout = new List<double>();
        for (int run = 0; run <= runs; run++)
        {
            IPage page = await context.NewPageAsync();
            // Chromium's own accounting of the page's main thread: script, style and layout.
            ICDPSession devtools = await context.NewCDPSessionAsync(page);
            await devtools.SendAsync("Performance.enable");
            start = Stopwatch.GetTimestamp();
            await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
            await page.WaitForFunctionAsync(usable, null, new PageWaitForFunctionOptions { PollingInterval = 5 });
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            double[] inPage = await page.EvaluateAsync<double[]>(Breakdown);
            Dictionary<string, double> metrics = await MetricsAsync(devtools);
            await page.CloseAsync();
            if (run == 0)
            {
                first = elapsed;
            }
            else
            {
                times.Add(elapsed);
                listArrived.Add(inPage[1]);
                afterList.Add(inPage[0] - inPage[1]);
                script.Add(metrics["ScriptDuration"] * 1000);
                styleAndLayout.Add((metrics["RecalcStyleDuration"] + metrics["LayoutDuration"]) * 1000);
            }
        }

        return new BrowserTimes(first, times, listArrived, afterList, script, styleAndLayout);
    }

    private static async Task<Dictionary<string, double>> MetricsAsync(ICDPSession devtools)
    {
        System.Text.Json.JsonElement? answer = await devtools.SendAsync("Performance.getMetrics");
        return answer!.Value.GetProperty("metrics").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("value").GetDouble());
    }
}

internal static partial class Assets
{
    /// <summary>JavaScript and CSS of the built application: all of it, and what index.html loads at start.</summary>
    public static IEnumerable<(string What, string Figure)> Sizes(string dist)
    {
        string[] files = Directory.GetFiles(Path.Combine(dist, "assets")).Where(f => f.EndsWith(".js", StringComparison.Ordinal) || f.EndsWith(".css", StringComparison.Ordinal)).ToArray();
        string index = File.ReadAllText(Path.Combine(dist, "index.html"));
        var atStart = AssetReference().Matches(index).Select(m => Path.GetFileName(m.Groups[1].Value)).ToHashSet();
        foreach (string kind in new[] { ".js", ".css" })
        {
            string[] all = files.Where(f => f.EndsWith(kind, StringComparison.Ordinal)).ToArray();
            string[] start = all.Where(f => atStart.Contains(Path.GetFileName(f))).ToArray();
            string name = kind == ".js" ? "JavaScript" : "CSS";
            yield return ($"{name} loaded at start ({start.Length} file(s)): raw / gzip", $"{Kib(start.Sum(f => new FileInfo(f).Length))} / {Kib(start.Sum(Gzipped))}");
            yield return ($"{name}, all of it ({all.Length} file(s)): raw / gzip", $"{Kib(all.Sum(f => new FileInfo(f).Length))} / {Kib(all.Sum(Gzipped))}");
        }
    }

    private static long Gzipped(string file)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            using FileStream input = File.OpenRead(file);
            input.CopyTo(gzip);
        }

        return output.Length;
    }

    private static string Kib(long bytes) => $"{bytes / 1024.0:0.0} KiB";

    [GeneratedRegex("(?:src|href)=\"([^\"]+\\.(?:js|css))\"")]
    private static partial Regex AssetReference();
}

/// <summary>The bench's one output: a Markdown table of measures and their figures.</summary>
internal static class ResultTable
{
    public static void Print(IReadOnlyList<(string What, string Figure)> rows)
    {
        int width = rows.Max(r => r.What.Length);
        Console.WriteLine($"| {"measure".PadRight(width)} | result |");
        Console.WriteLine($"|{new string('-', width + 2)}|--------|");
        foreach ((string what, string figure) in rows)
        {
            Console.WriteLine($"| {what.PadRight(width)} | {figure} |");
        }
    }
}
