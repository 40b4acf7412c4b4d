using System.Net;
using System.Net.Http.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>Lists show only what the caller may see: VMs and templates (VM.Audit), pools (Datastore.Audit), networks (Network.Audit), operations (their target).</summary>
public sealed class ListFilterTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    [Fact]
    public async Task ACallerSeesOnlyTheObjectsItMayAudit()
    {
        using HttpClient root = _factory.Root();
        var operations = new Dictionary<string, OperationInfo>();
        foreach (string vm in new[] { "seen", "hidden" })
        {
            operations[vm] = await Http.WaitAsync(root, await root.PostAsJsonAsync("/api/v1/vms?wait=60", new { name = vm, kernel = TestFiles.Kernel, nics = Array.Empty<object>() }));
            Assert.Equal(OperationStatuses.Succeeded, operations[vm].Status);
        }

        Assert.Equal(HttpStatusCode.Created, (await root.PostAsJsonAsync("/api/v1/networks", new NetworkCreateRequest("lab", "isolated", null))).StatusCode);
        await _factory.AddUserAsync("lister@vessel");
        Assert.Equal(HttpStatusCode.Created, (await root.PostAsJsonAsync("/api/v1/access/roles", new RoleCreateRequest("NetworkViewer", [Privileges.NetworkAudit]))).StatusCode);
        foreach (AclSetRequest entry in new[]
        {
            new AclSetRequest("/vms/seen", BuiltInRoles.VmUser, User: "lister@vessel"),
            new AclSetRequest("/networks/lab", "NetworkViewer", User: "lister@vessel"),
        })
        {
            HttpResponseMessage set = await root.PutAsJsonAsync("/api/v1/access/acl", entry);
            Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        }

        using HttpClient lister = _factory.Remote(await _factory.CreateTokenAsync("lister@vessel", "lists"));
        Page<VmSummary> vms = (await lister.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms", VesselClient.JsonOptions))!;
        Assert.Equal(["seen"], vms.Items.Select(v => v.Name));
        Assert.Equal(1, vms.Total);
        Assert.Empty((await lister.GetFromJsonAsync<Page<VmSummary>>("/api/v1/templates", VesselClient.JsonOptions))!.Items);
        Assert.Empty((await lister.GetFromJsonAsync<List<PoolInfo>>("/api/v1/pools", VesselClient.JsonOptions))!);
        Assert.Equal(["lab"], (await lister.GetFromJsonAsync<List<NetworkInfo>>("/api/v1/networks", VesselClient.JsonOptions))!.Select(n => n.Name));

        Page<OperationInfo> seenOperations = (await lister.GetFromJsonAsync<Page<OperationInfo>>("/api/v1/operations", VesselClient.JsonOptions))!;
        Assert.Equal([operations["seen"].Id], seenOperations.Items.Select(o => o.Id));
        Assert.Equal(HttpStatusCode.OK, (await lister.GetAsync($"/api/v1/operations/{operations["seen"].Id}")).StatusCode);
        await Http.ProblemAsync(await lister.GetAsync($"/api/v1/operations/{operations["hidden"].Id}"), 404);

        // The object it may not see is refused by name, with the privilege and path it lacks.
        var denied = await Http.ProblemAsync(await lister.GetAsync("/api/v1/vms/hidden"), 403);
        Assert.Equal("Permission denied: lister@vessel!lists needs VM.Audit on /vms/hidden.", denied["detail"]!.GetValue<string>());

        // Root on the socket sees everything.
        Assert.Equal(2, (await root.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms", VesselClient.JsonOptions))!.Total);
        Assert.Equal(2, (await root.GetFromJsonAsync<List<NetworkInfo>>("/api/v1/networks", VesselClient.JsonOptions))!.Count);
    }

    [Fact]
    public async Task APermissionOnAVmFollowsItThroughARename()
    {
        using HttpClient root = _factory.Root();
        Assert.Equal(OperationStatuses.Succeeded, (await Http.WaitAsync(root, await root.PostAsJsonAsync("/api/v1/vms?wait=60", new { name = "before", kernel = TestFiles.Kernel, nics = Array.Empty<object>() }))).Status);
        await _factory.AddUserAsync("owner@vessel");
        Assert.Equal(HttpStatusCode.OK, (await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/vms/before", BuiltInRoles.VmPowerUser, User: "owner@vessel"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.PatchAsJsonAsync("/api/v1/vms/before", new { name = "after" })).StatusCode);

        using HttpClient owner = _factory.Remote(await _factory.CreateTokenAsync("owner@vessel", "t"));
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/api/v1/vms/after")).StatusCode);
        List<AclEntryInfo> acl = (await root.GetFromJsonAsync<List<AclEntryInfo>>("/api/v1/access/acl", VesselClient.JsonOptions))!;
        Assert.Contains(acl, e => e.Path == "/vms/after" && e.User == "owner@vessel");
    }

    public void Dispose() => _factory.Dispose();
}
