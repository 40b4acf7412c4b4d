using System.Net;
using System.Net.Http.Json;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>Privileges that depend on the request: each part of a VM edit, and the host's files (kernels, imports, pool directories) only with Sys.Modify.</summary>
public sealed class RequestPrivilegeTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    [Fact]
    public async Task AnEditNeedsThePrivilegeOfEachPartItChanges()
    {
        using HttpClient root = _factory.Root();
        Assert.Equal(OperationStatuses.Succeeded, (await Http.WaitAsync(root, await root.PostAsJsonAsync("/api/v1/vms?wait=60", new { name = "edited", kernel = TestFiles.Kernel, nics = Array.Empty<object>() }))).Status);
        await _factory.AddUserAsync("user@vessel");
        Assert.Equal(HttpStatusCode.OK, (await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/vms/edited", BuiltInRoles.VmUser, User: "user@vessel"))).StatusCode);
        using HttpClient user = _factory.Remote(await _factory.CreateTokenAsync("user@vessel", "t"));

        // A VM user changes the CD (here: none), not the CPUs, memory or options.
        Assert.Equal(HttpStatusCode.OK, (await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { Iso = "" })).StatusCode);
        var cpu = await Http.ProblemAsync(await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { Cpus = 2 }), 403);
        Assert.Equal("Permission denied: user@vessel!t needs VM.Config.CPU on /vms/edited.", cpu["detail"]!.GetValue<string>());
        var memory = await Http.ProblemAsync(await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { MemoryBytes = 512L << 20 }), 403);
        Assert.Contains("VM.Config.Memory", memory["detail"]!.GetValue<string>());
        await Http.ProblemAsync(await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { Description = "mine" }), 403);

        // A VM administrator changes all of that, but points the VM at no file of the host.
        Assert.Equal(HttpStatusCode.OK, (await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/", BuiltInRoles.VmAdmin, User: "user@vessel"))).StatusCode);
        // (The VM's own entry would override the one on /.)
        Assert.Equal(HttpStatusCode.NoContent, (await root.DeleteAsync("/api/v1/access/acl?path=/vms/edited&user=user@vessel")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { Cpus = 2, Description = "resized" })).StatusCode);
        var kernel = await Http.ProblemAsync(await user.PatchAsJsonAsync("/api/v1/vms/edited", new VmEditRequest { Kernel = "/etc/shadow" }), 403);
        Assert.Equal("Permission denied: user@vessel!t needs Sys.Modify on /.", kernel["detail"]!.GetValue<string>());
        await Http.ProblemAsync(await user.PostAsJsonAsync("/api/v1/vms", new { name = "fromhost", kernel = TestFiles.Kernel }), 403);
    }

    /// <summary>A field added to the edit later must not slip through with VM.Audit alone.</summary>
    [Fact]
    public void EveryPartOfAnEditNeedsAPrivilegeOfItsOwn()
    {
        foreach (System.Reflection.PropertyInfo property in typeof(VmEditRequest).GetProperties())
        {
            object value = property.PropertyType switch
            {
                Type t when t == typeof(string) => "x",
                Type t when t == typeof(int?) => 1,
                Type t when t == typeof(long?) => 1L,
                Type t when t == typeof(bool?) => true,
                Type t when t == typeof(IReadOnlyList<string>) => new[] { "x" },
                Type t when t == typeof(VmAutostart) => new VmAutostart(true, 1, 0),
                Type t when t == typeof(VmPlacementRules) => new VmPlacementRules { PinToHost = true },
                Type t => throw new InvalidOperationException($"VmEditRequest.{property.Name} is a {t.Name}: give it a value here and a privilege in RequestPrivileges.OfEdit"),
            };
            var request = new VmEditRequest();
            property.SetValue(request, value);
            Assert.True(RequestPrivileges.OfEdit(request).Any(), $"VmEditRequest.{property.Name} needs no privilege in RequestPrivileges.OfEdit");
        }
    }

    [Fact]
    public async Task PoolsAndImportsOfHostFilesNeedSysModify()
    {
        await _factory.AddUserAsync("storage@vessel");
        await _factory.SetAclAsync(AccessFactory.Entry("/storage", "user", "storage@vessel", BuiltInRoles.Administrator));
        using HttpClient storage = _factory.Remote(await _factory.CreateTokenAsync("storage@vessel", "t"));
        var pool = await Http.ProblemAsync(await storage.PostAsJsonAsync("/api/v1/pools", new PoolCreateRequest("elsewhere", "/etc")), 403);
        Assert.Contains("Sys.Modify on /", pool["detail"]!.GetValue<string>());
        await Http.ProblemAsync(await storage.PostAsJsonAsync("/api/v1/pools/default/volumes", new { name = "stolen", import = "/etc/shadow", format = "raw" }), 403);
        HttpResponseMessage empty = await storage.PostAsJsonAsync("/api/v1/pools/default/volumes", new { name = "scratch", sizeBytes = 1 << 20, format = "raw" });
        Assert.True(empty.StatusCode == HttpStatusCode.Created, await empty.Content.ReadAsStringAsync());
    }

    public void Dispose() => _factory.Dispose();
}
