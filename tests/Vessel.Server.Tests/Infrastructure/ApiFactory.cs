using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Vessel.Client;
using Vessel.Client.Contracts;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// The daemon in-process (WebApplicationFactory) on a data directory of its own, without the
/// default template. VMMs it starts are real processes of the vessel CLI built beside the tests.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<ServerProgram>
{
    public ApiFactory(string? dataDirectory = null)
    {
        Temp = dataDirectory is null ? new TempDirectory() : null;
        DataDirectory = dataDirectory ?? Temp!.Path;
    }

    public TempDirectory? Temp { get; }

    public string DataDirectory { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Vessel:DataDirectory", DataDirectory);
        builder.UseSetting("Vessel:DefaultTemplate", "false");
        builder.UseSetting("Vessel:VesselAssembly", TestFiles.VesselAssembly);
        builder.UseSetting("Vessel:MetricsIntervalSeconds", "1");
        // No VMMs started ahead: these tests start few VMs, and those the usual way (ServeProcess and InProcessDaemon keep the default pool).
        builder.UseSetting("Vessel:VmmPool", "0");
    }

    /// <summary>An HTTP client of the in-process API.</summary>
    public HttpClient Http() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    /// <summary>The typed client over the in-process server.</summary>
    public VesselClient Typed() => new(Server.CreateHandler(), new Uri("http://localhost/"), "the test server");

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            VmmProcesses.KillAll(DataDirectory);
            Temp?.Dispose();
        }
    }
}

/// <summary>Reading problem details and operations from responses.</summary>
public static class Http
{
    public static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, int status)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonObject problem = JsonNode.Parse(body)!.AsObject();
        string detail = problem["detail"]!.GetValue<string>();
        AssertOneSentence(detail);
        return problem;
    }

    /// <summary>One line, a capital letter first, one full stop at the end, short enough to read.</summary>
    public static void AssertOneSentence(string detail)
    {
        Assert.DoesNotContain('\n', detail);
        Assert.True(detail.Length is > 10 and < 400, $"not a readable sentence ({detail.Length} characters): {detail}");
        Assert.True(char.IsUpper(detail[0]), detail);
        Assert.EndsWith(".", detail);
    }

    public static async Task<OperationInfo> WaitAsync(HttpClient http, HttpResponseMessage started)
    {
        string body = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode is System.Net.HttpStatusCode.Accepted or System.Net.HttpStatusCode.OK, body);
        OperationInfo operation = JsonNode.Parse(body).Deserialize<OperationInfo>();
        while (!operation.IsFinished)
        {
            operation = (await http.GetFromJsonAsync<OperationInfo>($"/api/v1/operations/{operation.Id}?wait=30", VesselClient.JsonOptions))!;
        }

        return operation;
    }

    private static T Deserialize<T>(this JsonNode? node) => System.Text.Json.JsonSerializer.Deserialize<T>(node, VesselClient.JsonOptions)!;
}
