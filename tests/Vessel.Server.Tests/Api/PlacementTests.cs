using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts;
using Vessel.Server.Inventory;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// Placement through the API, on hosts recorded in the inventory as their agents would report
/// them (two agents' hosts with large, known free memory beside the manager's own): the most
/// free memory wins, storage only the manager sees keeps a VM there, a host in maintenance or
/// unreachable takes nothing, and the VMs' rules — kept apart, kept together, pinned — hold, each
/// refusal one sentence with its reason. (VMs really running on agents: Hosts/AgentVmTests.)
/// </summary>
public sealed class PlacementTests : IDisposable
{
    private const long TiB = 1L << 40;
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task TheMostFreeMemoryWinsAndTheRulesStorageAndHostStatesAreKept()
    {
        Guid roomy = await AddHostAsync("roomy", 4 * TiB);
        Guid spare = await AddHostAsync("spare", 2 * TiB);
        using VesselClient client = _factory.Typed();

        // No host named: the most free memory. Disks on the manager's own pool: the manager's host.
        await CreateAsync(client, Guest("first"));
        Assert.Equal("roomy", (await client.GetVmAsync("first")).Host);
        await CreateAsync(client, Guest("local-disk") with { Disks = [new DiskRequest { SizeBytes = 16L << 20 }] });
        string local = (await client.GetHostAsync("local")).Name;
        Assert.Equal(local, (await client.GetVmAsync("local-disk")).Host);
        VesselApiException notThere = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.CreateVmAsync(Guest("pinned-disk") with { Host = "roomy", Disks = [new DiskRequest { SizeBytes = 16L << 20 }] }));
        Assert.Equal("VM 'pinned-disk' cannot go to host 'roomy': its disks are in the pool 'default', which only the manager's host sees (a migration carries them along; VMs on a shared pool start on any host).", notThere.Message);
        // A migration would carry the disks along, to a pool of the destination's own (which an agent's host gets when its agent first says where its data is).
        VesselApiException noPool = await Assert.ThrowsAsync<VesselApiException>(() => client.MigrateVmAsync("local-disk", new VmMigrateRequest { Host = "roomy" }));
        Assert.Equal("Host 'roomy' has no pool of its own for the disks of VM 'local-disk'.", noPool.Message);

        // Kept apart from a running VM: not on its host; kept together: on it, and nowhere else.
        await SetStateAsync("first", VmStates.Running);
        await CreateAsync(client, Guest("loner") with { Rules = new VmPlacementRules { KeepApartFrom = ["first"] } });
        Assert.Equal("spare", (await client.GetVmAsync("loner")).Host);
        await CreateAsync(client, Guest("friend") with { Rules = new VmPlacementRules { KeepTogetherWith = ["first"] } });
        Assert.Equal("roomy", (await client.GetVmAsync("friend")).Host);
        VesselApiException apart = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.CreateVmAsync(Guest("stranger") with { Host = "roomy", Rules = new VmPlacementRules { KeepApartFrom = ["first"] } }));
        Assert.Equal("VM 'stranger' cannot go to host 'roomy': VM 'first' runs there, and the two are kept apart.", apart.Message);
        VesselApiException together = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.CreateVmAsync(Guest("clingy") with { Host = "spare", Rules = new VmPlacementRules { KeepTogetherWith = ["first"] } }));
        Assert.Equal("VM 'clingy' cannot go to host 'spare': it is kept together with VM 'first', which runs on another host.", together.Message);

        // The rules hold both ways: a VM that 'first' is kept apart from avoids it too.
        await CreateAsync(client, Guest("shy") with { Host = "spare" });
        await client.EditVmAsync("first", new VmEditRequest { Rules = new VmPlacementRules { KeepApartFrom = ["shy"] } });
        Assert.Equal(["shy"], (await client.GetVmAsync("first")).Rules.KeepApartFrom);
        VesselApiException avoided = await Assert.ThrowsAsync<VesselApiException>(() => client.MigrateVmAsync("shy", new VmMigrateRequest { Host = "roomy" }));
        Assert.Equal("VM 'shy' cannot go to host 'roomy': VM 'first' runs there, and the two are kept apart.", avoided.Message);

        // Maintenance and unreachable hosts take nothing.
        await SetHostStateAsync(roomy, HostStates.Maintenance);
        await SetHostStateAsync(spare, HostStates.Unreachable);
        await CreateAsync(client, Guest("meanwhile"));
        Assert.Equal(local, (await client.GetVmAsync("meanwhile")).Host);
        VesselApiException down = await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVmAsync(Guest("insist") with { Host = "spare" }));
        Assert.Equal("VM 'insist' cannot go to host 'spare': it is unreachable.", down.Message);

        // A pinned VM is moved only by a migration that names a host.
        await SetHostStateAsync(spare, HostStates.Up);
        await CreateAsync(client, Guest("anchored") with { Host = "spare", Rules = new VmPlacementRules { PinToHost = true } });
        VesselApiException pinned = await Assert.ThrowsAsync<VesselApiException>(() => client.MigrateVmAsync("anchored", new VmMigrateRequest()));
        Assert.Equal("VM 'anchored' is pinned to its host; only a migration that names a host moves it.", pinned.Message);
        await client.WaitForSuccessAsync(await client.MigrateVmAsync("anchored", new VmMigrateRequest { Host = "local" }));
        Assert.Equal(local, (await client.GetVmAsync("anchored")).Host);
    }

    [Fact]
    public async Task RulesNamingNoVmItselfOrBothWaysAreRefusedWithOneSentence()
    {
        using VesselClient client = _factory.Typed();
        await CreateAsync(client, Guest("one"));
        VesselApiException missing = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.CreateVmAsync(Guest("two") with { Rules = new VmPlacementRules { KeepApartFrom = ["ghost"] } }));
        Assert.Equal(404, missing.Status);
        VesselApiException self = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.EditVmAsync("one", new VmEditRequest { Rules = new VmPlacementRules { KeepTogetherWith = ["one"] } }));
        Assert.Equal("VM 'one' cannot be kept together with itself.", self.Message);
        await CreateAsync(client, Guest("two"));
        VesselApiException both = await Assert.ThrowsAsync<VesselApiException>(() =>
            client.EditVmAsync("one", new VmEditRequest { Rules = new VmPlacementRules { KeepApartFrom = ["two"], KeepTogetherWith = ["two"] } }));
        Assert.Equal("VM 'one' cannot be kept both apart from and together with the same VM.", both.Message);
        Assert.Equal(new VmPlacementRules().KeepApartFrom, (await client.GetVmAsync("one")).Rules.KeepApartFrom);
    }

    private static VmCreateRequest Guest(string name) => new() { Name = name, Kernel = TestFiles.Kernel, Nics = [] };

    private static async Task CreateAsync(VesselClient client, VmCreateRequest request) =>
        await client.WaitForSuccessAsync(await client.CreateVmAsync(request));

    /// <summary>A host as its agent would have reported it, its last heartbeat in the future so the monitor leaves it up during the test.</summary>
    private async Task<Guid> AddHostAsync(string name, long freeMemory)
    {
        using IServiceScope scope = _factory.Services.CreateScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        var host = new HostRecord
        {
            Id = Guid.NewGuid(),
            Name = name,
            State = HostStates.Up,
            Harts = 64,
            MemoryTotalBytes = 2 * freeMemory,
            MemoryAvailableBytes = freeMemory,
            LastHeartbeatAt = DateTime.UtcNow.AddHours(1),
            CreatedAt = DateTime.UtcNow,
        };
        db.Hosts.Add(host);
        await db.SaveChangesAsync();
        return host.Id;
    }

    private async Task SetHostStateAsync(Guid id, string state)
    {
        using IServiceScope scope = _factory.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<InventoryContext>().Hosts.Where(h => h.Id == id).ExecuteUpdateAsync(s => s.SetProperty(h => h.State, state));
    }

    /// <summary>A VM recorded as running (what placement reads), without a VMM: placement is what is tested here.</summary>
    private async Task SetStateAsync(string vm, string state)
    {
        using IServiceScope scope = _factory.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<InventoryContext>().Vms.Where(v => v.Name == vm).ExecuteUpdateAsync(s => s.SetProperty(v => v.State, state));
    }

    public void Dispose() => _factory.Dispose();
}
