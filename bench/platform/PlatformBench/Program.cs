using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;

// bench/platform: what the platform costs (issue #12). Prints one table:
//   API latency (p50/p99) of list and get with 1,000 VMs in the inventory;
//   20 VMs created and started;
//   2,000 failed logins over HTTPS from 20 clients: the lockout, the server's answers meanwhile (LoginStormBench);
//   200 snapshots of one VM through the API beside qemu-img snapshot -c (SnapshotBench);
//   GET /api/v1/vms with 100 concurrent clients over HTTPS beside the Unix socket (ListenerBench);
//   N instant clones of a running 256 MiB guest (request to running; Pss per idle clone),
//   beside N fresh VM starts and beside QEMU restoring the same guest from a file N times.
// Usage: PlatformBench VESSEL_DLL GUEST_DIR WORK_DIR [clones]
//        PlatformBench --listener VESSEL_DLL GUEST_DIR WORK_DIR [requests] [seconds]
//        PlatformBench --snapshots VESSEL_DLL GUEST_DIR WORK_DIR [count]
//        PlatformBench --api VESSEL_DLL GUEST_DIR WORK_DIR   (the API's figures only, no VM runs)
//        PlatformBench --clones VESSEL_DLL GUEST_DIR WORK_DIR [clones]   (instant clones, fresh starts and QEMU only)
// The daemon keeps a pool of N pre-started VMMs (vessel serve --vmm-pool N): the clones and the
// fresh starts are each timed once the pool is full, as on a host sized for such a burst.
if (args.Length > 0 && args[0] == "--listener")
{
    return await ListenerBench.RunAloneAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "--snapshots")
{
    return await SnapshotBench.RunAloneAsync(args[1..]);
}

// --api: only the API's figures (list, get, filter with 1,000 VMs; the listener; the login storm; snapshots), no VM runs.
bool apiOnly = args.Length > 0 && args[0] == "--api";
bool clonesOnly = args.Length > 0 && args[0] == "--clones";
if (apiOnly || clonesOnly)
{
    args = args[1..];
}

string vessel = args[0];
string guest = args[1];
string work = args[2];
int count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 50;
string kernel = Path.Combine(guest, "Image");
string initrd = Path.Combine(guest, "initrd.gz");
const string Append = "console=ttyS0 panic=-1 quiet";
string data = Path.Combine(work, "data");
var results = new List<(string What, string Figure)>();

(Process serveProcess, Task<ListenerBench.Endpoint> listening) = ListenerBench.StartServe(vessel, data, vmmPool: apiOnly ? 0 : Math.Min(count, 64));
using Process serve = serveProcess;
try
{
    using VesselClient client = VesselClient.ForDataDirectory(data);
    await WaitUntilAsync(async () => { try { await client.GetServerInfoAsync(); return true; } catch (VesselApiException) { return false; } });

    if (!clonesOnly)
    {
        // 1. API latency with 1,000 VMs in the inventory.
        Console.Error.WriteLine("bench: creating 1,000 VM definitions...");
        for (int i = 0; i < 1000; i++)
        {
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = $"def{i:0000}", Kernel = kernel, Initrd = initrd, Nics = [], Tags = i % 10 == 0 ? ["tenth"] : null }));
        }

        for (int i = 0; i < 20; i++)
        {
            await client.ListVmsAsync(pageSize: 1000); // warm-up
        }

        List<double> list = await TimeManyAsync(200, _ => client.ListVmsAsync(pageSize: 1000));
        List<double> get = await TimeManyAsync(1000, i => client.GetVmAsync($"def{i % 1000:0000}"));
        List<double> filtered = await TimeManyAsync(200, _ => client.ListVmsAsync(pageSize: 100, tags: ["tenth"]));
        results.Add(("list 1,000 VMs (one page of 1,000): p50 / p99", $"{P(list, 50):0.0} / {P(list, 99):0.0} ms"));
        results.Add(("get one VM of 1,000: p50 / p99", $"{P(get, 50):0.0} / {P(get, 99):0.0} ms"));
        results.Add(("list filtered by tag (100 of 1,000): p50 / p99", $"{P(filtered, 50):0.0} / {P(filtered, 99):0.0} ms"));
        ListenerBench.Endpoint endpoint = await listening.WaitAsync(TimeSpan.FromMinutes(1));
        results.AddRange(await ListenerBench.CompareAsync(data, endpoint, 20_000, TimeSpan.FromSeconds(60)));
        results.AddRange(await LoginStormBench.MeasureAsync(data, endpoint, 2_000, TimeSpan.FromSeconds(60)));
        results.AddRange(await SnapshotBench.MeasureAsync(client, kernel, work, SnapshotBench.DefaultCount));
        if (apiOnly)
        {
            ResultTable.Print(results);
            return 0;
        }

        // 2. 20 VMs created and started, one after another.
        Console.Error.WriteLine("bench: 20 VMs created and started...");
        var started = Stopwatch.StartNew();
        var starts = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = $"run{i:00}", Kernel = kernel, Initrd = initrd, Append = Append, MemoryBytes = 256L << 20 }));
            var one = Stopwatch.StartNew();
            await client.WaitForSuccessAsync(await client.VmActionAsync($"run{i:00}", "start"));
            starts.Add(one.Elapsed.TotalMilliseconds);
        }

        results.Add(("20 VMs created and started: total; start p50 / p99", $"{started.Elapsed.TotalSeconds:0.0} s; {P(starts, 50):0} / {P(starts, 99):0} ms"));
        for (int i = 0; i < 20; i++)
        {
            await client.WaitForSuccessAsync(await client.VmActionAsync($"run{i:00}", "stop"));
        }
    }

    // 3. Instant clones of a running 256 MiB guest, made while it stays paused (one state file).
    Console.Error.WriteLine($"bench: {count} instant clones...");
    await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "source", Kernel = kernel, Initrd = initrd, Append = Append, MemoryBytes = 256L << 20, Disks = [new DiskRequest { SizeBytes = 64L << 20 }] }));
    await client.WaitForSuccessAsync(await client.VmActionAsync("source", "start"));
    await WaitForPromptAsync(client, "source");
    await client.WaitForSuccessAsync(await client.VmActionAsync("source", "pause"));
    await WaitForPoolAsync(client, Math.Min(count, 64));
    var cloneTimes = new List<double>();
    for (int i = 0; i < count; i++)
    {
        var one = Stopwatch.StartNew();
        await client.WaitForSuccessAsync(await client.CloneVmAsync("source", new CloneRequest { Name = $"clone{i:00}", Mode = "instant" }));
        cloneTimes.Add(one.Elapsed.TotalMilliseconds);
    }

    await Task.Delay(TimeSpan.FromSeconds(10)); // idle
    List<double> clonePss = [];
    for (int i = 0; i < count; i++)
    {
        clonePss.Add(PssMiB((await client.GetVmAsync($"clone{i:00}")).ProcessId!.Value));
    }

    results.Add(($"{count} instant clones: request to running p50 / p99 (first)", $"{P(cloneTimes, 50):0} / {P(cloneTimes, 99):0} ms ({cloneTimes[0]:0} ms)"));
    results.Add(($"{count} instant clones: Pss per idle clone, median / max", $"{P(clonePss, 50):0.0} / {clonePss.Max():0.0} MiB"));
    for (int i = 0; i < count; i++)
    {
        await client.WaitForSuccessAsync(await client.VmActionAsync($"clone{i:00}", "stop"));
    }

    // 4. The same number of fresh VM starts (boot from the kernel).
    Console.Error.WriteLine($"bench: {count} fresh starts...");
    await WaitForPoolAsync(client, Math.Min(count, 64));
    var freshTimes = new List<double>();
    for (int i = 0; i < count; i++)
    {
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = $"fresh{i:00}", Kernel = kernel, Initrd = initrd, Append = Append, MemoryBytes = 256L << 20 }));
        var one = Stopwatch.StartNew();
        await client.WaitForSuccessAsync(await client.VmActionAsync($"fresh{i:00}", "start"));
        freshTimes.Add(one.Elapsed.TotalMilliseconds);
    }

    await Task.Delay(TimeSpan.FromSeconds(10));
    List<double> freshPss = [];
    for (int i = 0; i < count; i++)
    {
        freshPss.Add(PssMiB((await client.GetVmAsync($"fresh{i:00}")).ProcessId!.Value));
    }

    results.Add(($"{count} fresh VM starts: request to running p50 / p99", $"{P(freshTimes, 50):0} / {P(freshTimes, 99):0} ms"));
    results.Add(($"{count} fresh VMs: Pss per VM 10 s after start, median / max", $"{P(freshPss, 50):0.0} / {freshPss.Max():0.0} MiB"));
    for (int i = 0; i < count; i++)
    {
        await client.WaitForSuccessAsync(await client.VmActionAsync($"fresh{i:00}", "stop"));
    }

    await client.WaitForSuccessAsync(await client.VmActionAsync("source", "stop"));
}
finally
{
    serve.Kill(entireProcessTree: false);
    serve.WaitForExit();
}

// 5. QEMU restoring the same guest (booted to its prompt, saved with migrate) from a file.
Console.Error.WriteLine($"bench: QEMU restoring from a file {count} times...");
string stateFile = Path.Combine(work, "qemu.state");
string qmpPath = Path.Combine(work, "qemu-save.qmp");
string serial = Path.Combine(work, "qemu-save.serial");
string[] machine = ["-M", "virt", "-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", Append, "-nic", "none", "-monitor", "none"];
using (Process saver = Start("qemu-system-riscv64", [.. machine, "-serial", $"file:{serial}", "-qmp", $"unix:{qmpPath},server=on,wait=off"]))
{
    await WaitUntilAsync(() => Task.FromResult(File.Exists(serial) && File.ReadAllText(serial).Contains("/ # ", StringComparison.Ordinal)), TimeSpan.FromMinutes(5));
    using QmpLine qmp = await QmpLine.ConnectAsync(qmpPath);
    await qmp.RunAsync("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > " + stateFile + "\"}}");
    await WaitUntilAsync(async () => (await qmp.RunAsync("{\"execute\":\"query-migrate\"}")).Contains("\"completed\"", StringComparison.Ordinal));
    await qmp.RunAsync("{\"execute\":\"quit\"}");
    saver.WaitForExit();
}

var qemuTimes = new List<double>();
var qemuPss = new List<double>();
var restored = new List<Process>();
try
{
    for (int i = 0; i < count; i++)
    {
        string socket = Path.Combine(work, $"qemu{i}.qmp");
        var one = Stopwatch.StartNew();
        Process qemu = Start("qemu-system-riscv64", [.. machine, "-serial", "null", "-qmp", $"unix:{socket},server=on,wait=off", "-incoming", $"exec:cat {stateFile}"]);
        restored.Add(qemu);
        using QmpLine qmp = await QmpLine.ConnectAsync(socket);
        await WaitUntilAsync(async () => (await qmp.RunAsync("{\"execute\":\"query-status\"}")).Contains("\"running\"", StringComparison.Ordinal), pollMs: 1);
        qemuTimes.Add(one.Elapsed.TotalMilliseconds);
    }

    await Task.Delay(TimeSpan.FromSeconds(10));
    qemuPss.AddRange(restored.Select(p => PssMiB(p.Id)));
}
finally
{
    foreach (Process qemu in restored)
    {
        qemu.Kill();
        qemu.WaitForExit();
        qemu.Dispose();
    }
}

results.Add(($"QEMU -incoming exec:cat FILE, {count} times: process start to running p50 / p99", $"{P(qemuTimes, 50):0} / {P(qemuTimes, 99):0} ms"));
results.Add(($"QEMU restored: Pss per idle VM, median / max", $"{P(qemuPss, 50):0.0} / {qemuPss.Max():0.0} MiB"));

ResultTable.Print(results);

return 0;

static Process Start(string program, params string[] arguments)
{
    var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    Process process = Process.Start(info)!;
    process.StandardInput.Close();
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, int pollMs = 100)
{
    DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
    while (!await condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException("bench: a wait timed out");
        }

        await Task.Delay(pollMs);
    }
}

static async Task<List<double>> TimeManyAsync<T>(int count, Func<int, Task<T>> action)
{
    var times = new List<double>(count);
    for (int i = 0; i < count; i++)
    {
        var watch = Stopwatch.StartNew();
        await action(i);
        times.Add(watch.Elapsed.TotalMilliseconds);
    }

    return times;
}

static double P(List<double> values, int percentile) => Percentiles.Of(values, percentile);

// Until the daemon's pool of pre-started VMMs is full (its /metrics gauge).
static async Task WaitForPoolAsync(VesselClient client, int size)
{
    Console.Error.WriteLine($"bench: waiting for {size} pre-started VMMs...");
    await WaitUntilAsync(async () =>
    {
        using HttpResponseMessage response = await client.SendAsync(HttpMethod.Get, "metrics", null, null, CancellationToken.None);
        return (await response.Content.ReadAsStringAsync()).Contains($"\nvessel_vmm_pool_ready {size}\n", StringComparison.Ordinal);
    }, TimeSpan.FromMinutes(10), pollMs: 500);
}

static double PssMiB(int pid)
{
    foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
    {
        if (line.StartsWith("Pss:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
    }

    return double.NaN;
}

static async Task WaitForPromptAsync(VesselClient client, string vm)
{
    using System.Net.WebSockets.WebSocket socket = await client.ConnectConsoleAsync(vm);
    var seen = new StringBuilder();
    byte[] buffer = new byte[16384];
    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
    while (!seen.ToString().Contains("/ # ", StringComparison.Ordinal))
    {
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        seen.Append(Encoding.Latin1.GetString(buffer, 0, result.Count));
    }
}

/// <summary>A minimal QMP client for QEMU: one command at a time, events skipped.</summary>
internal sealed class QmpLine : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;

    private QmpLine(Socket socket)
    {
        _socket = socket;
        _reader = new StreamReader(new NetworkStream(socket));
    }

    public static async Task<QmpLine> ConnectAsync(string path)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                var qmp = new QmpLine(socket);
                await qmp._reader.ReadLineAsync(); // greeting
                await qmp.RunAsync("{\"execute\":\"qmp_capabilities\"}");
                return qmp;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(1);
            }
        }
    }

    public async Task<string> RunAsync(string command)
    {
        await _socket.SendAsync(Encoding.UTF8.GetBytes(command + "\n"));
        while (await _reader.ReadLineAsync() is { } line)
        {
            if (JsonNode.Parse(line) is JsonObject reply && !reply.ContainsKey("event"))
            {
                return line;
            }
        }

        throw new IOException("QEMU closed its QMP socket");
    }

    public void Dispose() => _socket.Dispose();
}
