using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Inventory;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>ETags and If-Match, paging, sorting and filtering, deleting what is in use, and the inventory's start-up checks.</summary>
public sealed class InventoryTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    private async Task CreateVmAsync(HttpClient http, string name, string[]? tags = null)
    {
        OperationInfo operation = await Http.WaitAsync(http, await http.PostAsJsonAsync("/api/v1/vms?wait=60", new { name, kernel = TestFiles.Kernel, tags, nics = Array.Empty<object>() }));
        Assert.True(operation.Status == OperationStatuses.Succeeded, operation.Error);
    }

    [Fact]
    public async Task EditsNeedTheCurrentETagWhenTheyNameOne()
    {
        using HttpClient http = _factory.Http();
        await CreateVmAsync(http, "web1");
        HttpResponseMessage read = await http.GetAsync("/api/v1/vms/web1");
        string etag = read.Headers.ETag!.Tag;

        var stale = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/vms/web1") { Content = JsonContent.Create(new { description = "first" }) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        HttpResponseMessage edited = await http.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        string newTag = edited.Headers.ETag!.Tag;
        Assert.NotEqual(etag, newTag);

        // A second edit based on the first read is refused: someone changed it since.
        var second = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/vms/web1") { Content = JsonContent.Create(new { description = "second" }) };
        second.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        JsonObject problem = await Http.ProblemAsync(await http.SendAsync(second), 412);
        Assert.Contains("changed since it was read", problem["detail"]!.GetValue<string>());
        VmDetails vm = (await http.GetFromJsonAsync<VmDetails>("/api/v1/vms/web1", VesselClient.JsonOptions))!;
        Assert.Equal("first", vm.Description);

        // Renaming is live, and the new name finds it.
        var rename = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/vms/web1") { Content = JsonContent.Create(new { name = "web2", tags = new[] { "prod" } }) };
        rename.Headers.IfMatch.Add(new EntityTagHeaderValue(newTag));
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(rename)).StatusCode);
        Assert.Equal(["prod"], (await http.GetFromJsonAsync<VmDetails>("/api/v1/vms/web2", VesselClient.JsonOptions))!.Tags);
        await Http.ProblemAsync(await http.GetAsync("/api/v1/vms/web1"), 404);
    }

    [Fact]
    public async Task ListsPageSortAndFilter()
    {
        using HttpClient http = _factory.Http();
        for (int i = 0; i < 25; i++)
        {
            await CreateVmAsync(http, $"vm{i:00}", i % 5 == 0 ? ["db", "prod"] : i % 2 == 0 ? ["prod"] : null);
        }

        Page<VmSummary> page2 = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?page=2&pageSize=10", VesselClient.JsonOptions))!;
        Assert.Equal(25, page2.Total);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"vm{i:00}"), page2.Items.Select(v => v.Name));

        Page<VmSummary> descending = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?sort=-name&pageSize=3", VesselClient.JsonOptions))!;
        Assert.Equal(["vm24", "vm23", "vm22"], descending.Items.Select(v => v.Name));

        Page<VmSummary> tagged = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?tag=db&tag=prod", VesselClient.JsonOptions))!;
        Assert.Equal(["vm00", "vm05", "vm10", "vm15", "vm20"], tagged.Items.Select(v => v.Name));

        Page<VmSummary> named = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?name=vm1", VesselClient.JsonOptions))!;
        Assert.Equal(10, named.Total);

        Page<VmSummary> running = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?state=running", VesselClient.JsonOptions))!;
        Assert.Equal(0, running.Total);
        Page<VmSummary> stopped = (await http.GetFromJsonAsync<Page<VmSummary>>("/api/v1/vms?state=stopped&pageSize=1", VesselClient.JsonOptions))!;
        Assert.Equal(25, stopped.Total);
    }

    [Fact]
    public async Task WhatIsInUseCannotBeDeleted()
    {
        using HttpClient http = _factory.Http();
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/api/v1/pools/default/volumes", new { name = "data", sizeBytes = 8 << 20 })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/api/v1/networks", new { name = "lan", kind = "isolated" })).StatusCode);
        OperationInfo created = await Http.WaitAsync(http, await http.PostAsJsonAsync("/api/v1/vms?wait=60", new
        {
            name = "user1",
            kernel = TestFiles.Kernel,
            disks = new[] { new { volume = "default/data" } },
            nics = new[] { new { network = "lan" } },
        }));
        Assert.True(created.Status == OperationStatuses.Succeeded, created.Error);

        JsonObject problem = await Http.ProblemAsync(await http.DeleteAsync("/api/v1/pools/default/volumes/data"), 409);
        Assert.Contains("in use by vm user1", problem["detail"]!.GetValue<string>());
        problem = await Http.ProblemAsync(await http.DeleteAsync("/api/v1/networks/lan"), 409);
        Assert.Contains("in use by user1", problem["detail"]!.GetValue<string>());

        // Deleting the VM with its disks frees both.
        OperationInfo deleted = await Http.WaitAsync(http, await http.DeleteAsync("/api/v1/vms/user1?deleteDisks=true&wait=60"));
        Assert.True(deleted.Status == OperationStatuses.Succeeded, deleted.Error);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/api/v1/networks/lan")).StatusCode);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_factory.DataDirectory, "pools", "default")));
    }

    [Fact]
    public async Task AnUploadCutHalfWayLeavesNoVolume()
    {
        using HttpClient http = _factory.Http();
        var content = new StreamContent(new FailingStream(totalLength: 4 << 20, failAfter: 1 << 20));
        content.Headers.ContentLength = 4 << 20;
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            HttpResponseMessage response = await http.PutAsync("/api/v1/pools/default/volumes/half/content?format=raw", content);
            response.EnsureSuccessStatusCode();
        });

        Page<VolumeInfo> volumes = (await http.GetFromJsonAsync<Page<VolumeInfo>>("/api/v1/pools/default/volumes", VesselClient.JsonOptions))!;
        Assert.Empty(volumes.Items);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDirectory, "pools", "default")));

        // A whole upload of the same size is listed.
        var whole = new StreamContent(new FailingStream(totalLength: 4 << 20, failAfter: long.MaxValue));
        whole.Headers.ContentLength = 4 << 20;
        Assert.Equal(HttpStatusCode.Created, (await http.PutAsync("/api/v1/pools/default/volumes/whole/content?format=raw", whole)).StatusCode);
        VolumeInfo listed = Assert.Single((await http.GetFromJsonAsync<Page<VolumeInfo>>("/api/v1/pools/default/volumes", VesselClient.JsonOptions))!.Items);
        Assert.Equal(("whole", 4L << 20), (listed.Name, listed.VirtualBytes));
    }

    [Fact]
    public async Task AnUploadThatIsNotTheImageItClaimsIsRefused()
    {
        using HttpClient http = _factory.Http();
        var content = new ByteArrayContent(new byte[1 << 20]);
        JsonObject problem = await Http.ProblemAsync(await http.PutAsync("/api/v1/pools/default/volumes/fake/content?format=qcow2", content), 400);
        Assert.Contains("not a usable qcow2 image", problem["detail"]!.GetValue<string>());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_factory.DataDirectory, "pools", "default")));
    }

    [Fact]
    public void ACorruptDatabaseStopsTheStartWithOneSentenceAndIsLeftAsItWas()
    {
        using var temp = new TempDirectory();
        byte[] garbage = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not an inventory. ", 400)));
        string database = Path.Combine(temp.Path, "vessel.db");
        File.WriteAllBytes(database, garbage);

        // As vessel serve starts: the same code, the message it prints, the exit code it returns.
        var error = new StringWriter();
        int exitCode = Vessel.Server.Hosting.ServerApplication.Run(
            [$"--Vessel:DataDirectory={temp.Path}", $"--Vessel:VesselAssembly={TestFiles.VesselAssembly}", "--Vessel:DefaultTemplate=false"], error);

        Assert.Equal(1, exitCode);
        string message = error.ToString().TrimEnd();
        Assert.DoesNotContain('\n', message);
        Assert.StartsWith("vessel: The inventory database ", message);
        Assert.Contains("is not a usable SQLite database", message);
        Assert.Contains("left as it is", message);
        Assert.Equal(garbage, File.ReadAllBytes(database));
        Assert.False(File.Exists(database + "-wal"));
        Assert.False(File.Exists(Path.Combine(temp.Path, "vessel.sock")));
    }

    [Fact]
    public async Task TheInventorySurvivesARestartOfTheDaemon()
    {
        using (HttpClient http = _factory.Http())
        {
            await CreateVmAsync(http, "kept", ["a"]);
        }

        using var second = new ApiFactory(_factory.DataDirectory);
        using HttpClient again = second.Http();
        VmDetails vm = (await again.GetFromJsonAsync<VmDetails>("/api/v1/vms/kept", VesselClient.JsonOptions))!;
        Assert.Equal(["a"], vm.Tags);
        await using AsyncServiceScopeHolder scope = new(second.Services);
        Assert.Equal(1, scope.Db.Networks.Count(n => n.Name == "default"));
    }

    public void Dispose() => _factory.Dispose();

    private sealed class AsyncServiceScopeHolder(IServiceProvider services) : IAsyncDisposable
    {
        private readonly AsyncServiceScope _scope = services.CreateAsyncScope();

        public InventoryContext Db => _scope.ServiceProvider.GetRequiredService<InventoryContext>();

        public ValueTask DisposeAsync() => _scope.DisposeAsync();
    }

    /// <summary>A stream of zero bytes that throws after <c>failAfter</c> bytes, as a connection that drops.</summary>
    private sealed class FailingStream(long totalLength, long failAfter) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => totalLength;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter)
            {
                throw new IOException("the connection dropped");
            }

            int n = (int)Math.Min(count, Math.Min(totalLength, failAfter) - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
