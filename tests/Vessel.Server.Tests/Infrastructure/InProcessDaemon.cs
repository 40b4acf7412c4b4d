using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vessel.Client;
using Vessel.Server.Hosting;
using Vessel.Server.Licensing;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// The daemon in-process on a test server, built as <c>vessel serve</c> builds it, with what the
/// audit and licence tests change: a clock they move (<see cref="FakeTimeProvider"/>), their own
/// licence-signing key's public half, and endpoints of their own mapped beside the API. VMMs it
/// starts are real processes of the vessel CLI built beside the tests.
/// </summary>
public sealed class InProcessDaemon : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessDaemon(WebApplication app, string dataDirectory, TempDirectory? temp)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Temp = temp;
        Server = app.GetTestServer();
    }

    public TestServer Server { get; }

    public string DataDirectory { get; }

    public TempDirectory? Temp { get; }

    public IServiceProvider Services => _app.Services;

    public string DatabasePath => Path.Combine(DataDirectory, "vessel.db");

    /// <summary>
    /// Starts a daemon on <paramref name="dataDirectory"/> (a new one when null), its inventory in
    /// the PostgreSQL database of <paramref name="database"/> when given (else SQLite), first
    /// copied from the SQLite file <paramref name="migrateFrom"/> when given.
    /// </summary>
    public static async Task<InProcessDaemon> StartAsync(TimeProvider? time = null, ECDsa? licenseKey = null, string? dataDirectory = null, Action<WebApplication>? map = null, string? database = null, string? migrateFrom = null)
    {
        TempDirectory? temp = dataDirectory is null ? new TempDirectory() : null;
        string directory = dataDirectory ?? temp!.Path;
        WebApplication app = ServerApplication.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration["Vessel:DataDirectory"] = directory;
            builder.Configuration["Vessel:DefaultTemplate"] = "false";
            builder.Configuration["Vessel:VesselAssembly"] = TestFiles.VesselAssembly;
            builder.Configuration["Vessel:MetricsIntervalSeconds"] = "60";
            builder.Configuration["Vessel:Database"] = database;
            builder.Configuration["Vessel:MigrateDatabaseFrom"] = migrateFrom;
            if (licenseKey is not null)
            {
                builder.Configuration[LicenseVerificationKey.TestKeySetting] = licenseKey.ExportSubjectPublicKeyInfoPem();
            }

            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        map?.Invoke(app);
        await app.StartAsync();
        return new InProcessDaemon(app, directory, temp);
    }

    public HttpClient Http() => Server.CreateClient();

    public VesselClient Typed() => new(Server.CreateHandler(), new Uri("http://localhost/"), "the test server");

    /// <summary>A start date for fake clocks: fixed, so that sentences with dates are known.</summary>
    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        VmmProcesses.KillAll(DataDirectory);
        Temp?.Dispose();
    }
}
