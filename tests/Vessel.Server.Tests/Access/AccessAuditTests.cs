using System.Net;
using System.Net.Http.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>
/// The audit log names the caller the access layer authenticated: a token as user@realm!name, a
/// session as user@realm, a refused request under who was refused, a failed login under the
/// tried name, the Unix socket as root@pam. Reading the log needs Sys.Audit.
/// </summary>
public sealed class AccessAuditTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    private async Task<List<AuditEntryInfo>> AuditAsync()
    {
        using HttpClient root = _factory.Root();
        Page<AuditEntryInfo> page = (await root.GetFromJsonAsync<Page<AuditEntryInfo>>("/api/v1/audit?pageSize=1000", VesselClient.JsonOptions))!;
        return page.Items.OrderBy(e => e.Sequence).ToList();
    }

    [Fact]
    public async Task EachChangeIsOnRecordUnderTheAuthenticatedCaller()
    {
        await _factory.AddUserAsync("ops@vessel");
        await _factory.AddUserAsync("guest@vessel");
        await _factory.SetAclAsync(
            AccessFactory.Entry("/", "user", AccessBootstrap.AdminUser, BuiltInRoles.Administrator),
            AccessFactory.Entry("/networks", "user", "ops@vessel", BuiltInRoles.Administrator));
        using HttpClient ops = _factory.Remote(await _factory.CreateTokenAsync("ops@vessel", "ci"));
        using HttpClient guest = _factory.Remote(await _factory.CreateTokenAsync("guest@vessel", "t"));
        using HttpClient browser = _factory.Remote();

        Assert.Equal(HttpStatusCode.Created, (await ops.PostAsJsonAsync("/api/v1/networks", new NetworkCreateRequest("audited", "isolated", null))).StatusCode);
        await Http.ProblemAsync(await guest.PostAsJsonAsync("/api/v1/networks", new NetworkCreateRequest("refused", "isolated", null)), 403);
        (_, Session? session) = await Session.LoginAsync(browser, AccessBootstrap.AdminUser, AccessFactory.AdminPassword);
        Assert.NotNull(session);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(session.Request(HttpMethod.Delete, "/api/v1/networks/audited"))).StatusCode);
        await Http.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("ops@vessel", "not-its-password")), 401);

        List<AuditEntryInfo> entries = await AuditAsync();
        AuditEntryInfo created = Assert.Single(entries, e => e.Status == 201 && e.Object.Contains("audited", StringComparison.Ordinal));
        Assert.Equal(("ops@vessel!ci", "192.0.2.10"), (created.User, created.Source));
        AuditEntryInfo refused = Assert.Single(entries, e => e.Status == 403);
        Assert.Equal("guest@vessel!t", refused.User);
        Assert.Contains("Network.Allocate", refused.Detail);
        Assert.Single(entries, e => e.Status == 204 && e.User == AccessBootstrap.AdminUser);
        Assert.Single(entries, e => e.Status == 401 && e.User == "ops@vessel");
        // The token creations above were made as root on the socket.
        Assert.Contains(entries, e => e.User == Caller.UnixRoot && e.Source == "unix");

        // Reading the log needs Sys.Audit.
        JsonProblem(await Http.ProblemAsync(await ops.GetAsync("/api/v1/audit"), 403), "Sys.Audit");
    }

    private static void JsonProblem(System.Text.Json.Nodes.JsonObject problem, string privilege) =>
        Assert.Contains(privilege, problem["detail"]!.GetValue<string>());

    public void Dispose() => _factory.Dispose();
}
