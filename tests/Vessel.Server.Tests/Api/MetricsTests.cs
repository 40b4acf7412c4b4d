using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>A running VM's figures: samples under the API and the same VM in /metrics for Prometheus.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task ARunningVmIsSampledAndServedToPrometheus()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
        {
            Name = "busy",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            Nics = [],
        }));
        await client.WaitForSuccessAsync(await client.VmActionAsync("busy", "start"));

        // The factory samples every second; a booting guest uses CPU and holds memory.
        IReadOnlyList<MetricSample> samples = [];
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline && !(samples.Count >= 2 && samples.Any(s => s.CpuPercent > 0)))
        {
            await Task.Delay(500);
            samples = await client.GetMetricsAsync("busy");
        }

        Assert.True(samples.Count >= 2, $"{samples.Count} samples");
        Assert.Contains(samples, s => s.CpuPercent > 0);
        Assert.All(samples, s => Assert.True(s.MemoryBytes > 1 << 20, $"{s.MemoryBytes} bytes"));
        Assert.Equal(samples.OrderBy(s => s.Time), samples);

        using HttpClient http = _factory.Http();
        string text = await http.GetStringAsync("/metrics");
        Assert.Contains("vessel_vms{state=\"running\"} 1", text);
        Assert.Contains("vessel_vm_cpu_seconds_total{vm=\"busy\",", text);
        Assert.Contains("vessel_vm_memory_bytes{vm=\"busy\",", text);

        await client.WaitForSuccessAsync(await client.VmActionAsync("busy", "stop"));
        Assert.DoesNotContain("vm=\"busy\"", await http.GetStringAsync("/metrics"));
    }

    public void Dispose() => _factory.Dispose();
}
