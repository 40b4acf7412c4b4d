using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>Bad input is refused with 400 and one sentence, before anything is made.</summary>
public sealed class ValidationTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    public static TheoryData<string, string> BadNames => new()
    {
        { "a/b", "'/'" },
        { "..", "start with a letter or digit" },
        { "../etc", "'/'" },
        { "a\u0001b", "control characters" },
        { "tab\there", "control characters" },
        { new string('x', 10_000), "at most 63 characters long" },
        { "", "needs a name" },
        { "héllo", "only letters, digits" },
    };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task BadVmNamesAreRefusedWithOneSentence(string name, string expected)
    {
        using HttpClient http = _factory.Http();
        HttpResponseMessage response = await http.PostAsJsonAsync("/api/v1/vms", new { name, kernel = TestFiles.Kernel });
        JsonObject problem = await Http.ProblemAsync(response, 400);
        Assert.Contains(expected, problem["detail"]!.GetValue<string>());
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonObject>("/api/v1/vms"))!["total"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task BadNamesInPathsAndOtherObjectsAreRefused(string name, string expected)
    {
        _ = expected;
        using HttpClient http = _factory.Http();
        await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/networks", new { name, kind = "isolated" }), 400);
        await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/pools/default/volumes", new { name, sizeBytes = 1 << 20 }), 400);
        // (A path segment of "." or ".." is resolved by the URL itself, before any server sees it.)
        if (name.Length > 0 && !name.Contains('/') && name != "..")
        {
            await Http.ProblemAsync(await http.GetAsync($"/api/v1/vms/{Uri.EscapeDataString(name)}"), 400);
        }

        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_factory.DataDirectory, "pools", "default")));
    }

    [Theory]
    [InlineData("memoryBytes", 1024L * 1024, "at least 16 MiB")]
    [InlineData("memoryBytes", 1L << 40, "at most 64 GiB")]
    [InlineData("memoryBytes", (256L * 1024 * 1024) + 1, "multiple of 2 MiB")]
    [InlineData("cpus", 0L, "1 to 8 harts")]
    [InlineData("cpus", 9L, "1 to 8 harts")]
    public async Task SizesOutOfRangeAreRefused(string field, long value, string expected)
    {
        using HttpClient http = _factory.Http();
        var request = new JsonObject { ["name"] = "vm1", ["kernel"] = TestFiles.Kernel, [field] = value };
        JsonObject problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", request), 400);
        Assert.Contains(expected, problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L << 50)]
    public async Task VolumeSizesOutOfRangeAreRefused(long size)
    {
        using HttpClient http = _factory.Http();
        JsonObject problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/pools/default/volumes", new { name = "v", sizeBytes = size }), 400);
        Assert.Contains("between 1 MiB and 64 TiB", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task MissingKernelAndUnknownThingsAreNamed()
    {
        using HttpClient http = _factory.Http();
        JsonObject problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", new { name = "vm1", kernel = "/nonexistent/Image" }), 400);
        Assert.Contains("does not exist", problem["detail"]!.GetValue<string>());
        problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", new { name = "vm1", kernel = "relative/Image" }), 400);
        Assert.Contains("absolute path", problem["detail"]!.GetValue<string>());
        problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", new { name = "vm1", kernel = TestFiles.Kernel, nics = new[] { new { network = "nowhere" } } }), 404);
        Assert.Contains("no network named 'nowhere'", problem["detail"]!.GetValue<string>());
        await Http.ProblemAsync(await http.GetAsync("/api/v1/vms/ghost"), 404);
        await Http.ProblemAsync(await http.GetAsync("/api/v1/vms?sort=colour"), 400);
        await Http.ProblemAsync(await http.GetAsync("/api/v1/vms?pageSize=5000"), 400);
        await Http.ProblemAsync(await http.GetAsync($"/api/v1/operations/{Guid.NewGuid()}"), 404);
        await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", new { name = "vm1", kernel = TestFiles.Kernel, nics = new[] { new { portForwards = new[] { "tcp:2222:22" } } } }), 400);
    }

    [Fact]
    public async Task TheOpenApiDocumentAndReferencePageAreServed()
    {
        using HttpClient http = _factory.Http();
        JsonObject document = (await http.GetFromJsonAsync<JsonObject>("/api/v1/openapi.json"))!;
        Assert.StartsWith("3.1", document["openapi"]!.GetValue<string>());
        JsonObject paths = document["paths"]!.AsObject();
        Assert.Contains("/api/v1/vms", paths.Select(p => p.Key));
        Assert.Contains("/api/v1/vms/{vm}/snapshots", paths.Select(p => p.Key));
        Assert.Contains("/api/v1/operations/{id}", paths.Select(p => p.Key));
        using HttpClient browser = _factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = true });
        HttpResponseMessage page = await browser.GetAsync("/api/v1/docs");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("html", page.Content.Headers.ContentType!.MediaType);
    }

    public void Dispose() => _factory.Dispose();
}
