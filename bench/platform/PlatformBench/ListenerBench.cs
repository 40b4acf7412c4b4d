using System.Diagnostics;
using System.Globalization;
using Vessel.Client;
using Vessel.Client.Contracts;

/// <summary>
/// The API over HTTPS beside the Unix socket: requests per second and p99 latency of
/// <c>GET /api/v1/vms</c> (one page of 100) with 100 concurrent clients, each with its own
/// connection (and TLS session), bounded by a request count and a time limit. HTTPS requests carry
/// a bearer token (VESSEL_TOKEN, else one made for admin@vessel), as network callers must.
/// </summary>
internal static class ListenerBench
{
    public const int Clients = 100;

    /// <summary>Where the daemon listens on HTTPS and the fingerprint it printed.</summary>
    public sealed record Endpoint(Uri Https, string Fingerprint);

    /// <summary>Starts <c>vessel serve</c> with an HTTPS listener on a port the system chooses, and reads where from what it prints.</summary>
    public static (Process Process, Task<Endpoint> Listening) StartServe(string vessel, string data, int vmmPool = 2)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { vessel, "serve", "--data-dir", data, "--no-default-template", "--listen", "https://127.0.0.1:0", "--vmm-pool", vmmPool.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        var listening = new TaskCompletionSource<Endpoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        Uri? https = null;
        Process process = Process.Start(info)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            const string Serving = "vessel: serving the API on https://";
            const string Fingerprint = "vessel: TLS certificate SHA-256 fingerprint ";
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("bench: vessel serve ended before it listened"));
            }
            else if (e.Data.StartsWith(Serving, StringComparison.Ordinal))
            {
                https = new Uri($"https://{e.Data[Serving.Length..].Trim()}/");
            }
            else if (e.Data.StartsWith(Fingerprint, StringComparison.Ordinal) && https is not null)
            {
                listening.TrySetResult(new Endpoint(https, e.Data[Fingerprint.Length..].Split(' ')[0]));
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, listening.Task);
    }

    /// <summary>Measures both transports and returns the table's rows, the ratio last.</summary>
    public static async Task<List<(string What, string Figure)>> CompareAsync(string data, Endpoint endpoint, int requests, TimeSpan limit)
    {
        // The network's callers authenticate: without VESSEL_TOKEN, an API token of the first
        // administrator is made over the socket (root), so that the HTTPS figures count real work.
        string? token = Environment.GetEnvironmentVariable("VESSEL_TOKEN");
        if (string.IsNullOrEmpty(token))
        {
            using VesselClient socket = VesselClient.ForDataDirectory(data);
            token = (await socket.CreateTokenAsync(new TokenCreateRequest("bench", User: "admin@vessel"))).Secret;
        }

        Console.Error.WriteLine($"bench: GET /api/v1/vms with {Clients} clients, at most {requests} requests or {limit.TotalSeconds:0} s per transport...");
        // A pass not counted first: the daemon's JIT reaches its steady tier before either is measured.
        await MeasureAsync(() => VesselClient.ForDataDirectory(data), Math.Min(requests, 2000), limit);
        Figures unix = await MeasureAsync(() => VesselClient.ForDataDirectory(data), requests, limit);
        Figures https = await MeasureAsync(() => VesselClient.ForServer(endpoint.Https, token, endpoint.Fingerprint), requests, limit);
        return
        [
            ($"GET /api/v1/vms, {Clients} clients, Unix socket: req/s; p50 / p99", unix.ToString()),
            ($"GET /api/v1/vms, {Clients} clients, HTTPS with a bearer token: req/s; p50 / p99", https.ToString()),
            ("HTTPS / Unix socket: req/s; p99", $"{https.PerSecond / unix.PerSecond:0.00}x; {https.P99 / unix.P99:0.00}x"),
        ];
    }

    private sealed record Figures(int Count, double PerSecond, double P50, double P99)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{PerSecond:0} req/s ({Count} requests); {P50:0.0} / {P99:0.0} ms");
    }

    private static async Task<Figures> MeasureAsync(Func<VesselClient> connect, int requests, TimeSpan limit)
    {
        VesselClient[] clients = Enumerable.Range(0, Clients).Select(_ => connect()).ToArray();
        try
        {
            // Warm-up, not counted: each client's connection (and TLS handshake), the server's JIT.
            for (int round = 0; round < 3; round++)
            {
                await Task.WhenAll(clients.Select(c => c.ListVmsAsync(pageSize: 100)));
            }

            int remaining = requests;
            var latencies = new List<double>[Clients];
            using var timeUp = new CancellationTokenSource(limit);
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                var mine = latencies[i] = new List<double>();
                while (!timeUp.IsCancellationRequested && Interlocked.Decrement(ref remaining) >= 0)
                {
                    long start = Stopwatch.GetTimestamp();
                    await client.ListVmsAsync(pageSize: 100);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }));
            double seconds = watch.Elapsed.TotalSeconds;
            List<double> all = latencies.SelectMany(l => l).ToList();
            return new Figures(all.Count, all.Count / seconds, Percentiles.Of(all, 50), Percentiles.Of(all, 99));
        }
        finally
        {
            foreach (VesselClient client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// <c>PlatformBench --listener VESSEL_DLL GUEST_DIR WORK_DIR [requests] [seconds]</c>: only this
    /// comparison, with 100 VM definitions in the inventory (no QEMU needed).
    /// </summary>
    public static async Task<int> RunAloneAsync(string[] args)
    {
        string vessel = args[0];
        string kernel = Path.Combine(args[1], "Image");
        string data = Path.Combine(args[2], "data");
        int requests = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 20_000;
        TimeSpan limit = TimeSpan.FromSeconds(args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 60);
        (Process serve, Task<Endpoint> listening) = StartServe(vessel, data);
        using (serve)
        {
            try
            {
                Endpoint endpoint = await listening.WaitAsync(TimeSpan.FromMinutes(3));
                using VesselClient root = VesselClient.ForDataDirectory(data);
                Console.Error.WriteLine("bench: creating 100 VM definitions...");
                for (int i = 0; i < 100; i++)
                {
                    await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest { Name = $"def{i:000}", Kernel = kernel, Nics = [] }));
                }

                List<(string What, string Figure)> rows = await CompareAsync(data, endpoint, requests, limit);
                rows.AddRange(await LoginStormBench.MeasureAsync(data, endpoint, 2_000, limit));
                ResultTable.Print(rows);
            }
            finally
            {
                serve.Kill(entireProcessTree: false);
                serve.WaitForExit();
            }
        }

        return 0;
    }
}
