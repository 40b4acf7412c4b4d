using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Inventory;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>
/// The daemon in-process with a fake clock and a known administrator password. TestServer's
/// requests have no remote address, which the daemon takes for its Unix socket (root); a
/// request that carries <see cref="RemoteHeader"/> gets that address instead and comes over
/// HTTPS, as a client of the network listener would, and must authenticate.
/// </summary>
public sealed class AccessFactory : WebApplicationFactory<ServerProgram>
{
    public const string RemoteHeader = "X-Test-Remote-Address";
    public const string AdminPassword = "first-admin-password";

    private readonly TempDirectory _temp = new();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero));

    public string DataDirectory => _temp.Path;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        string passwordFile = Path.Combine(_temp.Path, "admin-password");
        File.WriteAllText(passwordFile, AdminPassword + "\n");
        builder.UseSetting("Vessel:DataDirectory", Path.Combine(_temp.Path, "data"));
        builder.UseSetting("Vessel:DefaultTemplate", "false");
        builder.UseSetting("Vessel:VesselAssembly", TestFiles.VesselAssembly);
        builder.UseSetting("Vessel:MetricsIntervalSeconds", "60");
        builder.UseSetting("Vessel:AdminPasswordFile", passwordFile);
        // These tests start no VM: no VMMs ahead of need.
        builder.UseSetting("Vessel:VmmPool", "0");
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddSingleton<IStartupFilter, RemoteAddressFilter>();
        });
    }

    /// <summary>A client on the "Unix socket": root.</summary>
    public HttpClient Root() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    /// <summary>A network client from <paramref name="address"/>, with an API token if given.</summary>
    public HttpClient Remote(string? token = null, string address = "192.0.2.10")
    {
        HttpClient http = Root();
        http.DefaultRequestHeaders.Add(RemoteHeader, address);
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    /// <summary>Runs <paramref name="action"/> on the inventory, then drops the cached permission model.</summary>
    public async Task WithInventoryAsync(Func<InventoryContext, Task> action)
    {
        using IServiceScope scope = Services.CreateScope();
        await action(scope.ServiceProvider.GetRequiredService<InventoryContext>());
        Services.GetRequiredService<AccessModelCache>().Invalidate();
    }

    public async Task<T> WithInventoryAsync<T>(Func<InventoryContext, Task<T>> action)
    {
        using IServiceScope scope = Services.CreateScope();
        T result = await action(scope.ServiceProvider.GetRequiredService<InventoryContext>());
        Services.GetRequiredService<AccessModelCache>().Invalidate();
        return result;
    }

    /// <summary>Replaces the whole ACL.</summary>
    public Task SetAclAsync(params AclEntryRecord[] entries) => WithInventoryAsync(async db =>
    {
        await db.AclEntries.ExecuteDeleteAsync();
        db.AclEntries.AddRange(entries);
        await db.SaveChangesAsync();
    });

    public static AclEntryRecord Entry(string path, string kind, string subject, string role, bool propagate = true) =>
        new() { Id = Guid.NewGuid(), Path = path, SubjectKind = kind, Subject = subject, Role = role, Propagate = propagate };

    /// <summary>Adds a vessel user (as root, through the API).</summary>
    public async Task AddUserAsync(string name, string password = "a-good-password", string[]? groups = null)
    {
        using HttpClient root = Root();
        HttpResponseMessage response = await root.PostAsJsonAsync("/api/v1/access/users", new UserCreateRequest(name, password, Groups: groups));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Creates a token of <paramref name="user"/> (as root) and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(string user, string name, bool privilegeSeparated = false, DateTime? expiresAt = null)
    {
        using HttpClient root = Root();
        HttpResponseMessage response = await root.PostAsJsonAsync("/api/v1/access/tokens", new TokenCreateRequest(name, expiresAt, privilegeSeparated, User: user));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<TokenCreated>(VesselClient.JsonOptions))!.Secret;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            VmmProcesses.KillAll(Path.Combine(_temp.Path, "data"));
            _temp.Dispose();
        }
    }

    private sealed class RemoteAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (http.Request.Headers[RemoteHeader] is [{ } address])
                {
                    // As it arrives on the HTTPS listener (plain HTTP from the network is only redirected).
                    http.Connection.RemoteIpAddress = IPAddress.Parse(address);
                    http.Request.Scheme = "https";
                }

                return nextMiddleware(http);
            });
            next(app);
        };
    }
}

/// <summary>A logged-in browser: the session cookie (sent by hand: it is Secure, and the test server speaks http) and the CSRF token.</summary>
public sealed record Session(string Cookie, string CsrfToken, LoginResponse Body)
{
    public static async Task<(HttpResponseMessage Response, Session? Session)> LoginAsync(HttpClient http, string username, string password)
    {
        HttpResponseMessage response = await http.PostAsJsonAsync("/api/v1/access/login", new LoginRequest(username, password));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (response, null);
        }

        string setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(AccessMiddleware.SessionCookie + "=", StringComparison.Ordinal));
        string cookie = setCookie.Split(';')[0][(AccessMiddleware.SessionCookie.Length + 1)..];
        LoginResponse body = (await response.Content.ReadFromJsonAsync<LoginResponse>(VesselClient.JsonOptions))!;
        return (response, new Session(cookie, body.CsrfToken, body));
    }

    public HttpRequestMessage Request(HttpMethod method, string path, object? body = null, bool withCsrf = true)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("Cookie", $"{AccessMiddleware.SessionCookie}={Cookie}");
        if (withCsrf)
        {
            request.Headers.Add(AccessMiddleware.CsrfHeader, CsrfToken);
        }

        return request;
    }
}
