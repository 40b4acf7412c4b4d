using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Vmm;

namespace Vessel.Server.Metrics;

/// <summary>
/// Samples every running VMM every few seconds and keeps an hour of samples per VM: CPU time
/// and resident memory from /proc, the guest's disk and network traffic from the VMM's own
/// counters over QMP (<c>query-blockstats</c>, <c>x-vessel-query-nic-stats</c>). A VMM that
/// does not answer those in time is sampled from /proc alone: its disk figures are then the
/// process's I/O and its network figures absent, never invented.
/// </summary>
public sealed class MetricsSampler(ServerOptions options, VmmSupervisor supervisor, VmmPool pool, ILogger<MetricsSampler> logger) : BackgroundService
{
    private static readonly double s_ticksPerSecond = 100; // USER_HZ on Linux
    private static readonly TimeSpan s_queryTimeout = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<Guid, Series> _series = new();

    private sealed class Series(string name)
    {
        public string Name { get; set; } = name;
        public Queue<MetricSample> Samples { get; } = new();
        public (DateTime Time, Reading Reading)? Last { get; set; }
        public Reading? Latest { get; set; }

        /// <summary>1 while a sample is being taken: a VMM slow to answer is not asked twice at once.</summary>
        public int Sampling;
    }

    public int Capacity => (int)Math.Ceiling(3600 / options.MetricsIntervalSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.MetricsIntervalSeconds));
        do
        {
            await SampleOnceAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Takes one sample of every running VMM, all at once (one slow VMM does not delay the others).</summary>
    public Task SampleOnceAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(supervisor.Instances.Select(instance => SampleAsync(instance, cancellationToken)));

    private async Task SampleAsync(VmmSupervisor.VmmInstance instance, CancellationToken cancellationToken)
    {
        Series series = _series.GetOrAdd(instance.VmId, _ => new Series(instance.Name));
        if (Interlocked.Exchange(ref series.Sampling, 1) == 1)
        {
            return;
        }

        try
        {
            if (ReadProc(instance.ProcessId) is not { } process)
            {
                return;
            }

            GuestCounters guest = await QueryGuestAsync(instance, cancellationToken);
            DateTime now = DateTime.UtcNow;
            var reading = new Reading(
                process.CpuSeconds,
                process.Memory,
                guest.DiskRead ?? process.Read,
                guest.DiskWrite ?? process.Write,
                guest.DiskRead is not null,
                guest.NetworkReceive,
                guest.NetworkTransmit);
            lock (series)
            {
                series.Name = instance.Name;
                series.Latest = reading;
                if (series.Last is { } last && now > last.Time)
                {
                    double seconds = (now - last.Time).TotalSeconds;
                    // Disk rates compare like with like: none for the one sample where the VMM's counters came or went.
                    bool sameDiskSource = reading.DiskFromGuest == last.Reading.DiskFromGuest;
                    series.Samples.Enqueue(new MetricSample(
                        now,
                        Math.Max(0, (reading.CpuSeconds - last.Reading.CpuSeconds) / seconds * 100),
                        reading.Memory,
                        sameDiskSource ? Rate(reading.DiskRead, last.Reading.DiskRead, seconds) ?? 0 : 0,
                        sameDiskSource ? Rate(reading.DiskWrite, last.Reading.DiskWrite, seconds) ?? 0 : 0,
                        Rate(reading.NetworkReceive, last.Reading.NetworkReceive, seconds),
                        Rate(reading.NetworkTransmit, last.Reading.NetworkTransmit, seconds)));
                    while (series.Samples.Count > Capacity)
                    {
                        series.Samples.Dequeue();
                    }
                }

                series.Last = (now, reading);
            }
        }
        finally
        {
            Volatile.Write(ref series.Sampling, 0);
        }
    }

    /// <summary>A counter's rate between two readings; null when either is unknown (a counter that went backwards restarted with its VMM).</summary>
    private static double? Rate(long? now, long? before, double seconds) =>
        now is { } n && before is { } b ? Math.Max(0, (n - b) / seconds) : null;

    private readonly record struct Reading(double CpuSeconds, long Memory, long DiskRead, long DiskWrite, bool DiskFromGuest, long? NetworkReceive, long? NetworkTransmit);

    private readonly record struct GuestCounters(long? DiskRead, long? DiskWrite, long? NetworkReceive, long? NetworkTransmit);

    /// <summary>The guest's disk and network byte counters as the VMM counts them; nulls for what it does not answer.</summary>
    private async Task<GuestCounters> QueryGuestAsync(VmmSupervisor.VmmInstance instance, CancellationToken cancellationToken)
    {
        long? diskRead = null, diskWrite = null, received = null, transmitted = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_queryTimeout);
        try
        {
            if (await instance.Qmp.ExecuteAsync("query-blockstats", null, timeout.Token) is JsonArray drives)
            {
                diskRead = drives.Sum(d => d?["stats"]?["rd_bytes"]?.GetValue<long>() ?? 0);
                diskWrite = drives.Sum(d => d?["stats"]?["wr_bytes"]?.GetValue<long>() ?? 0);
            }

            if (await instance.Qmp.ExecuteAsync("x-vessel-query-nic-stats", null, timeout.Token) is JsonArray cards)
            {
                received = cards.Sum(c => c?["rx-bytes"]?.GetValue<long>() ?? 0);
                transmitted = cards.Sum(c => c?["tx-bytes"]?.GetValue<long>() ?? 0);
            }
        }
        catch (QmpCommandException e)
        {
            logger.LogDebug("VM {Vm}: no device counters over QMP ({Reason}).", instance.Name, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogDebug("VM {Vm}: its VMM did not answer the counters' query within {Timeout}.", instance.Name, s_queryTimeout);
        }

        return new GuestCounters(diskRead, diskWrite, received, transmitted);
    }

    public IReadOnlyList<MetricSample> SamplesOf(Guid vmId)
    {
        if (!_series.TryGetValue(vmId, out Series? series))
        {
            return [];
        }

        lock (series)
        {
            return series.Samples.ToArray();
        }
    }

    private readonly record struct ProcReading(double CpuSeconds, long Memory, long Read, long Write);

    private static ProcReading? ReadProc(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the command: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
            double cpu = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / s_ticksPerSecond;
            long rss = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }

            long read = 0, write = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/io"))
            {
                if (line.StartsWith("rchar:", StringComparison.Ordinal))
                {
                    read = long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("wchar:", StringComparison.Ordinal))
                {
                    write = long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
                }
            }

            return new ProcReading(cpu, rss, read, write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The Prometheus text exposition of the latest figures.</summary>
    public async Task<string> PrometheusTextAsync(InventoryContext db)
    {
        var text = new StringBuilder();
        var states = await db.Vms.AsNoTracking().GroupBy(v => v.State).Select(g => new { State = g.Key, Count = g.Count() }).ToListAsync();
        text.Append("# HELP vessel_vms Number of VMs by state.\n# TYPE vessel_vms gauge\n");
        foreach (var state in states)
        {
            text.Append(CultureInfo.InvariantCulture, $"vessel_vms{{state=\"{state.State}\"}} {state.Count}\n");
        }

        text.Append("# HELP vessel_vmm_pool_ready VMM processes started ahead of need and ready for a VM (vessel serve --vmm-pool).\n# TYPE vessel_vmm_pool_ready gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"vessel_vmm_pool_ready {pool.ReadyCount}\n");
        text.Append("# HELP vessel_vmm_pool_size VMM processes the pool keeps ready.\n# TYPE vessel_vmm_pool_size gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"vessel_vmm_pool_size {options.VmmPoolSize}\n");
        AppendPerVm(text, "vessel_vm_cpu_seconds_total", "counter", "CPU time used by the VM's VMM process.", r => r.CpuSeconds);
        AppendPerVm(text, "vessel_vm_memory_bytes", "gauge", "Resident memory of the VM's VMM process.", r => r.Memory);
        AppendPerVm(text, "vessel_vm_io_read_bytes_total", "counter", "Bytes the VM's disks read (the guest's requests; the VMM process's reads where its VMM does not count them).", r => r.DiskRead);
        AppendPerVm(text, "vessel_vm_io_write_bytes_total", "counter", "Bytes the VM's disks wrote (the guest's requests; the VMM process's writes where its VMM does not count them).", r => r.DiskWrite);
        AppendPerVm(text, "vessel_vm_network_receive_bytes_total", "counter", "Bytes the VM's network cards received.", r => r.NetworkReceive);
        AppendPerVm(text, "vessel_vm_network_transmit_bytes_total", "counter", "Bytes the VM's network cards sent.", r => r.NetworkTransmit);
        return text.ToString();
    }

    private void AppendPerVm(StringBuilder text, string metric, string type, string help, Func<Reading, double?> value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {metric} {help}\n# TYPE {metric} {type}\n");
        foreach ((Guid id, Series series) in _series)
        {
            if (supervisor.Find(id) is null)
            {
                continue;
            }

            lock (series)
            {
                if (series.Latest is { } latest && value(latest) is { } figure)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{metric}{{vm=\"{PrometheusLabel(series.Name)}\",id=\"{id}\"}} {figure}\n");
                }
            }
        }
    }

    /// <summary>A label value as Prometheus's text format escapes it (backslash, double quote, newline).</summary>
    private static string PrometheusLabel(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
