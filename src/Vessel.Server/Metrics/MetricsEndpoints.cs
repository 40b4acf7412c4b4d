using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Inventory;
using Vessel.Server.Vmm;

namespace Vessel.Server.Metrics;

/// <summary>Per-VM samples under the API, and <c>/metrics</c> for Prometheus.</summary>
public static class MetricsEndpoints
{
    public static void Map(WebApplication app, RouteGroupBuilder api)
    {
        api.MapGet("/vms/{vm}/metrics", async (string vm, InventoryContext db, MetricsSampler sampler) =>
        {
            VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
            return sampler.SamplesOf(record.Id);
        }).RequirePrivilege(Privileges.VmAudit, "/vms/{vm}").WithTags("VMs").WithSummary("The VM's figures of the last hour (CPU %, memory, disk and network bytes/s)").Produces<IReadOnlyList<MetricSample>>();
        app.MapGet("/metrics", async (InventoryContext db, MetricsSampler sampler) =>
            Results.Text(await sampler.PrometheusTextAsync(db), "text/plain; version=0.0.4")).RequirePrivilege(Privileges.SysAudit).ExcludeFromDescription();
    }
}
