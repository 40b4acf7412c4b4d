using System.Text.Json.Nodes;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// The web interface's typed client is generated from <c>src/Vessel.Web/openapi.json</c> at
/// every build (and the build type-checks the UI against it): that copy must be the server's
/// own document, or the UI could call what the server no longer answers.
/// </summary>
public sealed class WebClientContractTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task TheWebInterfacesCopyOfTheOpenApiDocumentIsTheServersOwn()
    {
        string served = await _factory.Http().GetStringAsync("/api/v1/openapi.json");
        string copyPath = Path.Combine(TestFiles.RepositoryRoot, "src", "Vessel.Web", "openapi.json");
        JsonNode server = JsonNode.Parse(served)!;
        // Developers refresh the copy with: VESSEL_UPDATE_OPENAPI=1 dotnet test --filter WebClientContractTests
        if (Environment.GetEnvironmentVariable("VESSEL_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(copyPath, server.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        JsonNode copy = JsonNode.Parse(await File.ReadAllTextAsync(copyPath))!;
        Assert.True(JsonNode.DeepEquals(server, copy),
            "src/Vessel.Web/openapi.json differs from the server's /api/v1/openapi.json; refresh it with VESSEL_UPDATE_OPENAPI=1 dotnet test tests/Vessel.Server.Tests --filter WebClientContractTests, then rebuild the web interface.");
    }
}
