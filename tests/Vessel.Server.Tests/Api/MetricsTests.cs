using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>A running VM's figures: samples under the API and the same VM in /metrics for Prometheus, its disk and network traffic as its VMM counts them.</summary>
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
            Disks = [new DiskRequest { SizeBytes = 16L << 20 }],
            Nics = [new NicRequest()],
        }));
        await client.WaitForSuccessAsync(await client.VmActionAsync("busy", "start"));

        // The factory samples every second; a booting guest uses CPU, holds memory and reads its
        // disk's partition table.
        IReadOnlyList<MetricSample> samples = [];
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline && !(samples.Count >= 2 && samples.Any(s => s.CpuPercent > 0) && samples.Any(s => s.DiskReadBytesPerSecond > 0)))
        {
            await Task.Delay(500);
            samples = await client.GetMetricsAsync("busy");
        }

        Assert.True(samples.Count >= 2, $"{samples.Count} samples");
        Assert.Contains(samples, s => s.CpuPercent > 0);
        Assert.All(samples, s => Assert.True(s.MemoryBytes > 1 << 20, $"{s.MemoryBytes} bytes"));
        Assert.Equal(samples.OrderBy(s => s.Time), samples);
        Assert.Contains(samples, s => s.DiskReadBytesPerSecond > 0);
        // The card is counted (its VMM answers x-vessel-query-nic-stats), even while the guest is quiet.
        Assert.All(samples, s => Assert.NotNull(s.NetworkReceiveBytesPerSecond));
        Assert.All(samples, s => Assert.NotNull(s.NetworkTransmitBytesPerSecond));

        using HttpClient http = _factory.Http();
        string text = await http.GetStringAsync("/metrics");
        Assert.Contains("vessel_vms{state=\"running\"} 1", text);
        Assert.Contains("vessel_vm_cpu_seconds_total{vm=\"busy\",", text);
        Assert.Contains("vessel_vm_memory_bytes{vm=\"busy\",", text);
        Assert.Matches("vessel_vm_io_read_bytes_total\\{vm=\"busy\",id=\"[0-9a-f-]+\"\\} [1-9][0-9]*\n", text);
        Assert.Contains("vessel_vm_network_receive_bytes_total{vm=\"busy\",", text);
        Assert.Contains("vessel_vm_network_transmit_bytes_total{vm=\"busy\",", text);

        await client.WaitForSuccessAsync(await client.VmActionAsync("busy", "stop"));
        Assert.DoesNotContain("vm=\"busy\"", await http.GetStringAsync("/metrics"));
    }

    public void Dispose() => _factory.Dispose();
}
