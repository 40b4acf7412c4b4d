using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Vmm;

namespace Vessel.Server.Metrics;

/// <summary>
/// Samples every running VMM every few seconds from /proc (CPU time, resident memory, block
/// I/O bytes) and keeps an hour of samples per VM. Network bytes are not visible from outside
/// the VMM yet (its NAT runs inside it), so they are reported as absent rather than invented.
/// </summary>
public sealed class MetricsSampler(ServerOptions options, VmmSupervisor supervisor) : BackgroundService
{
    private static readonly double s_ticksPerSecond = 100; // USER_HZ on Linux
    private readonly ConcurrentDictionary<Guid, Series> _series = new();

    private sealed class Series(string name)
    {
        public string Name { get; set; } = name;
        public Queue<MetricSample> Samples { get; } = new();
        public (DateTime Time, double CpuSeconds, long Read, long Write)? Last { get; set; }
        public long ReadTotal { get; set; }
        public long WriteTotal { get; set; }
        public double CpuSecondsTotal { get; set; }
    }

    public int Capacity => (int)Math.Ceiling(3600 / options.MetricsIntervalSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.MetricsIntervalSeconds));
        do
        {
            SampleOnce();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public void SampleOnce()
    {
        DateTime now = DateTime.UtcNow;
        foreach (VmmSupervisor.VmmInstance instance in supervisor.Instances)
        {
            if (ReadProc(instance.ProcessId) is not { } reading)
            {
                continue;
            }

            Series series = _series.GetOrAdd(instance.VmId, _ => new Series(instance.Name));
            lock (series)
            {
                series.Name = instance.Name;
                series.CpuSecondsTotal = reading.CpuSeconds;
                series.ReadTotal = reading.Read;
                series.WriteTotal = reading.Write;
                if (series.Last is { } last && now > last.Time)
                {
                    double seconds = (now - last.Time).TotalSeconds;
                    series.Samples.Enqueue(new MetricSample(
                        now,
                        Math.Max(0, (reading.CpuSeconds - last.CpuSeconds) / seconds * 100),
                        reading.Memory,
                        Math.Max(0, (reading.Read - last.Read) / seconds),
                        Math.Max(0, (reading.Write - last.Write) / seconds),
                        null));
                    while (series.Samples.Count > Capacity)
                    {
                        series.Samples.Dequeue();
                    }
                }

                series.Last = (now, reading.CpuSeconds, reading.Read, reading.Write);
            }
        }
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

        text.Append("# HELP vessel_vm_cpu_seconds_total CPU time used by the VM's VMM process.\n# TYPE vessel_vm_cpu_seconds_total counter\n");
        AppendPerVm(text, s => s.CpuSecondsTotal.ToString(CultureInfo.InvariantCulture), "vessel_vm_cpu_seconds_total");
        text.Append("# HELP vessel_vm_memory_bytes Resident memory of the VM's VMM process.\n# TYPE vessel_vm_memory_bytes gauge\n");
        AppendPerVm(text, s => (s.Samples.LastOrDefault()?.MemoryBytes ?? 0).ToString(CultureInfo.InvariantCulture), "vessel_vm_memory_bytes");
        text.Append("# HELP vessel_vm_io_read_bytes_total Bytes the VM's VMM process read.\n# TYPE vessel_vm_io_read_bytes_total counter\n");
        AppendPerVm(text, s => s.ReadTotal.ToString(CultureInfo.InvariantCulture), "vessel_vm_io_read_bytes_total");
        text.Append("# HELP vessel_vm_io_write_bytes_total Bytes the VM's VMM process wrote.\n# TYPE vessel_vm_io_write_bytes_total counter\n");
        AppendPerVm(text, s => s.WriteTotal.ToString(CultureInfo.InvariantCulture), "vessel_vm_io_write_bytes_total");
        return text.ToString();
    }

    private void AppendPerVm(StringBuilder text, Func<Series, string> value, string metric)
    {
        foreach ((Guid id, Series series) in _series)
        {
            if (supervisor.Find(id) is null)
            {
                continue;
            }

            lock (series)
            {
                text.Append(CultureInfo.InvariantCulture, $"{metric}{{vm=\"{series.Name}\",id=\"{id}\"}} {value(series)}\n");
            }
        }
    }
}
